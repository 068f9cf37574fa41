"""Properties of business time that must hold for every calendar, interval and stop."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    ALWAYS,
    BusinessClock,
    ServiceCalendar,
    Ticket,
    measure_tickets,
    service_intervals,
    ticket_clock,
    to_epoch_seconds,
)

PROPERTY = settings(max_examples=100, deadline=None)

# Zones with both DST changes in the range, a half-hour change, and none at all.
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
BASE = to_epoch_seconds(datetime(2026, 1, 1, tzinfo=UTC))
SPAN = 400 * 86_400
MINUTE = 60

instants = st.integers(min_value=BASE - 30 * 86_400, max_value=BASE + SPAN)


@st.composite
def day_hours(draw):
    """A day's hours on whole hours: sorted, disjoint, possibly touching, possibly none."""
    marks = sorted(draw(st.sets(st.integers(min_value=0, max_value=24), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]
    return [
        (f"{start:02d}:00", f"{end:02d}:00")
        for start, end in zip(marks[::2], marks[1::2], strict=True)
    ]


@st.composite
def calendars(draw, closures=True):
    week = [draw(day_hours()) for _ in range(7)]
    if not any(week):
        week[draw(st.integers(0, 6))] = [("09:00", "17:00")]
    closed_days = []
    closed_intervals = []
    if closures:
        closed_days = draw(
            st.lists(st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 2, 1)), max_size=8)
        )
        for start in draw(st.lists(instants, max_size=3)):
            start -= start % MINUTE
            closed_intervals.append((start, start + draw(st.integers(0, 3 * 86_400 // 60)) * 60))
    return ServiceCalendar(
        draw(st.sampled_from(ZONES)),
        week,
        closed_days=closed_days,
        closed_intervals=closed_intervals,
    )


@st.composite
def windows(draw, max_length=SPAN):
    start = draw(instants)
    return start, start + draw(st.integers(min_value=0, max_value=max_length))


@st.composite
def stop_lists(draw):
    stops = []
    for start in draw(st.lists(instants, max_size=5)):
        end = None if draw(st.booleans()) and not stops else start + draw(st.integers(0, 864_000))
        stops.append((start, end))
    return stops


def in_service_by_reading(calendar: ServiceCalendar, minute: int) -> bool:
    """The calendar asked the slow way: what does the local clock read at this minute?"""
    local = datetime.fromtimestamp(minute, ZoneInfo(calendar.timezone))
    if calendar.is_closed(local.date()):
        return False
    if any(start <= minute < end for start, end in calendar.closed_intervals):
        return False
    reading = local.hour * 3600 + local.minute * 60
    return any(start <= reading < end for start, end in calendar.hours[local.weekday()])


@PROPERTY
@given(calendars(), windows(max_length=5 * 86_400))
def test_business_time_is_what_the_local_clock_reads_minute_by_minute(calendar, window):
    start, end = (instant - instant % MINUTE for instant in window)
    expected = MINUTE * sum(
        in_service_by_reading(calendar, minute) for minute in range(start, end, MINUTE)
    )
    spans = service_intervals(calendar, start, end)
    assert sum(last - first for first, last in spans) == expected
    assert BusinessClock(calendar, BASE, BASE + 86_400).business_seconds(start, end) == expected


@PROPERTY
@given(calendars(), windows(), stop_lists())
def test_business_time_never_exceeds_wall_time_nor_goes_negative(calendar, window, stops):
    start, end = window
    clock = BusinessClock(calendar, start, end)
    business = clock.business_seconds(start, end)
    assert 0 <= business <= end - start
    assert 0 <= clock.business_seconds(start, end, stops) <= business


@PROPERTY
@given(st.sampled_from(ZONES), windows(max_length=60 * 86_400), stop_lists())
def test_round_the_clock_gives_wall_time(zone, window, stops):
    start, end = window
    every_hour = ServiceCalendar(zone, [[("00:00", "24:00")]] * 7, closed_days=[date(2000, 1, 1)])
    for calendar in (None, ALWAYS, every_hour):
        clock = BusinessClock(calendar, BASE, BASE + 86_400)
        assert clock.business_seconds(start, end) == end - start
    wall_stopped = BusinessClock(None, 0, 1).stopped_seconds(start, end, stops)
    assert BusinessClock(every_hour, 0, 1).stopped_seconds(start, end, stops) == wall_stopped


@PROPERTY
@given(calendars(), windows(), st.integers(0, SPAN), stop_lists())
def test_splitting_an_interval_anywhere_and_adding_the_parts_gives_the_whole(
    calendar, window, cut, stops
):
    start, end = window
    middle = start + cut % (end - start + 1)
    clock = BusinessClock(calendar, BASE, BASE + 86_400)
    whole = clock.business_seconds(start, end, stops)
    assert (
        clock.business_seconds(start, middle, stops) + clock.business_seconds(middle, end, stops)
        == whole
    )


@PROPERTY
@given(calendars(), windows(), st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 2, 1)))
def test_adding_a_holiday_never_increases_business_time(calendar, window, holiday):
    start, end = window
    with_holiday = ServiceCalendar(
        calendar.timezone,
        calendar.hours,
        closed_days=(*calendar.closed_days, holiday),
        closed_intervals=calendar.closed_intervals,
    )
    before = BusinessClock(calendar, start, end).business_seconds(start, end)
    after = BusinessClock(with_holiday, start, end).business_seconds(start, end)
    assert after <= before


@PROPERTY
@given(calendars(), windows(), stop_lists(), st.randoms(use_true_random=False))
def test_overlapping_stops_count_once(calendar, window, stops, random):
    start, end = window
    clock = BusinessClock(calendar, start, end)
    once = clock.business_seconds(start, end, stops)
    twice = stops + stops
    random.shuffle(twice)
    assert clock.business_seconds(start, end, twice) == once
    # One stop covering two that overlap stops exactly as much as the two.
    closed = [(first, last) for first, last in stops if last is not None]
    if len(closed) >= 2:
        (a, b), (c, d) = closed[:2]
        if max(a, c) <= min(b, d):
            merged = [(min(a, c), max(b, d))]
            assert clock.stopped_seconds(start, end, merged) == clock.stopped_seconds(
                start, end, closed[:2]
            )


@PROPERTY
@given(calendars(), windows(), windows())
def test_the_answer_does_not_depend_on_the_horizon_the_clock_was_built_for(
    calendar, window, horizon
):
    start, end = window
    narrow = BusinessClock(calendar, *horizon)
    wide = BusinessClock(calendar, BASE - 60 * 86_400, BASE + SPAN + 60 * 86_400)
    assert narrow.business_seconds(start, end) == wide.business_seconds(start, end)
    assert narrow.seconds_until(end) - narrow.seconds_until(start) == (
        wide.business_seconds(start, end)
    )


# --------------------------------------------------------------------------- tickets


@st.composite
def tickets(draw):
    opened = draw(instants)
    resolved = None if draw(st.booleans()) else opened + draw(st.integers(0, 30 * 86_400))
    stops = [
        (start, None if end is None else max(start, end))
        for start, end in draw(stop_lists())
        if start >= opened
    ]
    return Ticket("INC-1", "P1", opened, resolved_at=resolved, stops=tuple(stops))


@PROPERTY
@given(calendars(closures=False), tickets(), st.integers(0, 40 * 86_400), st.integers(0, 86_400))
def test_a_running_clock_never_runs_backwards(calendar, ticket, later, step):
    clock = BusinessClock(calendar, BASE, BASE + 86_400)
    first = ticket_clock(ticket, clock, until=ticket.opened_at + later)
    second = ticket_clock(ticket, clock, until=ticket.opened_at + later + step)
    assert first.business_seconds <= second.business_seconds
    assert first.business_seconds + first.stopped_seconds <= first.wall_seconds


@PROPERTY
@given(calendars(closures=False), tickets(), st.integers(0, 2_000))
def test_a_ticket_counts_at_most_once_and_a_resolved_one_exactly_once(calendar, ticket, limit):
    clock = BusinessClock(calendar, BASE, BASE + 86_400)
    monday = datetime(2025, 11, 24, tzinfo=ZoneInfo(calendar.timezone))
    counted = []
    for week in range(75):  # weekly periods covering every instant a ticket can reach
        start = monday + timedelta(weeks=week)
        measure = measure_tickets(
            [ticket],
            clock,
            period_start=start,
            period_end=start + timedelta(weeks=1),
            threshold_minutes=limit,
        )
        counted += [(week, outcome) for outcome in measure.outcomes]
    assert len(counted) <= 1
    if ticket.resolved_at is not None:
        assert len(counted) == 1
        final = ticket_clock(ticket, clock)
        ((_, outcome),) = counted
        if outcome.clock.running:  # counted before it was resolved: breached there
            assert not outcome.met and final.business_seconds > limit * 60
        else:
            assert outcome.met == (final.business_seconds <= limit * 60)
