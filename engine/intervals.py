"""Intervals of time (incidents, maintenance, relief) as whole epoch seconds.

Union, subtraction and intersection count every second once, however intervals overlap;
:func:`uptime_attainment` combines them into the scheduled and downtime seconds of a
period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from engine.measures import UptimeMeasure

Instant: TypeAlias = datetime | int
Interval: TypeAlias = tuple[Instant, Instant | None]
_Span: TypeAlias = tuple[int, int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def to_epoch_seconds(instant: Instant) -> int:
    """Whole seconds since the epoch of an aware datetime (or an int, unchanged)."""
    if isinstance(instant, datetime):
        if instant.utcoffset() is None:
            raise ValueError("intervals need timezone-aware datetimes")
        return (instant - _EPOCH) // _SECOND
    if isinstance(instant, int) and not isinstance(instant, bool):
        return instant
    raise TypeError(f"an instant is an aware datetime or epoch seconds, not {instant!r}")


def _spans(
    intervals: Iterable[Interval], low: int | None = None, high: int | None = None
) -> list[_Span]:
    """Intervals as sorted, disjoint, non-empty spans clipped to ``[low, high)``."""
    spans: list[_Span] = []
    for start, end in intervals:
        first = to_epoch_seconds(start)
        if end is None:
            if high is None:
                raise ValueError("an open interval needs a window to end in")
            last = high
        else:
            last = to_epoch_seconds(end)
            if last < first:
                raise ValueError("an interval cannot end before it starts")
        if low is not None:
            first = max(first, low)
        if high is not None:
            last = min(last, high)
        if first < last:
            spans.append((first, last))
    return merge_spans(spans)


def merge_spans(spans: Iterable[_Span]) -> list[_Span]:
    """Sorted, disjoint, non-empty spans covering the same seconds; touching spans merge."""
    merged: list[_Span] = []
    for first, last in sorted(spans):
        if first >= last:
            continue
        if merged and first <= merged[-1][1]:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def subtract_spans(spans: Sequence[_Span], removed: Sequence[_Span]) -> list[_Span]:
    """``spans`` less ``removed``; both sorted and disjoint."""
    result: list[_Span] = []
    skip = 0
    for first, last in spans:
        cursor = first
        while skip < len(removed) and removed[skip][1] <= cursor:
            skip += 1
        index = skip
        while index < len(removed) and removed[index][0] < last:
            cut_first, cut_last = removed[index]
            if cut_first > cursor:
                result.append((cursor, cut_first))
            cursor = max(cursor, cut_last)
            if cursor >= last:
                break
            index += 1
        if cursor < last:
            result.append((cursor, last))
    return result


def _intersect(left: list[_Span], right: list[_Span]) -> list[_Span]:
    result: list[_Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        first = max(left[i][0], right[j][0])
        last = min(left[i][1], right[j][1])
        if first < last:
            result.append((first, last))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _length(spans: list[_Span]) -> int:
    return sum(last - first for first, last in spans)


def union_length(intervals: Iterable[Interval]) -> int:
    """Seconds covered by the union of closed intervals: an overlapping or repeated
    second counts once."""
    return _length(_spans(intervals))


def uptime_attainment(
    period_start_at: Instant,
    period_end_at: Instant,
    active: Sequence[Interval] | None,
    maintenance: Sequence[Interval],
    incidents: Sequence[Interval],
    relief: Sequence[Interval] = (),
) -> UptimeMeasure:
    """Scheduled and downtime seconds of one contract service in ``[start, end)``.

    Scheduled: the window (the period, intersected with the ``active`` intervals of the
    contract unless ``None``) minus maintenance. Downtime: the union of the given
    incidents (pass only provider-caused ones) within the scheduled time, minus
    ``relief`` (lapses of customer responsibilities). No second is counted twice.
    """
    low, high = to_epoch_seconds(period_start_at), to_epoch_seconds(period_end_at)
    if high < low:
        raise ValueError("a period cannot end before it starts")
    window = [(low, high)] if active is None else _spans(active, low, high)
    scheduled = subtract_spans(window, _spans(maintenance, low, high))
    downtime = _intersect(_spans(incidents, low, high), scheduled)
    if relief:
        downtime = subtract_spans(downtime, _spans(relief, low, high))
    return UptimeMeasure(_length(scheduled), _length(downtime))
