"""The benchmark book generator: refuses impossible arguments, writes a valid book."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

import engine
from bench import generate
from bench.generate import (
    BookSpec,
    build_book,
    last_due_month,
    loaded_book,
    plan_samples,
    sample_lines,
    write_book,
)
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
    ThresholdRollup,
)
from contracts.selectors import effective_service_levels
from credits.settlement import due_periods
from tests.scale.test_rollups import wrong_kept_figures

TINY = BookSpec(contracts=30, months=2, samples_per_objective=3, seed=5, last_month="2026-09")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--contracts", "0", "--samples-per-objective", "5"], "--contracts must be between"),
        (["--contracts", "-3", "--samples-per-objective", "5"], "--contracts must be between"),
        (["--contracts", "10", "--months", "121", "--samples-per-objective", "5"], "--months"),
        (["--contracts", "10", "--months", "0", "--samples-per-objective", "5"], "--months"),
        (["--contracts", "10", "--samples-per-objective", "0"], "--samples-per-objective"),
        (["--contracts", "10", "--samples-per-objective", "1000000"], "--samples-per-objective"),
        (["--contracts", "100000", "--months", "120", "--samples-per-objective", "1000"], "limit"),
        (["--contracts", "10", "--samples", "-1"], "--samples must be between"),
        (["--contracts", "10", "--samples", "5", "--periods", "daily"], "--periods"),
        (["--contracts", "10", "--samples", "5", "--last-month", "2026-13"], "--last-month"),
        (["--contracts", "ten", "--samples", "5"], "invalid int value"),
        (["--contracts", "10"], "one of the arguments"),
        (
            ["--contracts", "10", "--samples", "5", "--database-url", "mysql://h/bench"],
            "unsupported database URL scheme 'mysql'",
        ),
        (
            ["--contracts", "10", "--samples", "5", "--database-url", "postgres://h/slaportal"],
            "must contain 'bench'",
        ),
    ],
)
def test_impossible_arguments_are_refused_with_one_readable_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        generate.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("python -m bench.generate: error: ")
    assert message in err


def test_the_same_seed_gives_the_same_book_and_samples():
    def rows(spec: BookSpec) -> tuple:
        book = build_book(spec)
        text = "".join(chunk for _, chunk in sample_lines(spec, plan_samples(spec, book)))
        return book.organizations, [vars(c) for c in book.contracts], book.incidents, text

    assert rows(TINY) == rows(TINY)
    assert rows(TINY) != rows(BookSpec(**{**vars(TINY), "seed": 6}))


def test_the_first_customer_holds_exactly_the_contracts_asked_for():
    spec = BookSpec(contracts=40, samples=10, seed=3, first_customer_contracts=7)
    book = build_book(spec)
    first_customer = next(org[0] for org in book.organizations if org[3] == "customer")
    assert sum(c.customer == first_customer for c in book.contracts) == 7


def test_intervals_end_after_they_start_across_dst_changes():
    # October 2026 holds Sydney's spring-forward (4 October) and Europe's fall-back (25th).
    # This book (the sweep's scale check) once held incidents that ended before they began.
    spec = BookSpec(
        contracts=20_000,
        samples=1,
        seed=1,
        last_month="2026-10",
        periods=("month",),
        all_active=True,
    )
    book = build_book(spec)
    assert any(c.tz == "Australia/Sydney" for c in book.contracts)
    # As instants: Python compares datetimes sharing a tzinfo by their wall clocks.
    for _cs, start, end, _cause in book.incidents:
        assert end.timestamp() > start.timestamp()
    for _contract, _cs, start, end in book.windows:
        assert end.timestamp() > start.timestamp()
    for _responsibility, start, end in book.lapses:
        assert end.timestamp() > start.timestamp()


def test_a_total_of_samples_is_met_exactly():
    spec = BookSpec(contracts=20, months=1, samples=12_345, seed=2, last_month="2026-10")
    book = build_book(spec)
    assert sum(count for count, _ in sample_lines(spec, plan_samples(spec, book))) == 12_345


@pytest.mark.django_db
def test_a_tiny_book_is_valid_and_covers_every_level_rule_and_cause():
    summary = write_book(TINY)

    assert summary["contracts"] == Contract.objects.count() == 30
    for model in (
        get_user_model(),
        Membership,
        Organization,
        Service,
        Contract,
        ContractService,
        ServiceLevel,
        Responsibility,
        ResponsibilityLapse,
        MaintenanceWindow,
        Incident,
    ):
        objects = list(model.objects.all())
        assert objects, model
        for obj in objects:
            obj.full_clean()
    for sample in Measurement.objects.all()[:300]:
        sample.full_clean()

    levels = ServiceLevel.objects.all()
    assert {sl.level for sl in levels} == {"corporate", "service", "customer", "contract_service"}
    assert {sl.credit_rule["kind"] for sl in levels if sl.credit_rule} == set(engine.RULE_KINDS)
    assert any(
        sl.credit_rule["kind"] == "tiered" and sl.comparator == "lte"
        for sl in levels
        if sl.credit_rule
    )
    assert {sl.level for sl in levels if not sl.enabled} == {"customer", "contract_service"}
    for sl in levels:
        if sl.credit_rule and sl.credit_rule["kind"] == "pool":
            assert sl.contract.credit_cap_percent is not None
    assert set(Incident.objects.values_list("cause", flat=True)) == {
        "provider",
        "customer",
        "maintenance",
        "force_majeure",
        "third_party",
    }
    contracts = Contract.objects.all()
    assert {c.settlement_period for c in contracts} == {"week", "month", "quarter"}
    assert len({c.timezone for c in contracts}) >= 4
    assert any(c.credit_cap_percent is not None for c in contracts)
    assert all(1 <= c.services.count() <= 5 for c in contracts)
    assert Responsibility.service_levels.through.objects.exists()


@pytest.mark.django_db
def test_samples_exist_exactly_for_the_effective_sampled_objectives_while_in_force():
    write_book(TINY)

    expected = set()
    for contract in Contract.objects.exclude(status="draft"):
        for effective in effective_service_levels(contract):
            for sl in effective.service_levels:
                if sl.indicator != "uptime":
                    expected.add((effective.contract_service.pk, sl.key))
    assert set(Measurement.objects.values_list("contract_service_id", "key").distinct()) == expected
    for cs in ContractService.objects.select_related("contract"):
        first = cs.measurements.order_by("observed_at").first()
        if first is None:
            continue
        contract = cs.contract
        period = engine.period_containing(contract.start_date, "month", contract.timezone)
        start = engine.active_interval(period, contract.start_date, contract.end_date)[0]
        assert first.observed_at >= start


@pytest.mark.django_db
def test_the_marker_says_which_book_is_loaded():
    assert loaded_book(TINY) is None
    summary = write_book(TINY)
    assert loaded_book(TINY) == summary
    assert loaded_book(BookSpec(**{**vars(TINY), "seed": 9})) is None
    assert Counter(Measurement.objects.values_list("key", flat=True)).total() == summary["samples"]


@pytest.mark.django_db
def test_samples_go_straight_into_their_month_partitions_and_are_rolled_up():
    summary = write_book(TINY)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, min(observed_at), max(observed_at), count(*) "
            "FROM contracts_measurement GROUP BY 1"
        )
        partitions = cursor.fetchall()
        cursor.execute("SELECT coalesce(sum(samples), 0) FROM contracts_measurementrollup")
        (rolled_up,) = cursor.fetchone()
    assert len(partitions) >= 2
    for name, first, last, _count in partitions:
        first, last = first.astimezone(UTC), last.astimezone(UTC)
        assert (first.year, first.month) == (last.year, last.month)
        assert name == f"contracts_measurement_y{first:%Y}m{first:%m}"
    assert sum(count for *_, count in partitions) == summary["samples"] == rolled_up
    assert ThresholdRollup.objects.filter(complete=True).exists()
    assert wrong_kept_figures() == [0, 0]


@pytest.mark.parametrize(
    ("now", "periods", "last_month"),
    [
        # November is due in New York with a 5-day delay at 6 December, 05:00 UTC.
        (datetime(2026, 12, 2, 6, tzinfo=UTC), ("month",), date(2026, 10, 1)),
        (datetime(2026, 12, 6, 4, 59, tzinfo=UTC), ("month",), date(2026, 10, 1)),
        (datetime(2026, 12, 6, 5, tzinfo=UTC), ("month",), date(2026, 11, 1)),
        (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), ("month",), date(2026, 11, 1)),
        # The week holding 30 November ends on Sunday 6 December.
        (datetime(2026, 12, 10, tzinfo=UTC), ("week", "month"), date(2026, 10, 1)),
        (datetime(2026, 12, 12, 5, tzinfo=UTC), ("week", "month"), date(2026, 11, 1)),
        (datetime(2026, 12, 20, tzinfo=UTC), ("quarter",), date(2026, 9, 1)),
        (datetime(2028, 6, 2, 6, tzinfo=UTC), ("month", "quarter"), date(2028, 3, 1)),
    ],
)
def test_the_default_last_month_is_the_latest_entirely_due(now, periods, last_month):
    assert last_due_month(periods, now) == last_month


@pytest.mark.dates
@pytest.mark.django_db
def test_every_period_of_a_default_book_is_due_whatever_the_day():
    spec = BookSpec(contracts=40, months=2, samples_per_objective=2, seed=4)
    summary = write_book(spec)

    last_day = date.fromisoformat(summary["last_day"])
    due = [(c, start) for c, start in due_periods(timezone.now()) if start <= last_day]
    assert len(due) == summary["contract_periods"] > 40
