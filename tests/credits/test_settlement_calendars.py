"""Settling objectives that name a service calendar: only service hours are scheduled, only
samples observed inside them count, holidays and closures remove their time (SPEC §6, E9)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from contracts.models import CalendarClosure, MaintenanceWindow, ServiceCalendar, ServiceLevel
from credits.contract_pages import SettlementOnContractPages
from credits.settlement import settle_period
from credits.settlement.calendars import attach_calendars
from credits.settlement.inputs import _sample_aggregates, attach_relief, plan_jobs, sample_figures
from tests.credits.settlement_book import at, contract, objective, samples, service
from tests.credits.test_settlement_batch import jobs_of, varied_book
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
AFTER_NOVEMBER = at(2026, 12, 5)
PER_STEP = {"kind": "per_step", "step": "0.5", "percent": "2"}
WEEKDAYS = [[["08:00", "18:00"]] for _ in range(5)] + [[], []]


def calendar(provider, *, name="Office hours", tz="Europe/Berlin", hours=None, **fields):
    return ServiceCalendar.objects.create(
        provider=provider, name=name, timezone=tz, hours=hours or WEEKDAYS, **fields
    )


def with_calendar(level: ServiceLevel, cal: ServiceCalendar | None) -> ServiceLevel:
    ServiceLevel.objects.filter(pk=level.pk).update(calendar=cal)
    level.refresh_from_db()
    return level


def berlin(*args: int):
    return at(*args, tz="Europe/Berlin")


def e9_book():
    """E9: November 2026 in Berlin, one service measured in Mon–Fri 08:00–18:00 and one
    around the clock, both down on Sat 7 Nov 10:00–14:00 and Mon 9 Nov 17:00–19:00."""
    c = contract(tz="Europe/Berlin", reference="CR-E9")
    office, always = service(c, name="Office line"), service(c, name="Data centre")
    hours = calendar(c.provider)
    with_calendar(
        objective(c, office, key="availability", indicator="uptime", target="99.5", rule=PER_STEP),
        hours,
    )
    objective(c, always, key="availability", indicator="uptime", target="99.5", rule=PER_STEP)
    for cs in (office, always):
        for start, hours_down in ((berlin(2026, 11, 7, 10), 4), (berlin(2026, 11, 9, 17), 2)):
            IncidentFactory(
                contract_service=cs,
                key="availability",
                started_at=start,
                ended_at=start + timedelta(hours=hours_down),
            )
    return c, office, always, hours


def lines_by_service(statement):
    return {line.contract_service.service.name: line for line in statement.lines.all()}


def test_e9_uptime_in_service_hours_is_12540_of_12600_minutes_and_met():
    c, _office, _always, _hours = e9_book()

    statement = settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).statement

    lines = lines_by_service(statement)
    office, always = lines["Office line"], lines["Data centre"]
    assert office.measure == {
        "scheduled_seconds": 12_600 * 60,
        "downtime_seconds": 60 * 60,
        "relieved_seconds": 0,
    }
    assert office.attainment.quantize(Decimal("0.001")) == Decimal("99.524")
    assert office.met is True
    assert office.amount == 0
    assert "99.524 %" in office.explanation
    assert "of service hours" in office.explanation
    # The same month around the clock: (43,200 − 360) / 43,200.
    assert always.measure["scheduled_seconds"] == 43_200 * 60
    assert always.measure["downtime_seconds"] == 360 * 60
    assert always.attainment.quantize(Decimal("0.001")) == Decimal("99.167")
    assert always.met is False
    assert "scheduled)" in always.explanation
    assert "service hours" not in always.explanation


def test_maintenance_inside_service_hours_is_not_scheduled_and_outside_them_changes_nothing():
    c, _office, _always, _hours = e9_book()
    MaintenanceWindow.objects.create(
        contract=c, start=berlin(2026, 11, 10, 7), end=berlin(2026, 11, 10, 9)
    )

    line = lines_by_service(
        settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).statement
    )["Office line"]

    # 08:00–09:00 was in service hours; 07:00–08:00 was not.
    assert line.measure["scheduled_seconds"] == (12_600 - 60) * 60


def test_a_public_holiday_removes_its_day_and_the_downtime_on_it():
    c = contract(tz="Europe/Berlin", reference="CR-XMAS")
    cs = service(c)
    hours = calendar(c.provider, holiday_country="DE", holiday_subdivision="BE")
    with_calendar(
        objective(c, cs, key="availability", indicator="uptime", target="99.5", rule=PER_STEP),
        hours,
    )
    # Christmas Day, a Friday: closed, so an outage on it costs nothing.
    IncidentFactory(
        contract_service=cs,
        key="availability",
        started_at=berlin(2026, 12, 25, 9),
        ended_at=berlin(2026, 12, 25, 17),
    )

    line = settle_period(
        contract=c, period_start=date(2026, 12, 1), now=at(2027, 1, 5)
    ).statement.lines.get()

    # 23 weekdays in December 2026, Christmas Day (Fri 25) closed: 22 × 600 minutes.
    assert line.measure["scheduled_seconds"] == 22 * 600 * 60
    assert line.measure["downtime_seconds"] == 0
    assert line.met is True


def test_a_closed_day_entered_by_hand_removes_its_day():
    c, _office, _always, hours = e9_book()
    CalendarClosure.objects.create(calendar=hours, name="Move", day=date(2026, 11, 9))

    line = lines_by_service(
        settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).statement
    )["Office line"]

    # Monday 9 November is closed: 20 days, and its hour of downtime no longer counts.
    assert line.measure["scheduled_seconds"] == 20 * 600 * 60
    assert line.measure["downtime_seconds"] == 0


def test_only_samples_observed_inside_service_hours_count():
    c = contract(tz="Europe/Berlin")
    cs = service(c)
    level = objective(c, cs, key="on-time", indicator="ratio", target="99", rule=PER_STEP)
    with_calendar(level, calendar(c.provider))
    # Failures at night and on a Saturday, successes in service hours.
    samples(cs, "on-time", berlin(2026, 11, 3, 7, 59), oks=[False])
    samples(cs, "on-time", berlin(2026, 11, 3, 18), oks=[False])
    samples(cs, "on-time", berlin(2026, 11, 7, 12), oks=[False] * 5)
    samples(cs, "on-time", berlin(2026, 11, 3, 8), oks=[True] * 10, every=timedelta(hours=1))

    line = settle_period(
        contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER
    ).statement.lines.get()

    assert line.measure == {"ok": 10, "total": 10, "relieved_samples": 0}
    assert line.met is True
    assert "(10 of 10 samples in service hours ok)" in line.explanation


def test_a_changed_calendar_issues_a_new_revision():
    c, _office, _always, hours = e9_book()
    first = settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).statement
    assert settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).created is False

    hours.hours = [[["09:00", "17:00"]] for _ in range(5)] + [[], []]
    hours.save()
    again = settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER)

    assert again.created
    assert again.statement.revision == first.revision + 1
    office = lines_by_service(again.statement)["Office line"]
    assert office.measure["scheduled_seconds"] == 21 * 480 * 60


def test_the_batched_aggregates_equal_the_reference_with_calendars():
    book = varied_book(6)
    office = calendar(book[0].provider)
    night = calendar(
        book[1].provider,
        name="Nights",
        tz="America/New_York",
        hours=[[["00:00", "06:00"], ["22:00", "24:00"]] for _ in range(7)],
    )
    calendars = {book[0].provider_id: office, book[1].provider_id: night}
    for number, c in enumerate(book):
        cal = calendars.get(c.provider_id) or calendar(c.provider, tz=c.timezone)
        for level in ServiceLevel.objects.filter(contract=c, key__in=["on-time", "latency"]):
            # Half the objectives with a calendar, the other half around the clock.
            if (number + (level.key == "latency")) % 2 == 0:
                with_calendar(level, cal)
    plans = plan_jobs(jobs_of(book))
    attach_relief(plans)
    attach_calendars(plans)
    assert any(target.relief and target.hours for plan in plans for target in plan.targets)

    batched = sample_figures(plans)

    compared = with_hours = 0
    for p, plan in enumerate(plans):
        sampled = [t for t in plan.targets if t.objective.indicator != "uptime"]
        reference = _sample_aggregates(sampled, *plan.window)
        for t, target in enumerate(plan.targets):
            if target.objective.indicator == "uptime":
                continue
            expected = reference.get((target.contract_service.pk, target.objective.key), {})
            names = ["samples", "judged", "ok_count", "valued", "meeting", "relieved"]
            got = {name: batched[(p, t)].get(name) or 0 for name in names}
            assert got == {name: expected.get(name) or 0 for name in names}, (
                plan.job.contract.reference,
                target.objective.key,
            )
            compared += 1
            if target.hours is not None:
                with_hours += 1
                assert 0 < got["samples"] < 300
    assert compared == 6 * 2 * 3
    assert with_hours == 6 * 2


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_the_what_if_preview_follows_the_calendar_on_the_form():
    c, office, always, hours = e9_book()
    pages = SettlementOnContractPages()
    office_level = ServiceLevel.objects.get(contract=c, service=office.service)
    always_level = ServiceLevel.objects.get(contract=c, service=always.service)

    def preview(level):
        (row,) = pages.what_if(level, level.as_objective(), c, 1)
        return row.attainment

    assert preview(office_level) == "99.524 %"
    assert preview(always_level) == "99.167 %"
    # Picked or removed on the form, not saved.
    always_level.calendar = hours
    office_level.calendar = None
    assert preview(always_level) == "99.524 %"
    assert preview(office_level) == "99.167 %"
