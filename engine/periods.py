"""Settlement periods: calendar weeks, months and quarters in a contract's time zone.

A period runs from local midnight to local midnight, so its length in seconds follows DST.
This module also says which part of a period a contract is active in (for proration) and
how much of an open period lies behind a given instant (for early warnings and progress).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.intervals import to_epoch_seconds
from engine.numbers import EXACT


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight falls in a DST gap, fold=0 takes the offset before the change, which
    # is the instant the day really begins; consecutive periods share this function, so
    # they tile time without a gap or an overlap either way.
    return datetime(day.year, day.month, day.day, tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Period:
    """A settlement period: calendar days ``start``..``end`` (inclusive) in time zone ``tz``."""

    start: date
    end: date
    tz: str

    def __post_init__(self) -> None:
        if isinstance(self.start, datetime) or isinstance(self.end, datetime):
            raise TypeError("a period is made of dates, not datetimes")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")
        _zone(self.tz)

    @property
    def start_at(self) -> datetime:
        """Local midnight at the start of ``start``."""
        return _local_midnight(self.start, _zone(self.tz))

    @property
    def end_at(self) -> datetime:
        """Local midnight after ``end`` (exclusive)."""
        return _local_midnight(self.end + timedelta(days=1), _zone(self.tz))

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1

    @property
    def seconds(self) -> int:
        """Elapsed seconds from ``start_at`` to ``end_at``: one hour less for a period
        containing the spring DST change, one hour more for the autumn one."""
        return to_epoch_seconds(self.end_at) - to_epoch_seconds(self.start_at)


def period_containing(day: date, kind: str, tz: str) -> Period:
    """The ``week`` (ISO, Monday to Sunday), ``month`` or ``quarter`` containing ``day``."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6), tz)
    if kind == "month":
        return Period(day.replace(day=1), day.replace(day=monthrange(day.year, day.month)[1]), tz)
    if kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
        return Period(
            date(day.year, first_month, 1),
            date(day.year, last_month, monthrange(day.year, last_month)[1]),
            tz,
        )
    raise ValueError(f"unknown period kind {kind!r}: use week, month or quarter")


def next_period(period: Period, kind: str) -> Period:
    """The period of ``kind`` that follows ``period``."""
    return period_containing(period.end + timedelta(days=1), kind, period.tz)


def previous_period(period: Period, kind: str) -> Period:
    """The period of ``kind`` that precedes ``period``."""
    return period_containing(period.start - timedelta(days=1), kind, period.tz)


def periods_between(first_day: date, last_day: date, kind: str, tz: str) -> Iterator[Period]:
    """Every period of ``kind`` that contains a day from ``first_day`` to ``last_day``."""
    if last_day < first_day:
        return
    period = period_containing(first_day, kind, tz)
    while period.start <= last_day:
        yield period
        period = next_period(period, kind)


def _active_days(period: Period, contract_start: date, contract_end: date | None) -> int:
    first = max(period.start, contract_start)
    last = period.end if contract_end is None else min(period.end, contract_end)
    return max(0, (last - first).days + 1)


def active_fraction(period: Period, contract_start: date, contract_end: date | None) -> Fraction:
    """Share of the period's days on which the contract is active (``contract_end``
    inclusive, ``None`` for open-ended)."""
    return Fraction(_active_days(period, contract_start, contract_end), period.days)


def active_interval(
    period: Period, contract_start: date, contract_end: date | None
) -> tuple[datetime, datetime] | None:
    """The part of the period, as instants, in which the contract is active; ``None``
    when it is not active on any day of the period."""
    if not _active_days(period, contract_start, contract_end):
        return None
    zone = _zone(period.tz)
    first = max(period.start, contract_start)
    last = period.end if contract_end is None else min(period.end, contract_end)
    return _local_midnight(first, zone), _local_midnight(last + timedelta(days=1), zone)


def prorate(fee: Decimal, fraction: Fraction) -> Decimal:
    """``fee`` times ``fraction``, kept exact (60 significant digits when it does not
    terminate); a fraction of 1 returns the fee unchanged. Quantize before storing."""
    fraction = Fraction(fraction)
    if fraction < 0:
        raise ValueError("a proration fraction cannot be negative")
    if fraction == 1:
        return fee
    scaled = EXACT.multiply(fee, Decimal(fraction.numerator))
    return EXACT.divide(scaled, Decimal(fraction.denominator))


def elapsed_fraction(
    period: Period, contract_start: date, contract_end: date | None, now: datetime
) -> Fraction | None:
    """The share of the period's active time (:func:`active_interval`) behind ``now``, for
    projecting an open period to its end; ``None`` unless ``now`` is inside it (the period
    has begun for the contract and has not ended)."""
    active = active_interval(period, contract_start, contract_end)
    if active is None or not active[0] < now < active[1]:
        return None
    start, end = (to_epoch_seconds(instant) for instant in active)
    return Fraction(to_epoch_seconds(now) - start, end - start)
