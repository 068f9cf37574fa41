"""Settling a contract period: the worked examples end to end, revisions, refusals, queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.db import IntegrityError, transaction

import engine
from contracts.models import Incident, MaintenanceWindow, Measurement, Responsibility
from credits import notify
from credits.models import Statement, StatementLine
from credits.settlement import (
    SettlementError,
    closed_periods,
    compute_period,
    settle_period,
)
from tests.credits.settlement_book import (
    at,
    contract,
    line_rows,
    objective,
    ratio,
    samples,
    service,
)
from tests.factories import IncidentFactory, ResponsibilityLapseFactory, UserFactory

pytestmark = pytest.mark.django_db

E1_RULE = {"kind": "per_step", "step": "0.5", "percent": "1"}
E3_TIERS = {
    "kind": "tiered",
    "tiers": [
        {"bound": "99.99", "percent": "10"},
        {"bound": "99.0", "percent": "30"},
        {"bound": "95.0", "percent": "100"},
    ],
}
AVAILABILITY = {"key": "availability", "indicator": "uptime", "target": "99.99", "rule": E3_TIERS}
WEEK = date(2026, 10, 5)  # a Monday
AFTER_WEEK = at(2026, 10, 20)


@pytest.fixture
def told(monkeypatch):
    """What settlement asked credits.notify to announce."""
    calls: list[tuple[str, dict]] = []
    for event in ("statement_issued", "no_data", "early_warnings"):
        monkeypatch.setattr(notify, event, lambda _event=event, **ids: calls.append((_event, ids)))
    return calls


def settle_september(c):
    """Settles September 2026, closed since 1 October, as on 5 October."""
    return settle_period(contract=c, period_start=date(2026, 9, 1), now=at(2026, 10, 5))


def provider_outage_inside_a_lapse(cs, responsibility):
    """A six-hour lapse of `responsibility` from 14 September 08:00, and 200 minutes of
    provider-caused downtime of `cs` starting an hour into it."""
    lapse_start = at(2026, 9, 14, 8)
    ResponsibilityLapseFactory(
        responsibility=responsibility, start=lapse_start, end=lapse_start + timedelta(hours=6)
    )
    down = lapse_start + timedelta(hours=1)
    IncidentFactory(contract_service=cs, started_at=down, ended_at=down + timedelta(minutes=200))


def weekly_reports():
    """E1's book: weekly reports, 99.5 % on time, 1 % per started 0.5 step, 2,000 EUR."""
    c = contract(period="week", tz="Europe/Berlin", reference="CR-GLOBEX")
    cs = service(c, fee="2000.00", name="Weekly sales reports")
    level = objective(
        c,
        key="report-delivery",
        indicator="ratio",
        target="99.5",
        rule=E1_RULE,
        name="Reports delivered on time",
    )
    return c, cs, level


# --------------------------------------------------------------------------- worked examples


def test_e1_987_of_1000_reports_on_time_earn_40_eur():
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 5, 1, tz="Europe/Berlin"), 987, 1000)

    result = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK)

    statement = result.statement
    assert result.created
    assert (statement.period_start, statement.period_end, statement.revision) == (
        date(2026, 10, 5),
        date(2026, 10, 11),
        1,
    )
    line = statement.lines.get()
    assert line.amount == Decimal("40.00")
    assert line.credit_percent == Decimal("2")
    assert line.attainment == Decimal("98.7")
    assert line.met is False
    assert line.measure == {"ok": 987, "total": 1000, "relieved_samples": 0}
    assert line.fee == Decimal("2000.00")
    assert (line.key, line.source_level, line.target) == ("report-delivery", "customer", 99.5)
    assert line.credit_rule == engine.parse_rule(E1_RULE).to_json()
    assert "98.700 %" in line.explanation
    assert "0.8 points short" in line.explanation
    assert "2 started steps of 0.5 at 1 % each = 2 %" in line.explanation
    assert "40.00 EUR" in line.explanation
    assert statement.credit_total == Decimal("40.00")
    assert statement.fees_total == Decimal("2000.00")
    assert statement.currency == "EUR"


def test_samples_outside_the_week_in_the_contracts_time_zone_do_not_count():
    c, cs, _ = weekly_reports()
    # 23:30 UTC on Sunday 4 October is already Monday in Berlin: it counts. 22:30 UTC on
    # Sunday 11 October is Monday 12 October in Berlin: it does not.
    samples(cs, "report-delivery", at(2026, 10, 4, 23, 30), oks=[False])
    samples(cs, "report-delivery", at(2026, 10, 11, 22, 30), oks=[False])
    ratio(cs, "report-delivery", at(2026, 10, 6), 99, 99)

    line = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement.lines.get()

    assert line.measure["total"] == 100
    assert line.measure["ok"] == 99


def test_e2_three_errors_in_a_week_earn_the_flat_credit_and_two_do_not():
    c = contract(period="week")
    cs = service(c, fee="2000.00")
    objective(
        c,
        key="failed-reports",
        indicator="count",
        comparator="lte",
        target="2",
        rule={"kind": "flat", "percent": "5"},
    )
    samples(cs, "failed-reports", at(2026, 10, 6), values=[None, 1, None])
    samples(cs, "failed-reports", at(2026, 10, 13), values=[1, 1])

    first = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement
    second = settle_period(contract=c, period_start=date(2026, 10, 12), now=AFTER_WEEK).statement

    assert first.lines.get().amount == Decimal("100.00")
    assert first.lines.get().measure == {"total": "3", "samples": 3, "relieved_samples": 0}
    assert second.lines.get().amount == Decimal("0.00")
    assert second.lines.get().met is True
    assert second.credit_total == Decimal("0")


def _e3_book(tz: str = "America/New_York"):
    c = contract(period="month", currency="USD", tz=tz)
    cs = service(c, fee="1000.00", name="Cloud compute")
    objective(c, **AVAILABILITY, name="Availability")
    september = at(2026, 9, 10, tz=tz)
    MaintenanceWindow.objects.create(
        contract=c, start=september, end=september + timedelta(minutes=120)
    )
    down = at(2026, 9, 12, tz=tz)
    IncidentFactory(contract_service=cs, started_at=down, ended_at=down + timedelta(minutes=50))
    customer_down = at(2026, 9, 20, tz=tz)
    IncidentFactory(
        contract_service=cs,
        started_at=customer_down,
        ended_at=customer_down + timedelta(minutes=500),
        cause=Incident.Cause.CUSTOMER,
    )
    return c, cs


def test_e3_a_month_with_maintenance_and_a_customer_caused_outage_earns_the_10_percent_tier():
    c, _ = _e3_book()

    statement = settle_september(c).statement

    line = statement.lines.get()
    assert line.measure == {
        "scheduled_seconds": 43_080 * 60,
        "downtime_seconds": 50 * 60,
        "relieved_seconds": 0,
    }
    assert engine.format_attainment(Fraction(43_030 * 100, 43_080)) == "99.884"
    assert line.attainment.quantize(Decimal("0.001")) == Decimal("99.884")
    assert line.attainment == Decimal("99.8839368617")
    assert line.amount == Decimal("100.00")
    assert statement.credit_total == Decimal("100.00")
    assert "99.884 %" in line.explanation
    assert "100.00 USD" in line.explanation


def test_e5_credits_above_the_at_risk_amount_get_a_cap_adjustment():
    c = contract(cap="10")
    flat = {"key": "errors", "indicator": "count", "comparator": "lte", "target": "0"}
    first, second = service(c, fee="1500.00"), service(c, fee="1500.00")
    objective(c, first, **flat, rule={"kind": "flat", "percent": "20"})
    objective(c, second, **flat, rule={"kind": "flat", "percent": "10"})
    samples(first, "errors", at(2026, 9, 3), values=[1])
    samples(second, "errors", at(2026, 9, 3), values=[1])

    statement = settle_september(c).statement

    amounts = sorted(statement.lines.values_list("amount", flat=True))
    assert amounts == [Decimal("150.00"), Decimal("300.00")]
    assert statement.fees_total == Decimal("3000.00")
    assert statement.at_risk_amount == Decimal("300.00")
    assert statement.cap_adjustment == Decimal("-150.00")
    assert statement.credit_total == Decimal("300.00")


def test_e6_a_provider_incident_inside_a_lapse_of_a_linked_responsibility_is_relief():
    c = contract()
    cs = service(c)
    availability = objective(c, **AVAILABILITY)
    responsibility = Responsibility.objects.create(contract=c, title="Name a representative")
    responsibility.service_levels.add(availability)
    provider_outage_inside_a_lapse(cs, responsibility)

    line = settle_september(c).statement.lines.get()

    assert line.measure["downtime_seconds"] == 0
    assert line.measure["relieved_seconds"] == 200 * 60
    assert line.met is True
    assert line.amount == 0
    assert "Relief: 200 min of downtime" in line.explanation


def test_a_lapse_of_an_unrelated_responsibility_gives_no_relief():
    c = contract()
    cs = service(c)
    objective(c, **AVAILABILITY)
    unrelated = Responsibility.objects.create(contract=c, title="Keep the lights on")
    provider_outage_inside_a_lapse(cs, unrelated)

    line = settle_september(c).statement.lines.get()

    assert line.measure["downtime_seconds"] == 200 * 60
    assert line.met is False
    assert line.amount == Decimal("100.00")  # 99.537 %: the 10 % tier


def test_samples_observed_during_a_lapse_of_a_linked_responsibility_are_excluded():
    c, cs, level = weekly_reports()
    responsibility = Responsibility.objects.create(contract=c, title="Send the data by 6:00")
    responsibility.service_levels.add(level)
    lapse_start = at(2026, 10, 7)
    ResponsibilityLapseFactory(
        responsibility=responsibility, start=lapse_start, end=lapse_start + timedelta(hours=1)
    )
    ratio(cs, "report-delivery", at(2026, 10, 6), 100, 100)
    # Twelve late reports, five minutes apart, all inside the hour of the lapse.
    samples(cs, "report-delivery", lapse_start, oks=[False] * 12)

    line = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement.lines.get()

    assert line.measure == {"ok": 100, "total": 100, "relieved_samples": 12}
    assert line.met is True
    assert "12 samples observed during a lapse" in line.explanation


def test_e7_a_contract_starting_on_the_16th_of_a_30_day_month_pays_half_the_fee():
    c = contract(start=date(2026, 9, 16))
    cs = service(c, fee="3000.00")
    objective(
        c,
        key="errors",
        indicator="count",
        comparator="lte",
        target="0",
        rule={"kind": "flat", "percent": "10"},
    )
    samples(cs, "errors", at(2026, 9, 20), values=[1])
    # Before the contract started: not counted.
    samples(cs, "errors", at(2026, 9, 10), values=[5])

    statement = settle_september(c).statement

    line = statement.lines.get()
    assert line.fee == Decimal("1500.00")
    assert statement.fees_total == Decimal("1500.00")
    assert line.measure["total"] == "1"
    assert line.amount == Decimal("150.00")


def test_a_threshold_objective_counts_samples_meeting_the_threshold():
    c = contract()
    cs = service(c, fee="1000.00")
    objective(
        c,
        key="resolution-30min",
        indicator="threshold",
        target="95",
        threshold="30",
        threshold_comparator="lte",
        rule={"kind": "linear", "factor": "1"},
    )
    # 30 meets "at most 30"; 30.000001 does not.
    samples(
        cs, "resolution-30min", at(2026, 9, 2), values=[10] * 88 + [30] * 2 + ["30.000001"] * 10
    )

    line = settle_september(c).statement.lines.get()

    assert line.measure["meeting"] == 90
    assert line.measure["total"] == 100
    assert line.attainment == Decimal("90")
    assert line.amount == Decimal("50.00")  # 1 % per point, 5 points short


def test_969_of_1000_against_96_9_is_met_exactly():
    c = contract()
    cs = service(c)
    objective(
        c, key="on-time", indicator="ratio", target="96.9", rule={"kind": "flat", "percent": "50"}
    )
    ratio(cs, "on-time", at(2026, 9, 2), 969, 1000)

    line = settle_september(c).statement.lines.get()

    assert line.met is True
    assert line.amount == 0


def test_a_period_without_samples_is_no_data_and_the_provider_is_warned(
    told, django_capture_on_commit_callbacks
):
    c, _, _ = weekly_reports()

    with django_capture_on_commit_callbacks(execute=True):
        statement = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement
        assert told == []  # nothing is announced before the statement is committed

    line = statement.lines.get()
    assert line.attainment is None
    assert line.met is None
    assert line.amount == 0
    assert line.explanation.startswith("No data")
    assert told == [
        ("statement_issued", {"statement_id": statement.pk}),
        ("no_data", {"statement_id": statement.pk}),
    ]


def test_both_parties_are_told_once_and_only_about_a_new_statement(
    told, django_capture_on_commit_callbacks
):
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 10, 10)

    with django_capture_on_commit_callbacks(execute=True):
        first = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK)
    with django_capture_on_commit_callbacks(execute=True):
        settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK)

    assert told == [("statement_issued", {"statement_id": first.statement.pk})]


def test_a_failing_notification_does_not_undo_the_statement(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**ids):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(notify, "statement_issued", broken)
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 10, 10)

    with django_capture_on_commit_callbacks(execute=True):
        result = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK)

    assert Statement.objects.filter(pk=result.statement.pk).exists()


# --------------------------------------------------------------------------- revisions


def test_settling_again_with_nothing_changed_returns_the_same_statement():
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    first = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK)

    again = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK + timedelta(days=3))

    assert again.created is False
    assert again.statement.pk == first.statement.pk
    assert Statement.objects.count() == 1
    assert StatementLine.objects.count() == 1


def test_late_data_makes_revision_2_and_revision_1_is_unchanged():
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    first = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement
    before = line_rows(first)
    header_before = Statement.objects.filter(pk=first.pk).values().get()

    # 300 late reports arrive, all on time: 1,287 of 1,300 = 99 %, one step short.
    ratio(cs, "report-delivery", at(2026, 10, 9), 300, 300)
    second = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement

    assert second.revision == 2
    assert second.pk != first.pk
    assert second.lines.get().measure["total"] == 1300
    assert second.lines.get().amount == Decimal("20.00")
    assert line_rows(first) == before
    assert Statement.objects.filter(pk=first.pk).values().get() == header_before
    assert list(Statement.objects.filter(contract=c).values_list("revision", flat=True)) == [2, 1]


def test_a_corrected_rule_makes_revision_2():
    c, cs, level = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    first = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement

    level.credit_rule = {"kind": "per_step", "step": "0.5", "percent": "2"}
    level.save()
    second = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement

    assert second.revision == 2
    assert second.lines.get().amount == Decimal("80.00")
    assert first.lines.get().amount == Decimal("40.00")
    assert second.lines.get().credit_rule["percent"] == "2"


def test_the_database_refuses_to_change_or_delete_an_issued_line():
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    statement = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement
    line = statement.lines.get()

    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        StatementLine.objects.filter(pk=line.pk).update(amount=Decimal("0"))
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(credit_total=Decimal("0"))
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        StatementLine.objects.filter(pk=line.pk).delete()

    assert StatementLine.objects.get(pk=line.pk).amount == Decimal("40.00")


# --------------------------------------------------------------------------- refusals


def test_an_open_period_cannot_be_settled():
    c, _, _ = weekly_reports()

    # 23:00 on Sunday in Berlin: the week has an hour to go.
    with (
        time_machine.travel(at(2026, 10, 11, 23, tz="Europe/Berlin"), tick=False),
        pytest.raises(SettlementError, match="has not ended yet"),
    ):
        settle_period(contract=c, period_start=WEEK)

    assert not Statement.objects.exists()


def test_a_week_can_be_settled_from_midnight_in_the_contracts_time_zone():
    c, _, _ = weekly_reports()

    # Midnight in Berlin is 22:00 UTC on Sunday: the week is over there.
    with time_machine.travel(at(2026, 10, 11, 22), tick=False):
        result = settle_period(contract=c, period_start=WEEK)

    assert result.created
    assert result.statement.issued_at == at(2026, 10, 11, 22)


def test_the_manual_settlement_does_not_wait_for_the_settlement_delay():
    c, _, _ = weekly_reports()  # settlement_delay_days = 2

    result = settle_period(contract=c, period_start=WEEK, now=at(2026, 10, 12, tz="Europe/Berlin"))

    assert result.created


def test_a_date_that_is_not_a_period_start_names_the_period_start():
    c, _, _ = weekly_reports()

    with pytest.raises(SettlementError) as error:
        settle_period(contract=c, period_start=date(2026, 10, 7), now=AFTER_WEEK)

    assert "2026-10-07 is not the start of a weekly settlement period" in str(error.value)
    assert "starts on 2026-10-05" in str(error.value)


def test_a_draft_contract_cannot_be_settled():
    c = contract(status="draft")

    with pytest.raises(SettlementError, match="draft"):
        settle_september(c)


def test_a_period_before_the_contract_starts_or_after_it_ends_cannot_be_settled():
    c = contract(start=date(2026, 3, 16), end=date(2026, 6, 30))

    with pytest.raises(SettlementError, match="starts on 2026-03-16"):
        settle_period(contract=c, period_start=date(2026, 2, 1), now=at(2026, 10, 5))
    with pytest.raises(SettlementError, match="ended on 2026-06-30"):
        settle_period(contract=c, period_start=date(2026, 7, 1), now=at(2026, 10, 5))


def test_a_pool_rule_on_a_contract_without_a_cap_is_a_readable_error():
    c = contract(cap="10")
    cs = service(c)
    objective(
        c,
        key="errors",
        indicator="count",
        comparator="lte",
        target="0",
        rule={"kind": "pool", "allocation_percent": "50"},
    )
    samples(cs, "errors", at(2026, 9, 3), values=[1])
    type(c).objects.filter(pk=c.pk).update(credit_cap_percent=None)
    c.refresh_from_db()

    with pytest.raises(SettlementError, match="at-risk amount"):
        settle_september(c)


# --------------------------------------------------------------------------- reads


def with_target(level, target: Decimal) -> engine.Objective:
    """The weekly reports objective as the engine reads it, with another target."""
    return engine.Objective(
        key=level.key,
        name=level.name,
        indicator="ratio",
        comparator="gte",
        target=target,
        rule=level.rule,
    )


def test_compute_period_previews_a_changed_target_without_writing():
    c, cs, level = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    looser = with_target(level, Decimal("98.5"))

    as_saved = compute_period(contract=c, period_start=WEEK)
    preview = compute_period(contract=c, period_start=WEEK, objective_overrides={level.pk: looser})

    assert as_saved.credit_total == Decimal("40.00")
    assert preview.credit_total == Decimal("0.00")
    assert preview.lines[0].result.met is True
    assert preview.fingerprint != as_saved.fingerprint
    assert not Statement.objects.exists()


def test_the_fingerprint_ignores_how_many_decimals_a_target_is_stored_with():
    c, cs, level = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    same = with_target(level, Decimal("99.50000"))

    preview = compute_period(contract=c, period_start=WEEK, objective_overrides={level.pk: same})

    assert preview.fingerprint == compute_period(contract=c, period_start=WEEK).fingerprint


def test_closed_periods_are_the_last_ended_ones_within_the_contract():
    c = contract(start=date(2026, 6, 16), period="month", tz="Asia/Tokyo")

    # 1 November 00:30 in Tokyo is still 31 October in UTC: October has ended there.
    periods = closed_periods(c, 3, now=at(2026, 11, 1, 0, 30, tz="Asia/Tokyo"))
    everything = closed_periods(c, 12, now=at(2026, 11, 1, 0, 30, tz="Asia/Tokyo"))

    assert [p.start for p in periods] == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    assert everything[0].start == date(2026, 6, 1)
    assert len(everything) == 5


# --------------------------------------------------------------------------- queries


def _book_with_services(n: int):
    c = contract(cap="20")
    objective(c, **AVAILABILITY)
    objective(c, key="on-time", indicator="ratio", target="99", rule=E1_RULE)
    objective(
        c,
        key="speed",
        indicator="threshold",
        target="95",
        threshold="100",
        threshold_comparator="gte",
        rule={"kind": "flat", "percent": "5"},
    )
    responsibility = Responsibility.objects.create(contract=c, title="Access to the site")
    responsibility.service_levels.add(*c.service_levels.all())
    ResponsibilityLapseFactory(
        responsibility=responsibility, start=at(2026, 9, 3), end=at(2026, 9, 4)
    )
    MaintenanceWindow.objects.create(contract=c, start=at(2026, 9, 5), end=at(2026, 9, 5, 2))
    for _ in range(n):
        cs = service(c)
        ratio(cs, "on-time", at(2026, 9, 2), 190, 200, every=timedelta(minutes=30))
        samples(cs, "speed", at(2026, 9, 2), values=[120] * 150, every=timedelta(hours=1))
        IncidentFactory(contract_service=cs, started_at=at(2026, 9, 8), ended_at=at(2026, 9, 8, 1))
    return c


@pytest.mark.parametrize("services", [3, 6])
def test_settling_a_period_takes_the_same_few_queries_whatever_the_number_of_services(
    services, django_assert_max_num_queries
):
    c = _book_with_services(services)
    assert Measurement.objects.count() == services * 350

    # Thirteen queries (the samples inside the lapse are counted apart; the terms in force,
    # the accepted disputes and the accepted claims are one each; the lines' COPY is not
    # counted) and four savepoint statements, whatever the number of services or samples.
    with django_assert_max_num_queries(17):
        statement = settle_september(c).statement

    assert statement.lines.count() == services * 3


# --------------------------------------------------------------------------- admin


def test_operators_read_statements_in_the_admin_but_cannot_change_or_delete_them(client):
    c, cs, _ = weekly_reports()
    ratio(cs, "report-delivery", at(2026, 10, 6), 987, 1000)
    statement = settle_period(contract=c, period_start=WEEK, now=AFTER_WEEK).statement
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))

    listing = client.get("/admin/credits/statement/")
    page = client.get(f"/admin/credits/statement/{statement.pk}/change/")
    change = client.post(f"/admin/credits/statement/{statement.pk}/change/", {"revision": 9})
    delete = client.post(f"/admin/credits/statement/{statement.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200
    assert c.reference in listing.content.decode()
    assert page.status_code == 200
    assert "2 started steps of 0.5" in page.content.decode()  # the line, inline
    assert 'name="_save"' not in page.content.decode()
    assert change.status_code == 403
    assert delete.status_code == 403
    assert Statement.objects.get(pk=statement.pk).revision == 1
    for model in ("dispute", "notification", "delivery", "earlywarning"):
        assert client.get(f"/admin/credits/{model}/").status_code == 200, model
        assert client.get(f"/admin/credits/{model}/add/").status_code == 403, model
