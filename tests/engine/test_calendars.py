"""Service calendars: service hours in a timezone, DST days, closures, and the business clock."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine import (
    ALWAYS,
    BusinessClock,
    ClosedDay,
    ParameterError,
    ServiceCalendar,
    describe_calendar,
    service_intervals,
    to_epoch_seconds,
    uptime_attainment,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_8_TO_18 = {day: [("08:00", "18:00")] for day in range(5)}
ROUND_THE_CLOCK = {day: [("00:00", "24:00")] for day in range(7)}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def minutes(spans: list[tuple[int, int]]) -> int:
    total = sum(end - start for start, end in spans)
    assert total % 60 == 0
    return total // 60


def day_hours(calendar: ServiceCalendar, day: date, zone: ZoneInfo) -> float:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return minutes(service_intervals(calendar, start, end)) / 60


# --------------------------------------------------------------------------- E9


def test_e9_november_2026_has_12600_scheduled_minutes_in_berlin_business_hours():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18)
    spans = service_intervals(calendar, berlin(2026, 11, 1), berlin(2026, 12, 1))
    assert len(spans) == 21
    assert minutes(spans) == 12_600


def test_e9_incidents_count_only_inside_service_hours():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18)
    start, end = berlin(2026, 11, 1), berlin(2026, 12, 1)
    incidents = [
        (berlin(2026, 11, 7, 10), berlin(2026, 11, 7, 14)),  # Saturday: outside hours
        (berlin(2026, 11, 9, 17), berlin(2026, 11, 9, 19)),  # Monday: 60 min inside
    ]
    with_calendar = uptime_attainment(
        start, end, service_intervals(calendar, start, end), [], incidents
    )
    assert with_calendar.scheduled_seconds == 12_600 * 60
    assert with_calendar.downtime_seconds == 60 * 60
    assert f"{float(with_calendar.attainment):.3f}" == "99.524"
    assert with_calendar.attainment >= 99.5
    without = uptime_attainment(start, end, None, [], incidents)
    assert (without.scheduled_seconds, without.downtime_seconds) == (43_200 * 60, 360 * 60)
    assert f"{float(without.attainment):.3f}" == "99.167"


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, date(2026, 3, 28), 24),
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 3, 30), 24),
        (BERLIN, date(2026, 10, 25), 25),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
        (NEW_YORK, date(2026, 11, 2), 24),
    ],
)
def test_a_round_the_clock_day_has_the_hours_its_local_clock_shows(zone, day, hours):
    calendar = ServiceCalendar(zone.key, ROUND_THE_CLOCK, closed_days=[date(2000, 1, 1)])
    assert not calendar.is_always
    assert day_hours(calendar, day, zone) == hours


@pytest.mark.parametrize(
    ("zone", "monday"),
    [
        (BERLIN, date(2026, 3, 23)),
        (BERLIN, date(2026, 3, 30)),
        (BERLIN, date(2026, 10, 19)),
        (BERLIN, date(2026, 10, 26)),
        (NEW_YORK, date(2026, 3, 2)),
        (NEW_YORK, date(2026, 3, 9)),
        (NEW_YORK, date(2026, 10, 26)),
        (NEW_YORK, date(2026, 11, 2)),
    ],
)
def test_business_hours_keep_their_length_in_dst_weeks(zone, monday):
    calendar = ServiceCalendar(zone.key, {day: [("08:00", "18:00")] for day in range(7)})
    for offset in range(7):
        assert day_hours(calendar, monday + timedelta(days=offset), zone) == 10
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    spans = service_intervals(calendar, start, start + timedelta(days=8))
    assert datetime.fromtimestamp(spans[0][0], zone).hour == 8


def test_the_spring_and_autumn_sundays_keep_business_hours_at_their_local_times():
    calendar = ServiceCalendar("Europe/Berlin", {6: [("08:00", "18:00")]})
    for sunday in (date(2026, 3, 29), date(2026, 10, 25)):
        (span,) = service_intervals(
            calendar, berlin(*sunday.timetuple()[:3]), berlin(2026, 12, 31)
        )[:1]
        opens, closes = (datetime.fromtimestamp(s, BERLIN) for s in span)
        assert (opens.date(), opens.hour, closes.hour) == (sunday, 8, 18)
        assert span[1] - span[0] == 10 * 3600


def test_a_local_time_in_the_spring_gap_maps_forward_to_the_moment_the_clock_jumps():
    calendar = ServiceCalendar("Europe/Berlin", {6: [("02:30", "03:30")]})
    (span,) = service_intervals(calendar, berlin(2026, 3, 29), berlin(2026, 3, 30))
    assert span == (to_epoch_seconds(datetime(2026, 3, 29, 1, tzinfo=UTC)), span[0] + 30 * 60)


def test_an_ambiguous_autumn_time_is_its_first_occurrence():
    calendar = ServiceCalendar("Europe/Berlin", {6: [("02:30", "03:30")]})
    (span,) = service_intervals(calendar, berlin(2026, 10, 25), berlin(2026, 10, 26))
    # 02:30 CEST (00:30 UTC) to 03:30 CET (02:30 UTC): the repeated hour lies inside.
    assert span == (
        to_epoch_seconds(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        to_epoch_seconds(datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
    )


# --------------------------------------------------------------------------- closures


def test_closed_days_and_closed_intervals_are_not_service_time():
    calendar = ServiceCalendar(
        "Europe/Berlin",
        WEEKDAYS_8_TO_18,
        closed_days={date(2026, 12, 24): "Christmas Eve", date(2026, 12, 25): "Christmas Day"},
        closed_intervals=[(berlin(2026, 12, 23, 14), berlin(2026, 12, 23, 16))],
    )
    spans = service_intervals(calendar, berlin(2026, 12, 21), berlin(2026, 12, 28))
    # Mon, Tue full; Wed less 2 h; Thu and Fri closed.
    assert minutes(spans) == (10 + 10 + 8) * 60
    assert calendar.is_closed(date(2026, 12, 24))
    assert calendar.closed_days[0] == ClosedDay(date(2026, 12, 24), "Christmas Eve")


def test_a_day_closed_twice_is_closed_once_under_both_names():
    calendar = ServiceCalendar(
        "Europe/Berlin",
        WEEKDAYS_8_TO_18,
        closed_days=[ClosedDay(date(2026, 5, 1), "Labour Day"), (date(2026, 5, 1), "Office party")],
    )
    assert calendar.closed_days == (ClosedDay(date(2026, 5, 1), "Labour Day / Office party"),)


def test_spans_are_clipped_to_the_window():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18)
    spans = service_intervals(calendar, berlin(2026, 11, 9, 17), berlin(2026, 11, 10, 9))
    assert minutes(spans) == 120
    assert service_intervals(calendar, berlin(2026, 11, 9, 9), berlin(2026, 11, 9, 9)) == []


def test_no_calendar_and_always_mean_round_the_clock():
    start, end = berlin(2026, 3, 28), berlin(2026, 3, 31)
    whole = [(to_epoch_seconds(start), to_epoch_seconds(end))]
    assert service_intervals(None, start, end) == whole
    assert service_intervals(ALWAYS, start, end) == whole
    assert ALWAYS.is_always


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone", "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown time zone"),
        ({"hours": {0: [("08:00", "13:00"), ("12:00", "18:00")]}}, "hours", "overlaps"),
        ({"hours": {1: [("13:00", "18:00"), ("08:00", "12:00")]}}, "hours", "in order"),
        ({"hours": {2: [("09:00", "09:00")]}}, "hours", "end after it starts"),
        ({"hours": {3: [("18:00", "08:00")]}}, "hours", "end after it starts"),
        ({"hours": {4: [("08:00", "25:00")]}}, "hours", "between 00:00 and 24:00"),
        ({"hours": {0: [("8 am", "18:00")]}}, "hours", "not a time"),
        ({"hours": {7: [("08:00", "18:00")]}}, "hours", "weekdays are 0"),
        ({"hours": {}}, "hours", "at least one day"),
        ({"closed_days": ["2026-12-24"]}, "closed_days", "not a date"),
        (
            {"closed_intervals": [(berlin(2026, 1, 2), berlin(2026, 1, 1))]},
            "closed_intervals",
            "end before",
        ),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(kwargs, field, words):
    values = {"timezone": "Europe/Berlin", "hours": WEEKDAYS_8_TO_18} | kwargs
    with pytest.raises(ParameterError) as error:
        ServiceCalendar(**values)
    assert error.value.field == field
    assert words in error.value.message


def test_the_message_names_the_day_of_bad_hours():
    with pytest.raises(ParameterError, match="Tuesday: 12:00–18:00 overlaps 08:00–13:00"):
        ServiceCalendar("Europe/Berlin", {1: [("08:00", "13:00"), ("12:00", "18:00")]})


def test_hours_may_end_at_midnight_and_touch():
    calendar = ServiceCalendar("UTC", {5: [("08:00", "12:00"), ("12:00", "24:00")]})
    assert calendar.hours[5] == ((8 * 3600, 12 * 3600), (12 * 3600, 86_400))
    saturday = datetime(2026, 11, 7, tzinfo=UTC)
    assert service_intervals(calendar, saturday, saturday + timedelta(days=1)) == [
        (to_epoch_seconds(saturday) + 8 * 3600, to_epoch_seconds(saturday) + 86_400)
    ]


# --------------------------------------------------------------------------- sentences


def test_the_sentence_names_hours_timezone_and_holidays():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18, closed_days=[date(2026, 5, 1)])
    assert describe_calendar(calendar, "public holidays in Germany (BE)") == (
        "during service hours Mon–Fri 08:00–18:00 Europe/Berlin, "
        "public holidays in Germany (BE) excluded"
    )
    assert describe_calendar(calendar) == (
        "during service hours Mon–Fri 08:00–18:00 Europe/Berlin, closed days excluded"
    )


def test_the_sentence_groups_days_with_the_same_hours():
    hours = {day: [("08:00", "12:00"), ("13:00", "17:00")] for day in (0, 1, 2, 4)}
    hours[5] = [("09:00", "13:30")]
    calendar = ServiceCalendar("America/New_York", hours)
    assert describe_calendar(calendar) == (
        "during service hours Mon–Wed, Fri 08:00–12:00 and 13:00–17:00, Sat 09:00–13:30 "
        "America/New_York"
    )


def test_no_calendar_is_around_the_clock():
    assert describe_calendar(None) == "around the clock"
    assert describe_calendar(ALWAYS) == "around the clock"


# --------------------------------------------------------------------------- the clock


def test_the_clock_counts_business_seconds_from_its_origin():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18)
    clock = BusinessClock(calendar, berlin(2026, 11, 1), berlin(2026, 12, 1))
    assert clock.seconds_until(berlin(2026, 11, 1)) == 0
    assert clock.seconds_until(berlin(2026, 11, 2, 9)) == 3600
    assert clock.seconds_until(berlin(2026, 11, 7, 12)) == 50 * 3600
    assert clock.seconds_until(berlin(2026, 10, 30, 17)) == -3600


def test_the_clock_extends_its_horizon_and_gives_the_same_answers():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18, closed_days=[date(2025, 12, 25)])
    narrow = BusinessClock(calendar, berlin(2026, 11, 1), berlin(2026, 11, 8))
    wide = BusinessClock(calendar, berlin(2025, 1, 1), berlin(2028, 1, 1))
    a, b = berlin(2025, 12, 22, 12), berlin(2027, 6, 1, 12)
    assert narrow.business_seconds(a, b) == wide.business_seconds(a, b)
    assert narrow.horizon[0] <= to_epoch_seconds(a) and narrow.horizon[1] >= to_epoch_seconds(b)


def test_business_seconds_subtract_overlapping_stops_once():
    calendar = ServiceCalendar("Europe/Berlin", WEEKDAYS_8_TO_18)
    clock = BusinessClock(calendar, berlin(2026, 11, 1), berlin(2026, 12, 1))
    a, b = berlin(2026, 11, 9, 8), berlin(2026, 11, 10, 18)
    stops = [
        (berlin(2026, 11, 9, 10), berlin(2026, 11, 9, 12)),
        (berlin(2026, 11, 9, 11), berlin(2026, 11, 9, 13)),
        (berlin(2026, 11, 9, 17), berlin(2026, 11, 10, 9)),  # 1 h + 1 h of business time
        (berlin(2026, 11, 10, 17), None),  # still going: to the end of the interval
    ]
    assert clock.business_seconds(a, b) == 20 * 3600
    assert clock.stopped_seconds(a, b, stops) == (3 + 2 + 1) * 3600
    assert clock.business_seconds(a, b, stops) == 14 * 3600


def test_an_interval_that_ends_before_it_starts_is_refused():
    clock = BusinessClock(None, 0, 100)
    with pytest.raises(ValueError, match="end before"):
        clock.business_seconds(50, 10)
    with pytest.raises(ValueError, match="end before"):
        clock.business_seconds(0, 50, [(40, 30)])
