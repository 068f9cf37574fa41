"""A ticket clock's deadline turns the period rule into comparisons of instants: for every
calendar, ticket, threshold and period it counts the ticket exactly as period_outcome does,
which is what lets the database count a period's tickets from an index."""

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    BusinessClock,
    Ticket,
    clock_deadline,
    period_outcome,
    ticket_fingerprint,
    tickets_digest,
)
from engine.calendars import ServiceCalendar
from tests.engine.test_business_time_properties import BASE, calendars, instants, stop_lists

PROPERTY = settings(max_examples=300, deadline=None)


@st.composite
def tickets(draw):
    opened = draw(instants)
    resolved = draw(st.one_of(st.none(), st.integers(opened, opened + 40 * 86_400)))
    responded = None
    if draw(st.booleans()):
        top = resolved if resolved is not None else opened + 10 * 86_400
        responded = draw(st.integers(opened, top))
    stops = [
        (max(start, opened - 86_400), end)
        for start, end in draw(stop_lists())
        if end is None or end >= max(start, opened - 86_400)
    ]
    return Ticket(
        "INC-1", "P1", opened, first_response_at=responded, resolved_at=resolved, stops=stops
    )


def counted_by_deadline(ticket, kind, deadline, start, end):
    """The deadline's rule (engine.clock_deadline): None, or whether the ticket was met."""
    done = ticket.done_at(kind)
    if done is not None and start <= done < end:
        if deadline is not None and deadline < start:
            return None
        return deadline is None or done <= deadline
    if (done is None or done >= end) and deadline is not None and start <= deadline < end:
        return False
    return None


@PROPERTY
@given(
    calendar=st.one_of(st.none(), calendars()),
    ticket=tickets(),
    limit=st.integers(0, 20 * 3600),
    kind=st.sampled_from(["response", "resolution"]),
    start=instants,
    length=st.integers(0, 40 * 86_400),
)
def test_the_deadline_counts_every_ticket_as_the_period_rule_does(
    calendar, ticket, limit, kind, start, length
):
    clock = BusinessClock(calendar, BASE, BASE + 86_400)
    end = start + length
    outcome = period_outcome(
        ticket, clock, period_start=start, period_end=end, limit_seconds=limit, kind=kind
    )
    deadline = clock_deadline(ticket, clock, limit, kind)
    expected = None if outcome is None else outcome.met
    assert counted_by_deadline(ticket, kind, deadline, start, end) == expected


@PROPERTY
@given(calendar=calendars(), ticket=tickets(), limit=st.integers(0, 20 * 3600))
def test_the_deadline_is_the_last_instant_within_the_threshold(calendar, ticket, limit):
    clock = BusinessClock(calendar, BASE, BASE + 86_400)
    deadline = clock_deadline(ticket, clock, limit)
    probe = Ticket(ticket.reference, ticket.priority, ticket.opened_at, stops=ticket.stops)
    done = ticket.done_at("resolution")
    if deadline is None:
        if done is not None:
            assert clock.business_seconds(ticket.opened_at, done, probe.stops) <= limit
        return
    assert deadline >= ticket._opened
    assert done is None or deadline < done
    reading = ticket_clock_at(probe, clock, deadline)
    assert reading <= limit < ticket_clock_at(probe, clock, deadline + 1)


def ticket_clock_at(ticket, clock, instant):
    from engine import ticket_clock

    return ticket_clock(ticket, clock, instant).business_seconds


def test_a_calendar_closed_for_years_never_passes_a_threshold():
    week = [[("09:00", "17:00")]] + [[] for _ in range(6)]
    closed = ServiceCalendar(
        "UTC", week, closed_intervals=[(BASE - 86_400, BASE + 12 * 366 * 86_400)]
    )
    clock = BusinessClock(closed, BASE, BASE + 86_400)
    assert clock_deadline(Ticket("INC-2", "P1", BASE), clock, 60) is None


def test_the_digest_is_the_same_in_any_order_and_changes_with_any_ticket():
    first = Ticket("INC-1", "P1", BASE, resolved_at=BASE + 600)
    second = Ticket("INC-2", "P1", BASE, resolved_at=BASE + 900, stops=[(BASE + 60, BASE + 120)])
    moved = Ticket("INC-2", "P1", BASE, resolved_at=BASE + 900, stops=[(BASE + 60, BASE + 180)])
    both = [ticket_fingerprint(first), ticket_fingerprint(second)]
    assert tickets_digest(both, "k") == tickets_digest(reversed(both), "k")
    assert tickets_digest(both, "k") != tickets_digest(both, "other clock")
    changed = [ticket_fingerprint(first), ticket_fingerprint(moved)]
    assert tickets_digest(both, "k") != tickets_digest(changed, "k")
    # A stop after the resolution changes nothing the clock reads.
    later = Ticket("INC-1", "P1", BASE, resolved_at=BASE + 600, stops=[(BASE + 600, None)])
    assert ticket_fingerprint(later) == ticket_fingerprint(first)
