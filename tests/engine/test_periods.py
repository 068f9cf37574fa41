"""Settlement periods: calendar boundaries in the contract's time zone, DST and leap years."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    Period,
    active_fraction,
    active_interval,
    elapsed_fraction,
    next_period,
    period_containing,
    periods_between,
    previous_period,
    prorate,
)

DAY = 86_400
HOUR = 3_600
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago"]
BERLIN = ZoneInfo("Europe/Berlin")
SINCE_2025 = date(2025, 1, 1)


# --------------------------------------------------------------------------- DST


def test_march_in_new_york_is_one_hour_short():
    march = period_containing(date(2026, 3, 15), "month", "America/New_York")

    assert (march.start, march.end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert march.days == 31
    assert march.seconds == 31 * DAY - HOUR
    assert march.start_at.utcoffset() == timedelta(hours=-5)
    assert march.end_at.utcoffset() == timedelta(hours=-4)


def test_november_in_new_york_is_one_hour_long():
    november = period_containing(date(2026, 11, 20), "month", "America/New_York")

    assert november.seconds == 30 * DAY + HOUR


def test_march_and_october_in_berlin_lose_and_gain_an_hour():
    assert period_containing(date(2026, 3, 1), "month", "Europe/Berlin").seconds == 31 * DAY - HOUR
    assert period_containing(date(2026, 10, 1), "month", "Europe/Berlin").seconds == 31 * DAY + HOUR


@pytest.mark.parametrize(
    ("day", "tz", "monday", "seconds"),
    [
        (date(2026, 3, 8), "America/New_York", date(2026, 3, 2), 7 * DAY - HOUR),
        (date(2026, 11, 1), "America/New_York", date(2026, 10, 26), 7 * DAY + HOUR),
        (date(2026, 3, 29), "Europe/Berlin", date(2026, 3, 23), 7 * DAY - HOUR),
        (date(2026, 10, 25), "Europe/Berlin", date(2026, 10, 19), 7 * DAY + HOUR),
        (date(2026, 10, 25), "UTC", date(2026, 10, 19), 7 * DAY),
    ],
)
def test_weeks_containing_a_dst_change(day, tz, monday, seconds):
    week = period_containing(day, "week", tz)

    assert week.start == monday
    assert week.end == monday + timedelta(days=6)
    assert week.seconds == seconds


def test_a_day_whose_midnight_falls_in_the_dst_gap_starts_when_the_clocks_jump():
    # Chile moves from 00:00 to 01:00 on 6 September 2026: that day has 23 hours.
    day = Period(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")

    assert day.seconds == 23 * HOUR


def test_quarters_are_summed_exactly_across_dst():
    q1 = period_containing(date(2026, 2, 1), "quarter", "America/New_York")

    assert q1.seconds == 90 * DAY - HOUR


# --------------------------------------------------------------------------- calendar


def test_february_of_a_leap_year_has_29_days():
    assert period_containing(date(2028, 2, 10), "month", "UTC").days == 29
    assert period_containing(date(2026, 2, 10), "month", "UTC").days == 28
    assert period_containing(date(2028, 2, 10), "month", "UTC").end == date(2028, 2, 29)


def test_q4_2026_runs_from_october_to_december():
    q4 = period_containing(date(2026, 11, 15), "quarter", "Europe/Berlin")

    assert (q4.start, q4.end, q4.days) == (date(2026, 10, 1), date(2026, 12, 31), 92)


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 9, 30), date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarters_follow_the_calendar(day, start, end):
    quarter = period_containing(day, "quarter", "UTC")

    assert (quarter.start, quarter.end) == (start, end)


def test_the_iso_week_of_new_years_eve_2026_ends_in_2027():
    week = period_containing(date(2026, 12, 31), "week", "Europe/Berlin")

    assert (week.start, week.end) == (date(2026, 12, 28), date(2027, 1, 3))
    assert week.start.isoweekday() == 1
    assert week.start.isocalendar()[:2] == (2026, 53)
    assert period_containing(date(2027, 1, 3), "week", "Europe/Berlin") == week


def test_next_and_previous_periods_cross_the_year():
    december = period_containing(date(2026, 12, 5), "month", "UTC")

    assert next_period(december, "month").start == date(2027, 1, 1)
    assert previous_period(next_period(december, "month"), "month") == december
    assert next_period(period_containing(date(2026, 11, 1), "quarter", "UTC"), "quarter").start == (
        date(2027, 1, 1)
    )
    assert previous_period(period_containing(date(2027, 1, 1), "week", "UTC"), "week").start == (
        date(2026, 12, 21)
    )


def test_periods_between_cover_every_period_touching_the_range():
    months = list(periods_between(date(2026, 1, 15), date(2026, 3, 2), "month", "UTC"))

    assert [m.start for m in months] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert list(periods_between(date(2026, 3, 2), date(2026, 1, 15), "month", "UTC")) == []


def test_unknown_kinds_zones_and_reversed_periods_are_refused():
    with pytest.raises(ValueError):
        period_containing(date(2026, 1, 1), "year", "UTC")
    with pytest.raises(ValueError):
        Period(date(2026, 1, 1), date(2026, 1, 31), "Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        Period(date(2026, 1, 31), date(2026, 1, 1), "UTC")


# --------------------------------------------------------------------------- proration


def test_a_contract_active_the_whole_period_pays_the_whole_fee():
    april = period_containing(date(2026, 4, 1), "month", "UTC")

    fraction = active_fraction(april, date(2025, 1, 1), None)

    assert fraction == 1
    assert prorate(Decimal("3000.00"), fraction) == Decimal("3000.00")


def test_a_contract_ending_mid_period_counts_its_last_day():
    april = period_containing(date(2026, 4, 1), "month", "UTC")

    assert active_fraction(april, date(2025, 1, 1), date(2026, 4, 10)) == Fraction(10, 30)


def test_a_contract_outside_the_period_is_not_active():
    april = period_containing(date(2026, 4, 1), "month", "UTC")

    assert active_fraction(april, date(2026, 5, 1), None) == 0
    assert active_fraction(april, date(2025, 1, 1), date(2026, 3, 31)) == 0
    assert active_interval(april, date(2026, 5, 1), None) is None


def test_the_active_interval_starts_at_local_midnight_of_the_first_day():
    march = period_containing(date(2026, 3, 1), "month", "America/New_York")

    start, end = active_interval(march, date(2026, 3, 16), None)

    assert start == Period(date(2026, 3, 16), date(2026, 3, 16), "America/New_York").start_at
    assert end == march.end_at


# --------------------------------------------------------------------------- elapsed share


def test_half_of_march_in_berlin_is_measured_in_hours_not_days():
    # March 2026 in Berlin has 743 hours (the clocks jump on the 29th); 15 days of 24
    # hours are behind midnight of the 16th, a little more than 15/31 of the month.
    march = period_containing(date(2026, 3, 1), "month", "Europe/Berlin")

    share = elapsed_fraction(march, SINCE_2025, None, datetime(2026, 3, 16, tzinfo=BERLIN))

    assert share == Fraction(15 * 24, 743)


def test_after_the_spring_change_the_lost_hour_is_behind_now():
    march = period_containing(date(2026, 3, 1), "month", "Europe/Berlin")

    share = elapsed_fraction(march, SINCE_2025, None, datetime(2026, 3, 30, tzinfo=BERLIN))

    assert share == Fraction(29 * 24 - 1, 743)


def test_after_the_autumn_change_the_extra_hour_is_behind_now():
    october = period_containing(date(2026, 10, 1), "month", "Europe/Berlin")

    share = elapsed_fraction(october, SINCE_2025, None, datetime(2026, 10, 26, tzinfo=BERLIN))

    assert share == Fraction(25 * 24 + 1, 31 * 24 + 1)


def test_a_contract_starting_mid_month_counts_from_its_first_day():
    # Active from 16 March 00:00 CET to 1 April 00:00 CEST: 16 days less an hour.
    march = period_containing(date(2026, 3, 1), "month", "Europe/Berlin")

    share = elapsed_fraction(march, date(2026, 3, 16), None, datetime(2026, 3, 24, tzinfo=BERLIN))

    assert share == Fraction(8 * 24, 16 * 24 - 1)


def test_thursday_noon_is_half_of_an_iso_week():
    week = period_containing(date(2026, 11, 19), "week", "UTC")

    share = elapsed_fraction(week, SINCE_2025, None, datetime(2026, 11, 19, 12, tzinfo=UTC))

    assert (week.start, week.end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert share == Fraction(1, 2)


def test_the_week_of_the_spring_change_in_berlin_has_167_hours():
    week = period_containing(date(2026, 3, 29), "week", "Europe/Berlin")

    share = elapsed_fraction(week, SINCE_2025, None, datetime(2026, 3, 29, 12, tzinfo=BERLIN))

    assert share == Fraction(6 * 24 + 12 - 1, 7 * 24 - 1)


def test_a_contract_ending_mid_week_is_projected_to_its_last_day():
    week = period_containing(date(2026, 11, 19), "week", "UTC")
    wednesday_noon = datetime(2026, 11, 18, 12, tzinfo=UTC)

    share = elapsed_fraction(week, SINCE_2025, date(2026, 11, 18), wednesday_noon)

    assert share == Fraction(5, 6)


def test_nothing_is_elapsed_outside_the_open_period():
    week = period_containing(date(2026, 11, 19), "week", "UTC")

    assert elapsed_fraction(week, SINCE_2025, None, week.start_at) is None
    assert elapsed_fraction(week, SINCE_2025, None, week.end_at) is None
    assert elapsed_fraction(week, SINCE_2025, None, datetime(2026, 12, 1, tzinfo=UTC)) is None
    assert elapsed_fraction(week, SINCE_2025, None, datetime(2026, 11, 1, tzinfo=UTC)) is None
    thursday = datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert elapsed_fraction(week, SINCE_2025, date(2026, 11, 18), thursday) is None
    assert elapsed_fraction(week, date(2026, 11, 20), None, thursday) is None
    assert elapsed_fraction(week, date(2026, 12, 1), None, thursday) is None


# --------------------------------------------------------------------------- properties

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
kinds = st.sampled_from(["week", "month", "quarter"])
zones = st.sampled_from(ZONES)


@settings(max_examples=200, deadline=None)
@given(day=days, kind=kinds, tz=zones)
def test_consecutive_periods_tile_time_without_gap_or_overlap(day, kind, tz):
    period = period_containing(day, kind, tz)
    following = next_period(period, kind)

    assert period.start <= day <= period.end
    assert following.start == period.end + timedelta(days=1)
    assert following.start_at == period.end_at
    assert previous_period(following, kind) == period
    # No DST change moves a period by more than an hour per change, two changes at most.
    assert abs(period.seconds - period.days * DAY) <= 2 * HOUR


@settings(max_examples=200, deadline=None)
@given(day=days, kind=kinds, tz=zones)
def test_days_of_a_period_add_up_to_its_seconds(day, kind, tz):
    period = period_containing(day, kind, tz)
    one_day = [
        Period(period.start + timedelta(days=n), period.start + timedelta(days=n), tz).seconds
        for n in range(period.days)
    ]

    assert sum(one_day) == period.seconds


@st.composite
def open_periods(draw: st.DrawFn):
    """A period, a contract overlapping it or not, and two instants around it, earlier first."""
    period = period_containing(draw(days), draw(kinds), draw(zones))
    contract_start = period.start + timedelta(days=draw(st.integers(-40, 100)))
    length = draw(st.none() | st.integers(0, 200))
    contract_end = None if length is None else contract_start + timedelta(days=length)
    offsets = draw(st.lists(st.integers(-DAY, period.seconds + DAY), min_size=2, max_size=2))
    start = period.start_at.astimezone(UTC)
    earlier, later = (start + timedelta(seconds=offset) for offset in sorted(offsets))
    return period, contract_start, contract_end, earlier, later


@settings(max_examples=300, deadline=None)
@given(case=open_periods())
def test_the_elapsed_share_is_within_0_and_1_and_never_shrinks_as_time_passes(case):
    period, contract_start, contract_end, earlier, later = case
    active = active_interval(period, contract_start, contract_end)

    for now in (earlier, later):
        share = elapsed_fraction(period, contract_start, contract_end, now)
        inside = active is not None and active[0] < now < active[1]
        assert (share is not None) == inside
        if share is not None:
            assert 0 < share < 1
    before = elapsed_fraction(period, contract_start, contract_end, earlier)
    after = elapsed_fraction(period, contract_start, contract_end, later)
    if before is not None and after is not None:
        assert before <= after


@settings(max_examples=200, deadline=None)
@given(day=days, kind=kinds, data=st.data())
def test_without_dst_the_elapsed_share_at_midnight_is_the_share_of_days(day, kind, data):
    period = period_containing(day, kind, "UTC")
    behind = data.draw(st.integers(1, period.days - 1))
    midnight = period.start_at + timedelta(days=behind)

    assert elapsed_fraction(period, period.start, None, midnight) == Fraction(behind, period.days)
