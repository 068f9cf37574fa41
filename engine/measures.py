"""What was measured for one objective in one period: one type per indicator.

A measure is an aggregate (seconds or sample counts), not the samples themselves, so
measures of parts of a period merge into the measure of the whole, and each knows its
attainment. ``MEASURE_FOR`` says which type an indicator is evaluated from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeAlias

from engine.errors import ParameterError
from engine.numbers import EXACT, threshold_met, to_decimal


def _check_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a whole number, not negative")


@dataclass(frozen=True, slots=True)
class UptimeMeasure:
    """Scheduled and provider-caused downtime seconds of a period."""

    scheduled_seconds: int
    downtime_seconds: int

    def __post_init__(self) -> None:
        _check_count(self.scheduled_seconds, "scheduled_seconds")
        _check_count(self.downtime_seconds, "downtime_seconds")
        if self.downtime_seconds > self.scheduled_seconds:
            raise ValueError("downtime cannot exceed scheduled time")

    @property
    def attainment(self) -> Fraction | None:
        """100 * (scheduled - downtime) / scheduled; ``None`` with no scheduled time."""
        if not self.scheduled_seconds:
            return None
        up = self.scheduled_seconds - self.downtime_seconds
        return Fraction(100 * up, self.scheduled_seconds)

    def merge(self, other: UptimeMeasure) -> UptimeMeasure:
        """The measure of two disjoint stretches of time taken together."""
        if not isinstance(other, UptimeMeasure):
            raise TypeError("only uptime measures merge with an uptime measure")
        return UptimeMeasure(
            self.scheduled_seconds + other.scheduled_seconds,
            self.downtime_seconds + other.downtime_seconds,
        )


@dataclass(frozen=True, slots=True)
class RatioMeasure:
    """How many of ``total`` samples were ``ok``."""

    ok: int
    total: int

    def __post_init__(self) -> None:
        _check_count(self.ok, "ok")
        _check_count(self.total, "total")
        if self.ok > self.total:
            raise ValueError("ok cannot exceed total")

    @classmethod
    def from_samples(cls, oks: Iterable[bool]) -> RatioMeasure:
        """Aggregate individual ``ok`` flags."""
        ok = total = 0
        for flag in oks:
            total += 1
            ok += bool(flag)
        return cls(ok, total)

    @property
    def attainment(self) -> Fraction | None:
        """Percent of samples that were ok; ``None`` without samples."""
        return Fraction(100 * self.ok, self.total) if self.total else None

    def merge(self, other: RatioMeasure) -> RatioMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, RatioMeasure):
            raise TypeError("only ratio measures merge with a ratio measure")
        return RatioMeasure(self.ok + other.ok, self.total + other.total)


@dataclass(frozen=True, slots=True)
class ThresholdMeasure:
    """How many of ``total`` samples met the objective's threshold."""

    meeting: int
    total: int

    def __post_init__(self) -> None:
        _check_count(self.meeting, "meeting")
        _check_count(self.total, "total")
        if self.meeting > self.total:
            raise ValueError("meeting cannot exceed total")

    @classmethod
    def from_values(
        cls, values: Iterable[Decimal], threshold: Decimal, comparator: str
    ) -> ThresholdMeasure:
        """Aggregate sample values against ``threshold``."""
        meeting = total = 0
        for value in values:
            total += 1
            meeting += threshold_met(value, threshold, comparator)
        return cls(meeting, total)

    @property
    def attainment(self) -> Fraction | None:
        """Percent of samples meeting the threshold; ``None`` without samples."""
        return Fraction(100 * self.meeting, self.total) if self.total else None

    def merge(self, other: ThresholdMeasure) -> ThresholdMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, ThresholdMeasure):
            raise TypeError("only threshold measures merge with a threshold measure")
        return ThresholdMeasure(self.meeting + other.meeting, self.total + other.total)


@dataclass(frozen=True, slots=True)
class CountMeasure:
    """The sum of the sample values of a period and how many samples there were."""

    total: Decimal
    samples: int

    def __post_init__(self) -> None:
        if not isinstance(self.total, Decimal):
            object.__setattr__(self, "total", to_decimal(self.total, "total", ParameterError))
        elif not self.total.is_finite():
            raise ValueError("total must be a finite number")
        _check_count(self.samples, "samples")

    @classmethod
    def from_values(cls, values: Iterable[Decimal | int | None]) -> CountMeasure:
        """Aggregate sample values; a sample without a value counts as 1."""
        total = Decimal(0)
        samples = 0
        for value in values:
            samples += 1
            total = EXACT.add(total, Decimal(1) if value is None else Decimal(value))
        return cls(total, samples)

    @property
    def attainment(self) -> Fraction:
        """The sum itself: a period without samples counts 0, which is data."""
        return Fraction(self.total)

    def merge(self, other: CountMeasure) -> CountMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, CountMeasure):
            raise TypeError("only count measures merge with a count measure")
        return CountMeasure(EXACT.add(self.total, other.total), self.samples + other.samples)


Measure: TypeAlias = UptimeMeasure | RatioMeasure | ThresholdMeasure | CountMeasure

MEASURE_FOR: dict[str, type[Measure]] = {
    "uptime": UptimeMeasure,
    "ratio": RatioMeasure,
    "threshold": ThresholdMeasure,
    "count": CountMeasure,
}
