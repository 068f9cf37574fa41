"""Settling ticket objectives: business-hour clocks that stop, the period a ticket counts in,
the per-ticket detail of a statement line, early warnings of single tickets, the clocks
kept at ingestion, and the queries of a batch (SPEC §6, E8)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contracts.models import (
    CalendarClosure,
    Responsibility,
    ServiceLevel,
    Ticket,
    TicketClockSet,
    TicketEvent,
)
from credits import notify
from credits.models import EarlyWarning, OpenPeriodProgress, StatementLine
from credits.selectors import line_tickets
from credits.settlement import (
    SettlementResult,
    compute_period,
    settle_period,
    settle_periods,
    ticket_clocks,
    warn_early,
)
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.credits.test_settlement_calendars import calendar, with_calendar
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    ResponsibilityLapseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
DECEMBER = date(2026, 12, 1)
AFTER_NOVEMBER = at(2026, 12, 5)
AFTER_DECEMBER = at(2027, 1, 5)
PER_STEP = {"kind": "per_step", "step": "5", "percent": "2"}
NINE_TO_FIVE = [[["09:00", "17:00"]] for _ in range(5)] + [[], []]


def berlin(*args: int):
    return at(*args, tz="Europe/Berlin")


def ticket_objective(
    c,
    cs,
    *,
    cal=None,
    indicator="resolution_time",
    key="resolution-p1",
    threshold="240",
    target="90",
    priority="P1",
):
    level = ServiceLevel(
        level="contract_service",
        provider=c.provider,
        contract=c,
        service=cs.service,
        key=key,
        name=key.replace("-", " ").capitalize(),
        indicator=indicator,
        comparator="gte",
        target=Decimal(target),
        threshold=Decimal(threshold),
        credit_rule=PER_STEP,
        priority=priority,
        calendar=cal,
    )
    level.full_clean()
    level.save()
    return level


def ticket(cs, reference, opened, resolved=None, *, responded=None, priority="P1", events=()):
    created = Ticket.objects.create(
        contract_service=cs,
        reference=reference,
        priority=priority,
        opened_at=opened,
        first_response_at=responded,
        resolved_at=resolved,
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=created, at=moment, status=status) for moment, status in events
    )
    return created


def desk(tz="Europe/Berlin", **calendar_fields):
    """A monthly service desk contract measured in Mon–Fri 09:00–17:00 of ``tz``."""
    c = contract(tz=tz, cap="100")
    cs = service(c, fee="3000.00", name="Service desk")
    cal = calendar(c.provider, tz=tz, hours=NINE_TO_FIVE, **calendar_fields)
    level = ticket_objective(c, cs, cal=cal)
    return c, cs, level


def e8_tickets(cs):
    ticket(cs, "INC-3", berlin(2026, 11, 6, 16), berlin(2026, 11, 9, 11))
    ticket(
        cs,
        "INC-5",
        berlin(2026, 11, 10, 10),
        berlin(2026, 11, 10, 16, 30),
        events=[
            (berlin(2026, 11, 10, 10), "open"),
            (berlin(2026, 11, 10, 11), "waiting_on_customer"),
            (berlin(2026, 11, 10, 14), "in_progress"),
            (berlin(2026, 11, 10, 16, 30), "resolved"),
        ],
    )
    ticket(cs, "INC-7", berlin(2026, 11, 11, 9), berlin(2026, 11, 11, 14, 30))
    # Another priority: not a P1 objective's ticket.
    ticket(cs, "INC-8", berlin(2026, 11, 12, 9), berlin(2026, 11, 13, 17), priority="P2")


def settle(c, start=NOVEMBER, now=AFTER_NOVEMBER):
    return settle_period(contract=c, period_start=start, now=now).statement


def detail(line) -> dict[str, tuple]:
    """The line's drill-down as an operator reads it: per ticket its business, stopped and
    wall-clock minutes, whether within, whether still open at the period's end."""
    read = line_tickets(UserFactory(is_staff=True), line.pk)
    assert not read.changed
    return {
        row.reference: (
            row.business_seconds // 60,
            row.stopped_seconds // 60,
            row.wall_seconds // 60,
            row.within,
            row.done_at is None,
        )
        for row in read.tickets
    }


# --------------------------------------------------------------------------- E8


def test_e8_two_of_three_p1_tickets_within_4_business_hours_breach_90():
    c, cs, _level = desk()
    e8_tickets(cs)

    line = settle(c).lines.get()

    assert line.indicator == "resolution_time"
    assert line.attainment.quantize(Decimal("0.001")) == Decimal("66.667")
    assert line.met is False
    # 23.333 points short: 5 started steps of 5 points, 2 % each, of 3,000.00 EUR.
    assert line.amount == Decimal("300.00")
    assert line.explanation == (
        "Resolution p1 (Service desk): 2 of 3 P1 tickets resolved within 4 business hours "
        "(66.667 %); worst: INC-7 330 business minutes; INC-5 210 (180 stopped); against a "
        "target of at least 90 %, 23.333 points short; 5 started steps of 5 at 2 % each = "
        "10 % of 3,000.00 EUR = 300.00 EUR."
    )
    assert line.measure["within"] == 2
    assert line.measure["total"] == 3
    assert line.measure["priority"] == "P1"
    assert detail(line) == {
        "INC-3": (180, 0, 67 * 60, True, False),
        "INC-5": (210, 180, 390, True, False),
        "INC-7": (330, 0, 330, False, False),
    }


def test_the_drill_down_lists_every_ticket_breached_first_and_outsiders_see_nothing():
    c, cs, _level = desk()
    e8_tickets(cs)
    line = settle(c).lines.get()
    provider_user, customer_user, stranger = UserFactory(), UserFactory(), UserFactory()
    MembershipFactory(user=provider_user, organization=c.provider)
    MembershipFactory(user=customer_user, organization=c.customer)
    MembershipFactory(user=stranger, organization=CustomerFactory())

    for user in (provider_user, customer_user):
        read = line_tickets(user, line.pk)
        assert read.line == line
        assert [row.reference for row in read.tickets] == ["INC-7", "INC-5", "INC-3"]
        assert not read.changed
    for outsider in (stranger, None):
        with pytest.raises(StatementLine.DoesNotExist):
            line_tickets(outsider, line.pk)


def test_a_ticket_changed_after_the_statement_was_issued_shows_in_its_drill_down():
    c, cs, _level = desk()
    e8_tickets(cs)
    line = settle(c).lines.get()
    operator = UserFactory(is_staff=True)
    assert not line_tickets(operator, line.pk).changed

    Ticket.objects.filter(reference="INC-7").delete()

    read = line_tickets(operator, line.pk)
    assert read.changed
    assert [row.reference for row in read.tickets] == ["INC-5", "INC-3"]
    line.refresh_from_db()
    assert (line.measure["within"], line.measure["total"]) == (2, 3)


def test_settling_again_with_nothing_changed_returns_the_same_statement_and_a_new_event_does_not():
    c, cs, _level = desk()
    e8_tickets(cs)
    first = settle(c)
    assert not settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER).created

    # INC-3 waited on the customer for its first hour: the counts stay, its clock changes.
    inc3 = Ticket.objects.get(reference="INC-3")
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket=inc3, at=berlin(2026, 11, 6, 16), status="waiting_on_customer"),
            TicketEvent(ticket=inc3, at=berlin(2026, 11, 9, 9), status="in_progress"),
        ]
    )
    again = settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER)

    assert again.created
    assert again.statement.revision == first.revision + 1
    assert detail(again.statement.lines.get())["INC-3"][:2] == (120, 60)
    # The first revision counted other clocks: its drill-down says so.
    assert line_tickets(UserFactory(is_staff=True), first.lines.get().pk).changed


def test_no_tickets_is_no_data():
    c, _cs, _level = desk()

    line = settle(c).lines.get()

    assert line.attainment is None
    assert line.met is None
    assert line.explanation == "No P1 tickets resolved in this period: no data, no credit."
    assert not line.tickets.exists()


# --------------------------------------------------------------------------- periods


def test_a_ticket_resolved_after_the_period_ends_counts_in_the_next_one():
    c, cs, _level = desk()
    # Mon 30 Nov 16:00 → Tue 1 Dec 10:00: 60 + 60 business minutes.
    ticket(cs, "INC-9", berlin(2026, 11, 30, 16), berlin(2026, 12, 1, 10))

    november = settle(c).lines.get()
    december = settle(c, DECEMBER, AFTER_DECEMBER).lines.get()

    assert november.attainment is None
    assert detail(december) == {"INC-9": (120, 0, 18 * 60, True, False)}


def test_a_ticket_never_resolved_is_breached_once_in_the_first_period_past_its_threshold():
    c, cs, _level = desk()
    # Open since Mon 30 Nov 15:00: 120 business minutes at the end of November.
    ticket(cs, "INC-10", berlin(2026, 11, 30, 15))
    # Open since Mon 2 Nov: far over 4 business hours by the end of November.
    ticket(cs, "INC-11", berlin(2026, 11, 2, 9))

    november = settle(c).lines.get()
    december = settle(c, DECEMBER, AFTER_DECEMBER).lines.get()
    january = settle(c, date(2027, 1, 1), at(2027, 2, 5)).lines.get()

    # 21 weekdays of 480 minutes; INC-10 is within its threshold still and not counted.
    assert detail(november) == {"INC-11": (21 * 480, 0, 28 * 24 * 60 + 15 * 60, False, True)}
    assert "INC-11 10,080 business minutes (still open)" in november.explanation
    # INC-10 passes its threshold on 1 December; INC-11 counted already.
    assert list(detail(december)) == ["INC-10"]
    assert detail(december)["INC-10"][3:] == (False, True)
    assert january.attainment is None


def test_a_reopened_ticket_does_not_count_the_time_it_stood_resolved():
    c, cs, _level = desk()
    ticket(
        cs,
        "INC-12",
        berlin(2026, 11, 10, 9),
        berlin(2026, 11, 11, 10),
        events=[
            (berlin(2026, 11, 10, 9), "open"),
            (berlin(2026, 11, 10, 10), "resolved"),
            (berlin(2026, 11, 11, 9), "reopened"),
            (berlin(2026, 11, 11, 10), "resolved"),
        ],
    )

    line = settle(c).lines.get()

    # Open 09:00–10:00 on both days; resolved from Tuesday 10:00 to Wednesday 09:00.
    assert detail(line) == {"INC-12": (120, 420, 25 * 60, True, False)}


def test_a_public_holiday_inside_a_ticket_stops_its_clock():
    c, cs, _level = desk(holiday_country="DE", holiday_subdivision="BE")
    # Thu 24 Dec 16:00 → Mon 28 Dec 11:00: Christmas Day (Fri) is a holiday in Berlin.
    ticket(cs, "INC-13", berlin(2026, 12, 24, 16), berlin(2026, 12, 28, 11))

    line = settle(c, DECEMBER, AFTER_DECEMBER).lines.get()

    assert detail(line)["INC-13"][:2] == (60 + 120, 0)
    assert line.met is True


def test_a_closed_day_entered_by_hand_stops_the_clock_too():
    c, cs, level = desk()
    CalendarClosure.objects.create(calendar=level.calendar, name="Offsite", day=date(2026, 11, 11))
    e8_tickets(cs)

    line = settle(c).lines.get()

    # INC-7 was opened and resolved on the closed Wednesday.
    assert detail(line)["INC-7"][:2] == (0, 0)
    assert line.attainment == 100


@pytest.mark.parametrize(
    ("tz", "opened", "resolved", "period"),
    [
        # Europe's clocks went back on Sunday 25 October 2026.
        ("Europe/Berlin", (2026, 10, 23, 16), (2026, 10, 26, 10), date(2026, 10, 1)),
        # New York's on Sunday 1 November 2026.
        ("America/New_York", (2026, 10, 30, 16), (2026, 11, 2, 10), NOVEMBER),
    ],
)
def test_a_ticket_across_the_autumn_clock_change_keeps_its_local_business_hours(
    tz, opened, resolved, period
):
    c, cs, _level = desk(tz)
    ticket(cs, "INC-14", at(*opened, tz=tz), at(*resolved, tz=tz))

    line = settle(c, period, AFTER_NOVEMBER).lines.get()

    # Friday 16:00–17:00 and Monday 09:00–10:00; the weekend had a 25-hour day.
    assert detail(line)["INC-14"] == (120, 0, 67 * 60, True, False)


def test_a_lapse_of_a_linked_responsibility_stops_the_clock():
    c, cs, level = desk()
    e8_tickets(cs)
    responsibility = Responsibility.objects.create(contract=c, title="Answer our questions")
    responsibility.service_levels.add(level)
    ResponsibilityLapseFactory(
        responsibility=responsibility, start=berlin(2026, 11, 11, 10), end=berlin(2026, 11, 11, 12)
    )

    line = settle(c).lines.get()

    assert detail(line)["INC-7"][:2] == (210, 120)
    assert line.met is True


def test_a_response_objective_reads_the_first_response_or_else_the_resolution():
    c, cs, level = desk()
    ticket_objective(
        c, cs, cal=level.calendar, indicator="response_time", key="response-p1", threshold="15"
    )
    # Fri 16:50 → Mon 09:10: 10 + 10 business minutes.
    ticket(cs, "INC-15", berlin(2026, 11, 6, 16, 50), responded=berlin(2026, 11, 9, 9, 10))
    # Resolved at once, without a recorded response: answered by its resolution.
    ticket(cs, "INC-16", berlin(2026, 11, 10, 9), berlin(2026, 11, 10, 9, 5))

    line = settle(c).lines.get(key="response-p1")

    assert detail(line) == {
        "INC-15": (20, 0, 2 * 24 * 60 + 16 * 60 + 20, False, False),
        "INC-16": (5, 0, 5, True, False),
    }
    assert line.explanation.startswith(
        "Response p1 (Service desk): 1 of 2 P1 tickets answered within 15 business minutes"
    )


# --------------------------------------------------------------------------- early warning


@pytest.fixture
def warned(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(notify, "early_warnings", lambda *, warning_ids: calls.extend(warning_ids))
    return calls


def test_an_open_ticket_about_to_pass_its_threshold_warns_the_provider_once(
    warned, django_capture_on_commit_callbacks
):
    c, cs, _level = desk()
    e8_tickets(cs)
    urgent = ticket(cs, "INC-20", berlin(2026, 11, 12, 9))
    ticket(cs, "INC-21", berlin(2026, 11, 12, 11))  # 100 minutes in: not yet

    with django_capture_on_commit_callbacks(execute=True):
        created = warn_early(contract=c, now=berlin(2026, 11, 12, 12, 40))
    with django_capture_on_commit_callbacks(execute=True):
        again = warn_early(contract=c, now=berlin(2026, 11, 12, 12, 55))

    assert [w.ticket_id for w in created] == [urgent.pk]
    assert again == []
    warning = EarlyWarning.objects.get(ticket=urgent)
    assert warning.state == "at_risk"
    assert warning.key == "resolution-p1"
    # With INC-20 breached: 2 of 4 within, 40 points short, 8 steps of 2 % of 3,000.00.
    assert warning.projected_credit_percent == Decimal(16)
    assert warning.projected_amount == Decimal("480.00")
    assert "ticket INC-20 passes 4 business hours in 20 business minutes" in warning.message
    assert warned == [warning.pk]


def test_a_ticket_already_past_its_threshold_warns_as_breached_and_progress_shows_tickets(warned):
    c, cs, _level = desk()
    e8_tickets(cs)
    ticket(cs, "INC-22", berlin(2026, 11, 12, 9))

    warn_early(contract=c, now=berlin(2026, 11, 13, 12))

    warning = EarlyWarning.objects.get(ticket__reference="INC-22")
    assert warning.state == "breached"
    progress = OpenPeriodProgress.objects.get(key="resolution-p1")
    assert progress.indicator == "resolution_time"
    # INC-22 counts already: 2 of 4 within.
    assert progress.attainment == Decimal(50)


# --------------------------------------------------------------------------- queries


def ticket_book(contracts: int, tickets_each: int, *, lapses: bool = True) -> list:
    book = []
    for number in range(contracts):
        c, cs, level = desk()
        # A sampled objective in service hours beside the tickets.
        sampled = objective(c, cs, key="on-time", indicator="ratio", target="99")
        with_calendar(sampled, level.calendar)
        ratio(cs, "on-time", berlin(2026, 11, 2, 9), 40, 50, every=timedelta(hours=3))
        if lapses:
            responsibility = Responsibility.objects.create(contract=c, title="Reply")
            responsibility.service_levels.add(level)
            ResponsibilityLapseFactory(
                responsibility=responsibility,
                start=berlin(2026, 11, 3, 9),
                end=berlin(2026, 11, 3, 12),
            )
        for n in range(tickets_each):
            opened = berlin(2026, 11, 2, 9) + timedelta(hours=5 * n)
            ticket(
                cs,
                f"T-{number}-{n}",
                opened,
                opened + timedelta(hours=3 + n % 5),
                events=[
                    (opened, "open"),
                    (opened + timedelta(hours=1), "waiting_on_customer"),
                    (opened + timedelta(hours=2), "in_progress"),
                ],
            )
        book.append(c)
    return book


def queries_to_settle(contracts, month=NOVEMBER, now=AFTER_NOVEMBER) -> int:
    with CaptureQueriesContext(connection) as captured:
        outcomes = settle_periods([(c.pk, month) for c in contracts], now=now, announce=False)
    assert all(isinstance(o, SettlementResult) and o.created for o in outcomes)
    return len(captured.captured_queries)


def test_a_batch_with_calendars_and_tickets_costs_the_same_queries_whatever_its_size(
    django_assert_max_num_queries,
):
    small, large = ticket_book(2, 3), ticket_book(5, 40)

    # Savepoint, lock, latest revisions, the terms in force, the accepted disputes,
    # the accepted claims,
    # objectives (2), lapses; for the kept clocks the lapses linked to ticket objectives
    # and each service's oldest open ticket (a lapse stops these clocks: the reference
    # measures them); the reference's tickets, their events, the linked lapses, calendars,
    # their closures; samples (in service hours), savepoint, statements, release, release.
    # The COPY of the lines goes round Django's cursor and is not counted here.
    with django_assert_max_num_queries(21):
        assert queries_to_settle(small) == 21
    assert queries_to_settle(large) == 21


def test_kept_clocks_cost_the_same_queries_whatever_the_number_of_tickets(
    django_assert_max_num_queries,
):
    small, large = ticket_book(2, 3, lapses=False), ticket_book(5, 40, lapses=False)
    # The first settlement builds each service's clocks; later ones only read them.
    queries_to_settle(small)
    queries_to_settle(large)
    assert TicketClockSet.objects.count() == 2 + 5

    # Savepoint, lock, latest revisions, the terms in force, the accepted disputes,
    # the accepted claims,
    # objectives (2), lapses, the lapses linked to ticket objectives; calendars and
    # closures of the kept clocks, which sets are built, the counts, the worst tickets
    # done, calendars and closures again (for the sentences); samples, savepoint,
    # statements, release, release.
    with django_assert_max_num_queries(22):
        assert queries_to_settle(small, DECEMBER, AFTER_DECEMBER) == 22
    assert queries_to_settle(large, DECEMBER, AFTER_DECEMBER) == 22


# --------------------------------------------------------------------------- in the database

OCTOBER = date(2026, 10, 1)
AFTER_DECEMBER_SETTLED = at(2027, 1, 10)
BERLIN_HOLIDAYS = {"holiday_country": "DE", "holiday_subdivision": "BE"}


def varied_ticket_desk(rng: random.Random, tz: str, name: str, holidays: dict) -> object:
    """A desk in ``tz`` with ticket objectives of every kind: resolution and response of
    P1 in service hours, P2 resolution in service hours, all priorities around the clock;
    a lapse of a responsibility linked to two of them, and tickets from mid-October to the
    new year, some waiting, reopened, answered, never resolved, on period boundaries."""
    c = contract(tz=tz, cap="100")
    cs = service(c, fee="3000.00", name=name)
    cal = calendar(c.provider, tz=tz, hours=NINE_TO_FIVE, **holidays)
    p1 = ticket_objective(c, cs, cal=cal)
    ticket_objective(c, cs, cal=cal, indicator="response_time", key="response-p1", threshold="30")
    ticket_objective(c, cs, cal=cal, key="resolution-p2", threshold="480", priority="P2")
    around = ticket_objective(c, cs, key="resolution-all", threshold="1440", priority="")
    responsibility = Responsibility.objects.create(contract=c, title="Answer our questions")
    responsibility.service_levels.add(p1, around)
    for day in (5, 12, 19, 26):
        start = at(2026, 11, day, 10, tz=tz)
        ResponsibilityLapseFactory(
            responsibility=responsibility, start=start, end=start + timedelta(hours=26)
        )
    local = ZoneInfo(tz)
    first = datetime(2026, 10, 15, tzinfo=local)
    span = (datetime(2027, 1, 5, tzinfo=local) - first).total_seconds()
    for n in range(90):
        opened = first + timedelta(seconds=rng.randrange(int(span)))
        if n % 7 == 0:
            opened = opened.replace(microsecond=rng.randrange(1, 1_000_000))
        duration = timedelta(minutes=rng.choice([5, 40, 200, 300, 900, 3000, 9000]))
        resolved = None if n % 6 == 0 else opened + duration
        responded = None
        if resolved is not None and n % 3 == 0:
            responded = opened + (resolved - opened) * rng.random()
        elif resolved is None and n % 4 == 0:
            responded = opened + timedelta(minutes=rng.randrange(1, 90))
        events = [(opened, "open")]
        if n % 2 == 0:
            waiting = opened + timedelta(minutes=rng.randrange(1, 600))
            events.append((waiting, "waiting_on_customer"))
            if n % 10 != 0:  # else still waiting
                events.append((waiting + timedelta(minutes=rng.randrange(30, 3000)), "in_progress"))
        if resolved is not None and n % 5 == 1:
            middle = opened + (resolved - opened) / 3
            events += [(middle, "resolved"), (middle + (resolved - opened) / 3, "reopened")]
        if resolved is not None:
            events.append((resolved, "resolved"))
        events.sort(key=lambda event: event[0])
        ticket(
            cs,
            f"T-{n:03}",
            opened,
            resolved,
            responded=responded,
            priority="P1" if n % 3 else "P2",
            events=events,
        )
    # On the boundaries: resolved exactly at the end of November, opened exactly at the
    # start of December, open long before October and far over every threshold.
    ticket(cs, "B-1", at(2026, 11, 30, 10, tz=tz), at(2026, 12, 1, tz=tz))
    ticket(cs, "B-2", at(2026, 12, 1, tz=tz), at(2026, 12, 2, 10, tz=tz), priority="P2")
    ticket(cs, "B-3", at(2026, 9, 1, 9, tz=tz))
    ticket(cs, "B-4", at(2026, 10, 30, 16, 59, tz=tz), responded=at(2026, 11, 2, 9, tz=tz))
    return c


def settled_figures(statement) -> tuple:
    lines = []
    for line in statement.lines.order_by("contract_service_id", "key"):
        rows = sorted(
            (
                row.reference,
                row.priority,
                row.opened_at,
                row.done_at,
                row.business_seconds,
                row.stopped_seconds,
                row.wall_seconds,
                row.within,
            )
            for row in line_tickets(UserFactory(is_staff=True), line.pk).tickets
        )
        lines.append(
            (line.key, line.attainment, line.met, line.amount, line.explanation, line.measure, rows)
        )
    return statement.fingerprint, statement.credit_total, lines


def test_the_kept_clocks_count_tickets_exactly_as_the_python_reference(monkeypatch):
    rng = random.Random(14)
    book = [
        varied_ticket_desk(
            rng,
            "Europe/Berlin",
            "Berlin desk",
            {"holiday_country": "DE", "holiday_subdivision": "BE"},
        ),
        varied_ticket_desk(rng, "America/New_York", "New York desk", {"holiday_country": "US"}),
    ]
    pairs = [(c.pk, month) for c in book for month in (OCTOBER, NOVEMBER, DECEMBER)]

    def settled() -> list[tuple]:
        with transaction.atomic():
            outcomes = settle_periods(pairs, now=AFTER_DECEMBER_SETTLED, announce=False)
            figures = [settled_figures(outcome.statement) for outcome in outcomes]
            transaction.set_rollback(True)
        return figures

    with monkeypatch.context() as reference_path:
        reference_path.setattr(ticket_clocks, "_eligible", lambda plans: [])
        reference = settled()
    eligible = ticket_clocks._eligible
    kept = []
    monkeypatch.setattr(
        ticket_clocks, "_eligible", lambda plans: kept.append(eligible(plans)) or kept[-1]
    )
    fast = settled()

    # Of 24 ticket objectives (2 desks, 3 months, 4 objectives) those whose linked
    # responsibilities lapsed in November or later are the reference's in both runs.
    assert 6 <= len(kept[0]) < 2 * 3 * 4
    assert TicketClockSet.objects.count() == 0  # rolled back with the settlement
    for expected, got in zip(reference, fast, strict=True):
        assert got[2] == expected[2]
        assert got == expected
    rows = [row for figures in fast for line in figures[2] for row in line[6]]
    assert len(rows) > 150
    assert any(row[3] is None for row in rows)  # counted while still open
    assert any(row[5] for row in rows)  # stopped time
    assert any(not row[7] for row in rows) and any(row[7] for row in rows)
    assert any(row[2].microsecond for row in rows)


def test_a_preview_counts_from_kept_clocks_once_a_settlement_built_them():
    c, cs, _level = desk()
    e8_tickets(cs)

    before = compute_period(contract=c, period_start=NOVEMBER)
    settle(c)
    after = compute_period(contract=c, period_start=NOVEMBER)

    (by_reference,) = before.lines
    (kept,) = after.lines
    assert not isinstance(by_reference.measure, ticket_clocks.CountedTickets)
    assert isinstance(kept.measure, ticket_clocks.CountedTickets)
    assert (kept.measure.within, kept.measure.total) == (2, 3)
    assert "worst: INC-7 330 business minutes; INC-5 210 (180 stopped)" in kept.explanation
    assert kept.explanation == by_reference.explanation
    assert after.fingerprint == before.fingerprint
