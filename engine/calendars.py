"""Service calendars: the weekly service hours of a provider, in a timezone, less closures.

An SLA written against business hours ("resolved within 4 business hours, Mon–Fri
08:00–18:00, public holidays excluded") measures time only inside the calendar's
service hours. This module turns a :class:`ServiceCalendar` into spans of whole epoch
seconds (:func:`service_intervals`) and compiles it, once per range of time, into a
:class:`BusinessClock` that answers "how many business seconds between a and b, less
these stops" with two bisections, so that a million tickets cost little more than a
million subtractions.

Local time. Service hours are local wall-clock times of each local date, so a DST day
keeps the hours its clock shows: on the 23-hour spring day 08:00–18:00 is still 10 hours
and 00:00–24:00 is 23 hours; on the 25-hour autumn day 00:00–24:00 is 25 hours. A local
time that does not exist (inside the spring gap) maps forward to the first instant that
does, the moment the clock jumps; an ambiguous local time (the repeated autumn hour)
means its first occurrence. Hours end at most at 24:00, the next local midnight: a
night shift is written as 22:00–24:00 on one day and 00:00–06:00 on the next.

No calendar (``None``) means 24×7, as does :data:`ALWAYS`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ParameterError
from engine.intervals import Instant, Interval, merge_spans, subtract_spans, to_epoch_seconds
from engine.l10n import gettext, pgettext

DAY_SECONDS = 86_400
_WEEKDAY_FULL_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Span: TypeAlias = tuple[int, int]
"""``[start, end)`` in whole epoch seconds."""

DayHours: TypeAlias = tuple[Span, ...]
"""One weekday's service hours as ``[start, end)`` seconds after local midnight (0..86400)."""

WeeklyHours: TypeAlias = tuple[DayHours, DayHours, DayHours, DayHours, DayHours, DayHours, DayHours]
"""Service hours of each weekday, Monday first."""

LocalTime: TypeAlias = time | str | int
"""A local time of day: a ``time``, ``"HH:MM"``/``"HH:MM:SS"`` (``"24:00"`` is the next
midnight) or seconds after midnight."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ParameterError(f"unknown time zone {name!r}", field="timezone") from None


def _time_of_day(value: LocalTime) -> int:
    """Seconds after local midnight of a service-hours bound."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ParameterError("service hours are local times, without a zone", field="hours")
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
            raise ParameterError(f"{value!r} is not a time such as 08:00", field="hours")
        hour, minute, second = (int(p) for p in (*parts, "00")[:3])
        if minute > 59 or second > 59:
            raise ParameterError(f"{value!r} is not a time such as 08:00", field="hours")
        seconds = hour * 3600 + minute * 60 + second
    else:
        raise ParameterError(f"{value!r} is not a time such as 08:00", field="hours")
    if not 0 <= seconds <= DAY_SECONDS:
        raise ParameterError(f"{value!r} is not between 00:00 and 24:00", field="hours")
    return seconds


def format_time_of_day(seconds: int) -> str:
    """``"08:00"``, ``"24:00"``, ``"08:00:30"``: a service-hours bound as people write it."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _day_hours(weekday: int, spans: Iterable[tuple[LocalTime, LocalTime]]) -> DayHours:
    day = _WEEKDAY_FULL_NAMES[weekday]
    result: list[Span] = []
    for pair in spans:
        try:
            raw_start, raw_end = pair
        except (TypeError, ValueError):
            raise ParameterError(
                f"{day}: service hours are (start, end) pairs, not {pair!r}", field="hours"
            ) from None
        start, end = _time_of_day(raw_start), _time_of_day(raw_end)
        text = f"{format_time_of_day(start)}–{format_time_of_day(end)}"
        if end <= start:
            raise ParameterError(f"{day}: {text} must end after it starts", field="hours")
        if result:
            last_start, last_end = result[-1]
            last = f"{format_time_of_day(last_start)}–{format_time_of_day(last_end)}"
            if start < last_start:
                raise ParameterError(
                    f"{day}: {text} comes before {last}: list the hours in order", field="hours"
                )
            if start < last_end:
                raise ParameterError(f"{day}: {text} overlaps {last}", field="hours")
        result.append((start, end))
    return tuple(result)


def _weekly_hours(hours: object) -> WeeklyHours:
    if isinstance(hours, Mapping):
        unknown = [day for day in hours if day not in range(7)]
        if unknown:
            raise ParameterError(
                f"weekdays are 0 (Monday) to 6 (Sunday), not {unknown[0]!r}", field="hours"
            )
        days = [hours.get(day, ()) for day in range(7)]
    elif isinstance(hours, Sequence) and not isinstance(hours, str) and len(hours) == 7:
        days = list(hours)
    else:
        raise ParameterError(
            "service hours are given per weekday: a mapping 0 (Monday)..6 (Sunday) or 7 lists",
            field="hours",
        )
    weekly = tuple(_day_hours(weekday, spans or ()) for weekday, spans in enumerate(days))
    if not any(weekly):
        raise ParameterError("a calendar needs service hours on at least one day", field="hours")
    return weekly  # type: ignore[return-value]


# --------------------------------------------------------------------------- spans


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A local date on which there is no service (a public holiday, a hand entry)."""

    day: date
    name: str = ""


def _closed_days(entries: object) -> tuple[ClosedDay, ...]:
    if isinstance(entries, Mapping):
        items: Iterable[object] = (ClosedDay(day, name or "") for day, name in entries.items())
    elif isinstance(entries, Iterable) and not isinstance(entries, str):
        items = entries
    else:
        raise ParameterError("closed days are a list of dates", field="closed_days")
    by_day: dict[date, str] = {}
    for entry in items:
        if isinstance(entry, ClosedDay):
            day, name = entry.day, entry.name
        elif isinstance(entry, tuple) and len(entry) == 2:
            day, name = entry[0], entry[1] or ""
        else:
            day, name = entry, ""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ParameterError(f"{day!r} is not a date", field="closed_days")
        # The same day may come from a holiday library and from an imported file: it is
        # closed once, under every name it was given.
        if by_day.get(day) and name and name not in by_day[day].split(" / "):
            by_day[day] = f"{by_day[day]} / {name}"
        elif not by_day.get(day):
            by_day[day] = name
    return tuple(ClosedDay(day, name) for day, name in sorted(by_day.items()))


def _closed_intervals(entries: Iterable[Interval]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for entry in entries:
        try:
            start, end = entry
            first, last = to_epoch_seconds(start), to_epoch_seconds(end)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise ParameterError(
                f"a closure is a (start, end) pair of aware instants: {error}",
                field="closed_intervals",
            ) from None
        if last < first:
            raise ParameterError("a closure cannot end before it starts", field="closed_intervals")
        if first < last:
            spans.append((first, last))
    return tuple(merge_spans(spans))


@dataclass(frozen=True, slots=True)
class ServiceCalendar:
    """Weekly service hours in an IANA timezone, less closed days and closed intervals.

    ``hours`` is given per weekday (0 = Monday .. 6 = Sunday) as a mapping or a sequence
    of seven, each a list of local ``(start, end)`` times in order and not overlapping,
    e.g. ``{d: [("08:00", "18:00")] for d in range(5)}``; it is kept as seconds after
    local midnight. ``closed_days`` are local dates (or :class:`ClosedDay` with a name,
    or a mapping date → name); ``closed_intervals`` are timed closures as ``(start, end)``
    aware instants, kept as epoch seconds. Construction validates and raises
    :class:`~engine.errors.ParameterError` naming the field (``timezone``, ``hours``,
    ``closed_days``, ``closed_intervals``).
    """

    timezone: str
    hours: WeeklyHours
    closed_days: tuple[ClosedDay, ...] = ()
    closed_intervals: tuple[Span, ...] = ()
    _closed_dates: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check and normalise every field; raise ParameterError naming the first bad one."""
        _zone(self.timezone)
        object.__setattr__(self, "hours", _weekly_hours(self.hours))
        object.__setattr__(self, "closed_days", _closed_days(self.closed_days))
        object.__setattr__(self, "closed_intervals", _closed_intervals(self.closed_intervals))
        object.__setattr__(self, "_closed_dates", frozenset(c.day for c in self.closed_days))

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's timezone."""
        return ZoneInfo(self.timezone)

    @property
    def is_always(self) -> bool:
        """True for a calendar that is open around the clock and never closed (24×7)."""
        full = ((0, DAY_SECONDS),)
        return (
            all(day == full for day in self.hours)
            and not self.closed_days
            and not self.closed_intervals
        )

    def is_closed(self, day: date) -> bool:
        """True when ``day`` is a closed day of the calendar."""
        return day in self._closed_dates


ALWAYS = ServiceCalendar(timezone="UTC", hours=tuple(((0, DAY_SECONDS),) for _ in range(7)))
"""Open around the clock, never closed: the same as no calendar."""


# --------------------------------------------------------------------------- local time


_EPOCH_NAIVE = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def _wall(seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)


def local_to_epoch(day: date, seconds: int, zone: ZoneInfo) -> int:
    """Epoch seconds of the local wall-clock time ``seconds`` after midnight of ``day``.

    An ambiguous time (the repeated autumn hour) is its first occurrence; a time that
    does not exist (the spring gap) is the first instant after the gap, the moment the
    clock jumps, so a span reaching into the gap keeps the part of it the clock shows.
    """
    naive = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    # fold=0 is the earlier of two readings of an ambiguous time, and in a gap uses the
    # offset from before the change, which lands after the gap.
    aware = naive.replace(tzinfo=zone)
    offset = aware.utcoffset()
    instant = (naive - _EPOCH_NAIVE - offset) // _SECOND  # type: ignore[operator]
    later = aware.replace(fold=1)
    if later.utcoffset() == offset or _wall(instant, zone) == naive:
        return instant  # one reading only, or the first of two
    # Inside a gap: the change happens between the reading with the later offset and the
    # one with the earlier; find the first second whose wall clock is not before ``naive``.
    low = (naive - _EPOCH_NAIVE - later.utcoffset()) // _SECOND  # type: ignore[operator]
    high = instant
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return high


def _local_date(seconds: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(seconds, zone).date()


def service_intervals(
    calendar: ServiceCalendar | None, window_start: Instant, window_end: Instant
) -> list[Span]:
    """The ``[start, end)`` epoch-second spans of ``[window_start, window_end)`` inside the
    calendar's service hours, closed days removed and closed intervals subtracted; sorted,
    disjoint, touching spans merged. ``None`` (24×7) gives the whole window."""
    low, high = to_epoch_seconds(window_start), to_epoch_seconds(window_end)
    if high < low:
        raise ValueError("a window cannot end before it starts")
    if low == high:
        return []
    if calendar is None or calendar.is_always:
        return [(low, high)]
    zone = ZoneInfo(calendar.timezone)
    day = _local_date(low, zone) - timedelta(days=1)
    last_day = _local_date(high, zone)
    spans: list[Span] = []
    while day <= last_day:
        hours = calendar.hours[day.weekday()]
        if hours and day not in calendar._closed_dates:
            for start, end in hours:
                first = max(local_to_epoch(day, start, zone), low)
                last = min(local_to_epoch(day, end, zone), high)
                if first < last:
                    spans.append((first, last))
        day += timedelta(days=1)
    spans = merge_spans(spans)
    if calendar.closed_intervals:
        spans = subtract_spans(spans, calendar.closed_intervals)
    return spans


# --------------------------------------------------------------------------- the clock

_MIN_HORIZON = 62 * DAY_SECONDS


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_seconds(instant: Instant) -> int:
    """:func:`~engine.intervals.to_epoch_seconds`, quicker for the common case of an int
    or an aware datetime (the same arithmetic); anything else gets its usual error."""
    if type(instant) is int:
        return instant
    try:
        return (instant - _EPOCH) // _SECOND  # type: ignore[operator]
    except TypeError:
        return to_epoch_seconds(instant)  # a naive datetime or not an instant: it says so


# How far ahead BusinessClock.reaching looks for service time before it gives up: a
# ticket clock that has not passed its threshold in that long never will, as far as the
# calendar can tell.
REACH_YEARS = 10


class BusinessClock:
    """A calendar compiled for a range of time: cumulative business seconds by bisection.

    ``seconds_until(t)`` is the business time from the clock's ``origin`` (the start of
    the range it was built for) to ``t``: positive after it, negative before it. An
    instant outside the compiled range extends the range (to at least twice its length),
    so callers build one clock per calendar and settlement period (± a margin) and a
    ticket opened long before still gets the right answer, only once more slowly.
    Results never depend on the range; only the speed does. A clock that may still grow
    is not to be shared between threads.
    """

    __slots__ = (
        "_after",
        "_base",
        "_before_first",
        "_ends",
        "_high",
        "_low",
        "_spans",
        "_starts",
        "calendar",
        "origin",
    )

    def __init__(
        self, calendar: ServiceCalendar | None, horizon_start: Instant, horizon_end: Instant
    ) -> None:
        low, high = epoch_seconds(horizon_start), epoch_seconds(horizon_end)
        if high < low:
            raise ValueError("a clock's horizon cannot end before it starts")
        self.calendar = None if calendar is None or calendar.is_always else calendar
        self.origin = low
        self._compile(low, high)

    def _compile(self, low: int, high: int) -> None:
        spans = [] if self.calendar is None else service_intervals(self.calendar, low, high)
        self._tabulate(low, high, spans)

    def _tabulate(self, low: int, high: int, spans: list[Span]) -> None:
        """Replace the tables with those of ``spans``, the service time of ``[low, high)``."""
        starts: list[int] = []
        ends: list[int] = []
        base: list[int] = []
        after: list[int] = []
        total = 0
        for first, last in spans:
            starts.append(first)
            ends.append(last)
            base.append(total - first)
            total += last - first
            after.append(total)
        # Business time before the origin, so that seconds_until(origin) == 0.
        shift = 0
        index = bisect_right(starts, self.origin) - 1
        if index >= 0:
            shift = base[index] + self.origin if self.origin < ends[index] else after[index]
        self._spans = spans
        self._starts = starts
        self._ends = ends
        self._base = [value - shift for value in base]
        self._after = [value - shift for value in after]
        self._before_first = -shift
        self._low, self._high = low, high

    @property
    def horizon(self) -> Span:
        """The range of epoch seconds compiled so far."""
        return (self._low, self._high)

    def _extend(self, instant: int) -> None:
        # Only the new stretches are computed; touching spans at the old bounds need not
        # merge, the tables add them up all the same.
        length = max(self._high - self._low, _MIN_HORIZON)
        low, high, spans = self._low, self._high, self._spans
        if instant < low:
            low = min(instant, low - length)
            if self.calendar is not None:
                spans = service_intervals(self.calendar, low, self._low) + spans
        if instant > high:
            high = max(instant, high + length)
            if self.calendar is not None:
                spans = spans + service_intervals(self.calendar, self._high, high)
        self._tabulate(low, high, spans)

    def at(self, instant: int) -> int:
        """:meth:`seconds_until` for epoch seconds, the hot path."""
        if instant < self._low or instant > self._high:
            self._extend(instant)
        if self.calendar is None:
            return instant - self.origin
        index = bisect_right(self._starts, instant) - 1
        if index < 0:
            return self._before_first
        if instant < self._ends[index]:
            return self._base[index] + instant
        return self._after[index]

    def reaching(self, start: int, seconds: int) -> int | None:
        """The first instant (epoch seconds) by which ``seconds`` business seconds (at least
        one) have passed since ``start``: the inverse of :meth:`at`. ``None`` when the
        calendar gives that much service time in no less than :data:`REACH_YEARS` years
        (a calendar without hours never does)."""
        if seconds < 1:
            raise ValueError("a clock reaches at least one business second")
        if self.calendar is None:
            return start + seconds
        wanted = self.at(start) + seconds
        give_up = start + REACH_YEARS * 366 * 86_400
        while True:
            index = bisect_left(self._after, wanted)
            if index < len(self._after):
                # Inside that span the clock reads base + t: the first t giving ``wanted``.
                return wanted - self._base[index]
            if self._high >= give_up:
                return None
            self._extend(self._high + 1)

    def seconds_until(self, instant: Instant) -> int:
        """Business seconds from the origin to ``instant`` (negative before the origin)."""
        return self.at(epoch_seconds(instant))

    def stopped_seconds(self, start: Instant, end: Instant, stops: Iterable[Interval]) -> int:
        """Business seconds of ``[start, end)`` inside the union of ``stops`` (an open stop,
        ``end`` ``None``, runs to ``end``): overlapping stops count once."""
        low, high = epoch_seconds(start), epoch_seconds(end)
        spans: list[Span] = []
        for stop_start, stop_end in stops:
            first = epoch_seconds(stop_start)
            if stop_end is None:
                last = high  # still going: it stops the clock to the end of the interval
            else:
                last = epoch_seconds(stop_end)
                if last < first:
                    raise ValueError("a stop cannot end before it starts")
            if first < low:
                first = low
            if last > high:
                last = high
            if first < last:
                spans.append((first, last))
        if not spans:
            return 0
        if len(spans) > 1:
            spans = merge_spans(spans)
        at = self.at
        return sum(at(last) - at(first) for first, last in spans)

    def business_seconds(self, start: Instant, end: Instant, stops: Iterable[Interval] = ()) -> int:
        """Business seconds of ``[start, end)`` less the business time inside ``stops``."""
        low, high = epoch_seconds(start), epoch_seconds(end)
        if high < low:
            raise ValueError("an interval cannot end before it starts")
        total = self.at(high) - self.at(low)
        if stops:
            total -= self.stopped_seconds(low, high, stops)
        return total


# --------------------------------------------------------------------------- sentences


def _weekday(index: int) -> str:
    """A weekday's short name in the current language: "Mon"; German "Mo"."""
    return (
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    )[index]


def _days_text(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) == 1:
            parts.append(_weekday(run[0]))
        elif len(run) == 2:
            parts.append(f"{_weekday(run[0])}, {_weekday(run[1])}")
        else:
            parts.append(f"{_weekday(run[0])}–{_weekday(run[-1])}")
    return ", ".join(parts)


def describe_hours(hours: WeeklyHours) -> str:
    """``"Mon–Fri 08:00–18:00, Sat 09:00–13:00"``; days with the same hours said once."""
    groups: dict[DayHours, list[int]] = {}
    for weekday, day_hours in enumerate(hours):
        if day_hours:
            groups.setdefault(day_hours, []).append(weekday)
    parts = []
    for day_hours, days in groups.items():
        spans = gettext(" and ").join(
            f"{format_time_of_day(start)}–{format_time_of_day(end)}" for start, end in day_hours
        )
        parts.append(f"{_days_text(days)} {spans}")
    return ", ".join(parts)


def describe_calendar(calendar: ServiceCalendar | None, closed_days_text: str | None = None) -> str:
    """The calendar as the part of a sentence that says which time counts, e.g. "during
    service hours Mon–Fri 08:00–18:00 Europe/Berlin, public holidays in Germany (BE)
    excluded". ``closed_days_text`` says where the closed days come from ("public
    holidays in Germany (BE)"); without it, a calendar with closures says "closed days
    excluded". No calendar, or a 24×7 one, is "around the clock"."""
    if calendar is None or calendar.is_always:
        return gettext("around the clock")
    words = {"hours": describe_hours(calendar.hours), "zone": calendar.timezone}
    if closed_days_text:
        return gettext("during service hours %(hours)s %(zone)s, %(closed)s excluded") % {
            **words,
            "closed": closed_days_text,
        }
    if calendar.closed_days or calendar.closed_intervals:
        return gettext("during service hours %(hours)s %(zone)s, closed days excluded") % words
    return gettext("during service hours %(hours)s %(zone)s") % words
