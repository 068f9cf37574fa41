"""Hourly rollups kept at ingestion give settlement exactly what the samples give: the same
statements from a varied book, the same figures for any interval (hypothesis), and rollups
that stay equal to a rebuild from the samples through inserts, updates and deletes.
PostgreSQL only: on SQLite settlement reads the samples themselves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contracts.models import Measurement, MeasurementRollup, ServiceLevel, ThresholdRollup
from contracts.services import record_measurements
from credits.settlement import compute_period
from credits.settlement.inputs import Target, _interval_aggregates, split_by_hours
from tests.credits.settlement_book import at, contract, objective, samples, service
from tests.credits.test_settlement_batch import SEPTEMBER, varied_book

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="rollups are PostgreSQL's"),
]

# The bounds aside: deletes may leave them wider (still bounds: checked apart).
FIGURES = ("samples", "judged", "ok_count", "valued", "value_sum")


def rollup_rows() -> list[tuple]:
    """Every hour's kept figures (the bounds aside: deletes may leave them wider)."""
    rows = MeasurementRollup.objects.filter(samples__gt=0).order_by(
        "contract_service", "key", "hour"
    )
    return [(r.contract_service_id, r.key, r.hour, *(getattr(r, f) for f in FIGURES)) for r in rows]


def rebuilt_rows() -> list[tuple]:
    """The rollups computed again from the samples (the migration's rebuild function)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT contracts_measurement_rollup_rebuild('-infinity', 'infinity')")
    return rollup_rows()


# Kept figures that disagree with the samples of their hour: a complete threshold count,
# or bounds that do not hold every value.
_WRONG = """
SELECT count(*) FROM contracts_thresholdrollup k
CROSS JOIN LATERAL (
    SELECT count(m.value) AS valued, count(*) FILTER (WHERE CASE k.comparator
        WHEN 'gte' THEN m.value >= k.threshold ELSE m.value <= k.threshold END) AS meeting
    FROM contracts_measurement m
    WHERE m.contract_service_id = k.contract_service_id AND m.key = k.key
      AND m.observed_at >= k.hour AND m.observed_at < k.hour + interval '1 hour') x
WHERE k.complete AND (k.valued <> x.valued OR k.meeting <> x.meeting)
UNION ALL
SELECT count(*) FROM contracts_measurementrollup r
WHERE EXISTS (
    SELECT 1 FROM contracts_measurement m
    WHERE m.contract_service_id = r.contract_service_id AND m.key = r.key
      AND m.observed_at >= r.hour AND m.observed_at < r.hour + interval '1 hour'
      AND (m.value < r.value_min OR m.value > r.value_max))
"""


def wrong_kept_figures() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_WRONG)
        return [row[0] for row in cursor.fetchall()]


def dense_samples(cs, key: str, first: datetime, count: int, rng: random.Random, *, kind: str):
    """Samples at irregular instants (seconds off the hour), several per hour."""
    rows, moment = [], first
    for _ in range(count):
        moment += timedelta(seconds=rng.randint(1, 1500))
        if kind == "ratio":
            rows.append(
                Measurement(
                    contract_service=cs, key=key, observed_at=moment, ok=rng.random() < 0.95
                )
            )
        else:
            value = Decimal(rng.randint(0, 400_000)) / 1000 if rng.random() > 0.02 else None
            rows.append(Measurement(contract_service=cs, key=key, observed_at=moment, value=value))
    Measurement.objects.bulk_create(rows, batch_size=2000)


def test_the_rollups_are_exactly_what_a_rebuild_from_the_samples_gives():
    c = contract()
    cs = service(c)
    objective(
        c,
        key="latency",
        indicator="threshold",
        target="90",
        threshold="200",
        threshold_comparator="lte",
    )
    rng = random.Random(3)
    dense_samples(cs, "latency", at(2026, 3, 1), 500, rng, kind="threshold")
    kept = rollup_rows()
    assert len(kept) > 100
    assert ThresholdRollup.objects.filter(complete=True).count() == len(kept)
    assert wrong_kept_figures() == [0, 0]
    assert kept == rebuilt_rows()
    # Deleted and changed samples are subtracted and added again.
    Measurement.objects.filter(
        pk__in=list(Measurement.objects.values_list("pk", flat=True)[:120])
    ).delete()
    Measurement.objects.filter(value__gt=100).update(value=Decimal("150.5"))
    kept = rollup_rows()
    assert wrong_kept_figures() == [0, 0]
    assert kept == rebuilt_rows()


def test_samples_emptied_by_truncate_take_their_rollups_with_them():
    c = contract()
    cs = service(c)
    objective(
        c, key="latency", indicator="threshold", target="90", threshold="200",
        threshold_comparator="lte",
    )  # fmt: skip
    dense_samples(cs, "latency", at(2026, 3, 1), 50, random.Random(5), kind="threshold")
    assert MeasurementRollup.objects.exists() and ThresholdRollup.objects.exists()

    with connection.cursor() as cursor:
        # The foreign keys' checks, deferred to the test's commit, would hold the TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE contracts_measurement")

    assert not MeasurementRollup.objects.exists()
    assert not ThresholdRollup.objects.exists()


def test_settling_from_rollups_gives_the_statements_the_samples_give(settings):
    """A varied book (zones with whole- and half-hour offsets, every sampled indicator,
    thresholds of both comparators, lapses from mid-hour, samples straddling the edges), with
    denser samples, a threshold introduced after its samples arrived (no complete kept
    count: decided from the bounds or the samples) and samples deleted afterwards."""
    book = varied_book(6)
    rng = random.Random(11)
    for c in book:
        for cs in c.services.all():
            dense_samples(cs, "on-time", at(2026, 9, 2, tz=c.timezone), 800, rng, kind="ratio")
            dense_samples(cs, "latency", at(2026, 9, 3, tz=c.timezone), 800, rng, kind="threshold")
    late = book[0]
    level = ServiceLevel.objects.get(contract=late, key="latency")
    ServiceLevel.objects.filter(pk=level.pk).update(threshold=Decimal("123.456"))
    doomed = (
        Measurement.objects.filter(key="latency")
        .order_by("observed_at")
        .values_list("pk", flat=True)[:50]
    )
    Measurement.objects.filter(pk__in=list(doomed)).delete()

    settings.SETTLEMENT_READS_ROLLUPS = True
    from_rollups = [compute_period(contract=c, period_start=SEPTEMBER) for c in book]
    settings.SETTLEMENT_READS_ROLLUPS = False
    from_samples = [compute_period(contract=c, period_start=SEPTEMBER) for c in book]

    assert [s.fingerprint for s in from_rollups] == [s.fingerprint for s in from_samples]
    assert [[line.figures for line in s.lines] for s in from_rollups] == [
        [line.figures for line in s.lines] for s in from_samples
    ]
    assert any(line.figures.get("relieved_samples") for s in from_rollups for line in s.lines)


def test_a_month_of_whole_hours_reads_no_sample_row(settings):
    """The month of a UTC contract is whole hours: the query over the samples is given no
    interval at all (the rollups answer everything)."""
    c = contract()
    cs = service(c)
    level = objective(c, key="on-time", indicator="ratio", target="98")
    samples(cs, "on-time", at(2026, 9, 1), oks=[True] * 100, every=timedelta(minutes=7))
    target = Target(
        contract_service=cs, service_level=level, objective=level.as_objective(), linked_ids=set()
    )
    window = (at(2026, 9, 1), at(2026, 10, 1))
    with CaptureQueriesContext(connection) as queries:
        (figures,) = _interval_aggregates([(0, target, window)], 1)
    assert figures["samples"] == 100 and figures["ok_count"] == 100
    (query,) = queries.captured_queries
    assert "'{}'::int[]" in query["sql"]  # no edge read from the samples


def test_an_interval_splits_into_whole_hours_and_edges():
    low = datetime(2026, 9, 1, 5, 30, tzinfo=UTC)
    high = datetime(2026, 9, 2, 7, 15, tzinfo=UTC)
    assert split_by_hours(low, high) == (
        (datetime(2026, 9, 1, 6, tzinfo=UTC), datetime(2026, 9, 2, 7, tzinfo=UTC)),
        [(low, datetime(2026, 9, 1, 6, tzinfo=UTC)), (datetime(2026, 9, 2, 7, tzinfo=UTC), high)],
    )
    inside = (datetime(2026, 9, 1, 5, 10, tzinfo=UTC), datetime(2026, 9, 1, 5, 50, tzinfo=UTC))
    assert split_by_hours(*inside) == (None, [inside])


BASE = datetime(2026, 5, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=3 * 86400 - 1).map(
    lambda s: BASE + timedelta(seconds=s)
)
sample = st.tuples(
    instants,
    st.one_of(st.none(), st.decimals(min_value=-50, max_value=500, places=3, allow_nan=False)),
    st.one_of(st.none(), st.booleans()),
)


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(sample, min_size=1, max_size=40), min_size=1, max_size=4),
    intervals=st.lists(st.tuples(instants, instants), min_size=1, max_size=6),
    threshold=st.sampled_from(["0", "100.5", "250", "99.999"]),
    comparator=st.sampled_from(["gte", "lte"]),
    deleted=st.integers(min_value=0, max_value=30),
)
def test_any_interval_reads_the_same_figures_from_rollups_as_from_samples(
    batches, intervals, threshold, comparator, deleted
):
    from django.conf import settings as django_settings

    c = contract()
    cs = service(c)
    level = objective(
        c,
        key="lat",
        indicator="threshold",
        target="90",
        threshold="250",
        threshold_comparator="gte",
    )
    for batch in batches:
        Measurement.objects.bulk_create(
            [
                Measurement(contract_service=cs, key="lat", observed_at=t, value=v, ok=ok)
                for t, v, ok in batch
            ]
        )
    if deleted:
        Measurement.objects.filter(
            pk__in=list(
                Measurement.objects.filter(contract_service=cs).values_list("pk", flat=True)[
                    :deleted
                ]
            )
        ).delete()
    # A threshold the objective may or may not have named when the samples arrived.
    ServiceLevel.objects.filter(pk=level.pk).update(
        threshold=Decimal(threshold), threshold_comparator=comparator
    )
    level.refresh_from_db()
    target = Target(
        contract_service=cs, service_level=level, objective=level.as_objective(), linked_ids=set()
    )
    rows = [(i, target, (min(a, b), max(a, b))) for i, (a, b) in enumerate(intervals) if a != b]
    try:
        django_settings.SETTLEMENT_READS_ROLLUPS = True
        from_rollups = _interval_aggregates(rows, len(intervals))
        django_settings.SETTLEMENT_READS_ROLLUPS = False
        from_samples = _interval_aggregates(rows, len(intervals))
    finally:
        django_settings.SETTLEMENT_READS_ROLLUPS = True
    assert from_rollups == from_samples
    assert wrong_kept_figures() == [0, 0]
    assert rollup_rows() == rebuilt_rows()
    Measurement.objects.filter(contract_service=cs).delete()
    assert not MeasurementRollup.objects.filter(contract_service=cs, samples__gt=0).exists()


def test_samples_recorded_through_the_service_are_rolled_up_in_its_transaction():
    c = contract()
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="98")
    stamp = "2026-09-01T10:{:02d}:00+05:30"
    items = [
        {
            "contract_service": cs.pk,
            "key": "on-time",
            "observed_at": stamp.format(m),
            "ok": m % 4 != 0,
        }
        for m in range(60)
    ]
    assert record_measurements(items=items) == 60
    hours = MeasurementRollup.objects.filter(contract_service=cs).order_by("hour")
    assert [(h.hour, h.samples, h.ok_count) for h in hours] == [
        (datetime(2026, 9, 1, 4, tzinfo=UTC), 30, 22),
        (datetime(2026, 9, 1, 5, tzinfo=UTC), 30, 23),
    ]
