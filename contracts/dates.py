"""The dates the portal accepts: from 1 January 1970 to the end of 2199, for every day and
instant it stores or settles (contracts, records, lapses, closures, samples, tickets).

Nothing earlier can belong to a service measured today, and a contract dated from year 1
would be settled period by period back to then; nothing later is a plausible plan, and the
periods around the end of the calendar overflow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2199, 12, 31)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# Exclusive: the first instant past LATEST_DAY.
END = datetime(2200, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = f"Must lie between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}."


def is_within_range(value: date | datetime) -> bool:
    """Whether a day or an aware instant lies between 1970 and the end of 2199 (UTC)."""
    if isinstance(value, datetime):
        try:
            return EARLIEST <= value < END
        except TypeError:  # a naive time: its field's own validation speaks for it
            return True
    return EARLIEST_DAY <= value <= LATEST_DAY


def dates_out_of_range(instance: Any, *names: str) -> dict[str, str]:
    """``{field: message}`` for each named date or date-time field of ``instance`` that is
    set and outside the range, for a model's ``clean()``."""
    return {
        name: OUT_OF_RANGE
        for name in names
        if isinstance(value := getattr(instance, name), date) and not is_within_range(value)
    }
