"""Upgrading a book of samples to the partitioned table (contracts 0010 and after): every
sample kept, once, in the partition of its UTC month; the hourly rollups and threshold
counts built for them equal a GROUP BY of the samples, and the triggers keep them equal
through the inserts, updates and deletes that follow.

django-test-migrations' migrator moves the test database back to contracts 0009 (through
the reverse migrations) and forward again. Not its ``apply_initial_migration``: that drops
every table and replays the whole history (over a minute here), and leaves the functions
that 0010 creates, which 0010 would then fail to create again.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import F

from contracts.models import Measurement
from contracts.services.partitions import ensure_partitions, month_partitions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's"),
]

BEFORE = ("contracts", "0009_service_level_chronic_failure")
# The clock the migration reads (Python's datetime.now, not the database's now(): moved by
# time_machine) to create the month before it, its own and three ahead.
CLOCK = datetime(2032, 5, 17, 9, 30, tzinfo=UTC)
CREATED_AROUND_CLOCK = {date(2032, month, 1) for month in (4, 5, 6, 7, 8)}
# Months of the existing samples: long ago, before the months made around the clock, the
# clock's own, one ahead and one beyond those made ahead.
SAMPLE_MONTHS = [(2030, 12), (2032, 1), (2032, 3), (2032, 4), (2032, 5), (2032, 7), (2032, 11)]
# Samples on the edges of months, by name: where each must land.
EDGES = {
    "april-first-instant": (datetime(2032, 4, 1, tzinfo=UTC), "y2032m04"),
    "march-last-instant": (datetime(2032, 3, 31, 23, 59, 59, 999999, tzinfo=UTC), "y2032m03"),
    # 1 May in Central European Summer Time is still 30 April in UTC.
    "may-first-in-cest": (
        datetime(2032, 5, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        "y2032m04",
    ),
    "june-first-instant": (datetime(2032, 6, 1, tzinfo=UTC), "y2032m06"),
}
KEYS = ("availability", "latency", "tickets")
# The thresholds each provider's objectives set (write_book_before_0010): counted for every
# contract service of the provider.
THRESHOLDS = {
    "a": [("latency", "lte", "200"), ("latency", "lte", "150.5"), ("latency", "gte", "50")],
    "b": [("latency", "lte", "300")],
}

_UTC_MONTH = "to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM')"
_ROW_TEXT = (
    "format('%s|%s|%s|%s|%s|%s', id, contract_service_id, key, "
    "observed_at AT TIME ZONE 'UTC', value, ok)"
)


@pytest.fixture
def migrator_keeping_partitions(migrator):
    """The migrator; afterwards the database at the latest migrations with the month
    partitions it had before (the test's clock makes others), for the tests after it."""
    before = set(month_partitions())
    yield migrator
    migrator.reset()  # also when the test stopped before migrating forward
    with connection.cursor() as cursor:
        for month, name in month_partitions().items():
            if month not in before:
                cursor.execute(f'DROP TABLE "{name}"')
        for month in sorted(before - set(month_partitions())):
            cursor.execute("SELECT contracts_measurement_partition(%s)", [month])


def _fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def month_checksums() -> dict[str, tuple]:
    """Per UTC month of the samples: rows, distinct ids and an md5 of every row's text."""
    rows = _fetch(
        f"SELECT {_UTC_MONTH}, count(*), count(DISTINCT id), "
        f"md5(string_agg({_ROW_TEXT}, ',' ORDER BY id)) "
        "FROM contracts_measurement GROUP BY 1"
    )
    return {month: rest for month, *rest in rows}


def partition_checksums() -> dict[str, tuple]:
    """The same per partition holding the rows, named by its month."""
    rows = _fetch(
        "SELECT tableoid::regclass::text, count(*), count(DISTINCT id), "
        f"md5(string_agg({_ROW_TEXT}, ',' ORDER BY id)) "
        "FROM contracts_measurement GROUP BY 1"
    )
    return {name: rest for name, *rest in rows}


def misplaced() -> list[tuple]:
    """Samples outside the partition of their UTC month."""
    return _fetch(
        "SELECT id, observed_at, tableoid::regclass::text FROM contracts_measurement "
        "WHERE tableoid::regclass::text <> 'contracts_measurement_y' "
        "|| to_char(observed_at AT TIME ZONE 'UTC', 'YYYY\"m\"MM')"
    )


def default_partition_ids() -> set[int]:
    return {row[0] for row in _fetch("SELECT id FROM contracts_measurement_default")}


_FIGURES = "samples, judged, ok_count, valued, value_sum"


def kept_rollups() -> list[tuple]:
    return _fetch(
        f"SELECT contract_service_id, key, hour, {_FIGURES} FROM contracts_measurementrollup "
        "WHERE samples > 0 ORDER BY 1, 2, 3"
    )


def grouped_samples() -> list[tuple]:
    """The rollups' figures from the samples: a sample without a value counts 1."""
    return _fetch(
        "SELECT contract_service_id, key, date_trunc('hour', observed_at, 'UTC'), count(*), "
        "count(ok), count(*) FILTER (WHERE ok), count(value), sum(coalesce(value, 1)) "
        "FROM contracts_measurement GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )


def kept_bounds() -> list[tuple]:
    return _fetch(
        "SELECT contract_service_id, key, hour, value_min, value_max "
        "FROM contracts_measurementrollup WHERE valued > 0 ORDER BY 1, 2, 3"
    )


def grouped_bounds() -> list[tuple]:
    return _fetch(
        "SELECT contract_service_id, key, date_trunc('hour', observed_at, 'UTC'), min(value), "
        "max(value) FROM contracts_measurement WHERE value IS NOT NULL "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )


def unbounded_values() -> list[tuple]:
    """Values outside their hour's kept bounds (deletes may leave the bounds wider)."""
    return _fetch(
        "SELECT m.id FROM contracts_measurement m LEFT JOIN contracts_measurementrollup r "
        "ON r.contract_service_id = m.contract_service_id AND r.key = m.key "
        "AND r.hour = date_trunc('hour', m.observed_at, 'UTC') "
        "WHERE m.value IS NOT NULL AND (r.id IS NULL OR NOT m.value BETWEEN r.value_min "
        "AND r.value_max)"
    )


def kept_threshold_counts() -> list[tuple]:
    return _fetch(
        "SELECT contract_service_id, key, hour, comparator, threshold, valued, meeting, complete "
        "FROM contracts_thresholdrollup WHERE valued > 0 ORDER BY 1, 2, 3, 4, 5"
    )


def grouped_threshold_counts(thresholds: list[tuple[int, str, str, str]]) -> list[tuple]:
    """Each hour's valued samples of a (contract service, key) counted against every
    threshold the test's objectives give it, and how many meet it."""
    values = ", ".join(["(%s::bigint, %s, %s, %s::numeric)"] * len(thresholds))
    return _fetch(
        f"WITH t (cs, key, cmp, thr) AS (VALUES {values}) "
        "SELECT m.contract_service_id, m.key, date_trunc('hour', m.observed_at, 'UTC'), "
        "t.cmp, t.thr, count(*), count(*) FILTER (WHERE CASE t.cmp WHEN 'gte' "
        "THEN m.value >= t.thr ELSE m.value <= t.thr END), true "
        "FROM contracts_measurement m JOIN t ON t.cs = m.contract_service_id AND t.key = m.key "
        "WHERE m.value IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        [item for row in thresholds for item in row],
    )


def assert_rollups_follow_the_samples(thresholds, *, exact_bounds: bool) -> None:
    assert kept_rollups() == grouped_samples()
    if exact_bounds:
        assert kept_bounds() == grouped_bounds()
    else:
        assert unbounded_values() == []
    assert kept_threshold_counts() == grouped_threshold_counts(thresholds)


def write_book_before_0010(apps, rng: random.Random) -> tuple[dict, list[tuple]]:
    """Two providers' contracts with threshold, ratio and count objectives, and samples of
    every kind across SAMPLE_MONTHS, written with the models as they were at 0009."""
    Organization = apps.get_model("contracts", "Organization")
    Contract = apps.get_model("contracts", "Contract")
    Service = apps.get_model("contracts", "Service")
    ContractService = apps.get_model("contracts", "ContractService")
    ServiceLevel = apps.get_model("contracts", "ServiceLevel")
    Measurement0009 = apps.get_model("contracts", "Measurement")

    customer = Organization.objects.create(name="Globex", slug="globex", kind="customer")
    services, thresholds = [], []

    def level(provider, key, indicator, *, scope, contract=None, service=None, cmp=None, thr=None):
        ServiceLevel.objects.create(
            level=scope,
            provider=provider,
            contract=contract,
            service=service,
            key=key,
            name=f"{key} {cmp or ''} {thr or ''}",
            indicator=indicator,
            comparator="gte",
            target=Decimal("95") if indicator != "count" else Decimal("3"),
            threshold=Decimal(thr) if thr else None,
            threshold_comparator=cmp,
        )

    for provider_code, contract_count in (("a", 2), ("b", 1)):
        provider = Organization.objects.create(
            name=f"Provider {provider_code}", slug=f"provider-{provider_code}", kind="provider"
        )
        service = Service.objects.create(code="hosting", name="Hosting", provider=provider)
        contracts = []
        for number in range(contract_count):
            contract = Contract.objects.create(
                reference=f"{provider_code.upper()}-{number}",
                title="Hosting",
                currency="EUR",
                start_date=date(2030, 1, 1),
                settlement_period="month",
                customer=customer,
                provider=provider,
            )
            contracts.append(contract)
            cs = ContractService.objects.create(
                contract=contract, service=service, fee=Decimal("1000.00")
            )
            services.append(cs.pk)
            level(provider, "availability", "ratio", scope="customer", contract=contract)
            level(
                provider,
                "tickets",
                "count",
                scope="contract_service",
                contract=contract,
                service=service,
            )
        # A provider's threshold objectives on one key, at every level one may be set.
        if provider_code == "a":
            level(provider, "latency", "threshold", scope="corporate", cmp="lte", thr="200")
            level(
                provider,
                "latency",
                "threshold",
                scope="service",
                service=service,
                cmp="lte",
                thr="150.5",
            )
            level(
                provider,
                "latency",
                "threshold",
                scope="customer",
                contract=contracts[0],
                cmp="gte",
                thr="50",
            )
            level(
                provider,
                "latency",
                "threshold",
                scope="customer",
                contract=contracts[1],
                cmp="lte",
                thr="200",
            )  # the corporate one's again: one count for both
        else:
            level(
                provider,
                "latency",
                "threshold",
                scope="customer",
                contract=contracts[0],
                cmp="lte",
                thr="300",
            )
        thresholds += [
            (cs_pk, key, cmp, thr)
            for cs_pk in services[len(services) - contract_count :]
            for key, cmp, thr in THRESHOLDS[provider_code]
        ]

    rows = []

    def sample(cs_pk: int, key: str, observed_at: datetime) -> Measurement0009:
        if key == "availability":
            fields = {"ok": rng.choice([True, True, True, False, None])}
        elif key == "latency":
            value = None if rng.random() < 0.15 else Decimal(rng.randint(0, 40000)) / 100
            fields = {"value": value, "ok": rng.choice([None, value is not None and value < 200])}
        else:
            fields = {}
        row = Measurement0009(contract_service_id=cs_pk, key=key, observed_at=observed_at, **fields)
        rows.append(row)
        return row

    for year, month in SAMPLE_MONTHS:
        first = datetime(year, month, 1, tzinfo=UTC)
        for cs_pk in services:
            for key in KEYS:
                # A few busy hours, several samples in each, some at the same instant.
                for _ in range(24):
                    hour = first + timedelta(days=rng.randint(0, 27), hours=rng.choice((3, 14)))
                    sample(cs_pk, key, hour + timedelta(seconds=rng.choice((0, 59, 1799, 3599))))
    edges = {name: sample(services[0], "latency", moment) for name, (moment, _) in EDGES.items()}
    for row in edges.values():
        row.value = Decimal("150.5")  # exactly on a threshold
    Measurement0009.objects.bulk_create(rows)
    return {name: row.pk for name, row in edges.items()}, thresholds


def test_existing_samples_move_into_their_month_partitions_with_rollups(
    migrator_keeping_partitions,
):
    migrator = migrator_keeping_partitions
    old_state = migrator.apply_tested_migration(BEFORE)
    assert not _fetch(
        "SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'contracts_measurement'::regclass"
    )
    edges, thresholds = write_book_before_0010(old_state.apps, random.Random(19))
    before = month_checksums()
    assert sorted(before) == sorted(
        {f"{y}-{m:02}" for y, m in SAMPLE_MONTHS}
        | {moment.astimezone(UTC).strftime("%Y-%m") for moment, _ in EDGES.values()}
    )
    highest_id = _fetch("SELECT max(id) FROM contracts_measurement")[0][0]

    with time_machine.travel(CLOCK, tick=False):
        migrator.apply_tested_migration(MigrationLoader(connection).graph.leaf_nodes())

    # Every sample kept once, in the partition of its UTC month.
    assert month_checksums() == before
    assert partition_checksums() == {
        f"contracts_measurement_y{month[:4]}m{month[5:]}": figures
        for month, figures in before.items()
    }
    assert misplaced() == []
    for name, pk in edges.items():
        where = _fetch(
            "SELECT tableoid::regclass::text FROM contracts_measurement WHERE id = %s", [pk]
        )
        assert where == [(f"contracts_measurement_{EDGES[name][1]}",)], name
    assert default_partition_ids() == set()
    assert set(month_partitions()) == CREATED_AROUND_CLOCK | {
        date(int(month[:4]), int(month[5:]), 1) for month in before
    }

    # The rollups of the existing samples, exact bounds included; every threshold counted.
    assert not _fetch("SELECT 1 FROM contracts_measurementrollup WHERE samples = 0")
    assert_rollups_follow_the_samples(thresholds, exact_bounds=True)
    assert {row[3:5] for row in kept_threshold_counts()} == {
        (cmp, Decimal(thr)) for rows in THRESHOLDS.values() for _, cmp, thr in rows
    }

    # Samples written after the upgrade: new ids, the rollups kept by the triggers.
    services = sorted({row[0] for row in kept_rollups()})
    beyond = datetime(2034, 2, 10, 8, 15, tzinfo=UTC)  # a month with no partition yet
    added = Measurement.objects.bulk_create(
        [
            Measurement(contract_service_id=cs, key="latency", observed_at=moment, value=value)
            for cs in services
            for moment, value in (
                (CLOCK, Decimal("149.999999")),
                (datetime(2030, 12, 3, 14, 5, tzinfo=UTC), Decimal("-5")),
                (beyond, Decimal("400")),
            )
        ]
        + [Measurement(contract_service_id=services[0], key="tickets", observed_at=CLOCK)]
    )
    assert min(row.pk for row in added) > highest_id
    assert default_partition_ids() == {row.pk for row in added if row.observed_at == beyond}
    assert_rollups_follow_the_samples(thresholds, exact_bounds=True)

    # That month's partition created: its samples moved in, the rollups unchanged.
    ensure_partitions(now=beyond, ahead=0)
    assert default_partition_ids() == set()
    assert misplaced() == []
    assert_rollups_follow_the_samples(thresholds, exact_bounds=True)

    # Updates: values and flags changed, samples moved to another month (partition) and to
    # another key.
    latency = Measurement.objects.filter(key="latency", value__isnull=False)
    latency.filter(observed_at__lt=datetime(2031, 1, 1, tzinfo=UTC)).update(value=F("value") + 75)
    Measurement.objects.filter(key="availability", ok=False).update(ok=True)
    moved = latency.filter(observed_at__month=3).update(
        observed_at=F("observed_at") + timedelta(days=45, minutes=7)
    )
    rekeyed = Measurement.objects.filter(key="tickets", observed_at__month=7).update(
        key="latency", value=Decimal("175")
    )
    assert moved and rekeyed
    assert misplaced() == []
    assert_rollups_follow_the_samples(thresholds, exact_bounds=False)

    # Deletes: every sample of some hours, and some here and there.
    first_hour = grouped_samples()[0]
    Measurement.objects.filter(
        contract_service_id=first_hour[0],
        key=first_hour[1],
        observed_at__gte=first_hour[2],
        observed_at__lt=first_hour[2] + timedelta(hours=1),
    ).delete()
    Measurement.objects.filter(pk__in=list(edges.values())).delete()
    Measurement.objects.filter(key="latency", value__gt=300).delete()
    assert_rollups_follow_the_samples(thresholds, exact_bounds=False)
    assert month_checksums() != before  # the checks above saw changes
