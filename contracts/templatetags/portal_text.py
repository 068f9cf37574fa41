"""Template filters that write figures through :mod:`engine.text`, so pages, the PDF and
e-mails read exactly like the CSV and the API (``{% load portal_text %}``).

Each filter answers an empty string for a missing value (``None``): the template decides
what "no value" looks like (``no data``, ``—``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django import template
from django.utils import timezone

import engine
from contracts.views.common import LEVEL_NAMES
from engine import text

register = template.Library()


def _number(value: Decimal | Fraction | int | str) -> Decimal | Fraction | int:
    # Exact values (Fraction, Decimal) pass through; text from a context is read exactly.
    if isinstance(value, Decimal | Fraction | int):
        return value
    return Decimal(value)


@register.filter
def money(amount: Decimal | Fraction | int | None, currency: str) -> str:
    """``{{ cs.fee|money:contract.currency }}`` → ``1,234.50 EUR``, ``1,500 JPY``."""
    if amount is None or amount == "":
        return ""
    return text.format_money(_number(amount), currency)


@register.filter
def decimal(value: Decimal | int | None) -> str:
    """``{{ line.target|decimal }}`` → ``99.5`` (no trailing zeros, thousands separated)."""
    if value is None or value == "":
        return ""
    return text.format_decimal(Decimal(value))


@register.filter
def percent(value: Decimal | Fraction | int | None) -> str:
    """``{{ contract.credit_cap_percent|percent }}`` → ``10 %``, ``17.333 %``."""
    if value is None or value == "":
        return ""
    return text.format_percent(_number(value))


@register.filter
def attainment(value: Decimal | Fraction | None, indicator: str = "") -> str:
    """``{{ line.attainment|attainment:line.indicator }}`` → ``99.884 %`` or, for
    ``"count"``, ``3``; without an argument the bare figure, ``99.884``."""
    if value is None or value == "":
        return ""
    if not indicator:
        return text.format_attainment(_number(value))
    return text.format_measured(_number(value), percentage=indicator != "count")


@register.filter
def target(line: Any) -> str:
    """``{{ line|target }}`` → ``≥ 99.5 %``: anything with ``target``, ``comparator``
    and ``indicator`` (a statement line, a service level)."""
    return text.format_target(
        line.target, comparator=line.comparator, percentage=line.indicator != "count"
    )


@register.filter
def period(value: Any, kind: str = "") -> str:
    """The one name of a period: ``{{ statement|period }}`` (``period_start`` and
    ``period_end``), ``{{ history.open_period|period }}`` (``start`` and ``end``), or
    ``{{ warning.period_start|period:contract.settlement_period }}`` (the period of that
    kind containing the day) → ``November 2026``, ``Q4 2026``, ``Week 47 2026 (16–22 Nov)``."""
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        found = engine.period_containing(value, kind, "UTC")
        return text.period_label(found.start, found.end)
    if hasattr(value, "period_start"):
        return text.period_label(value.period_start, value.period_end)
    return text.period_label(value.start, value.end)


@register.filter
def duration(seconds: int | None) -> str:
    """``{{ seconds|duration }}`` → ``150 min``, ``2 min 5 s``."""
    if seconds is None or seconds == "":
        return ""
    return text.format_duration(int(seconds))


@register.filter
def objective_level(level: str) -> str:
    """``{{ line.source_level|objective_level }}`` → ``corporate``, ``contract-wide``: where
    an objective was set, in the reader's language (a stored level unknown here as is)."""
    return str(LEVEL_NAMES.get(level, level))


@register.filter
def instant(moment: datetime | None, zone: str = "") -> str:
    """An instant with its zone: ``{{ statement.issued_at|instant }}`` in the viewer's zone
    (the one active for the request) → ``2 Dec 2026 05:25 JST``, the same on every page;
    ``{{ mw.start|instant:contract.timezone }}`` on the contract's clock, for its calendar
    (maintenance windows, closures) → ``1 Dec 2026 22:00 CET``."""
    if moment is None or moment == "":
        return ""
    return text.format_instant(moment, zone or timezone.get_current_timezone_name())


@register.filter
def instant_seconds(moment: datetime | None) -> str:
    """:func:`instant` to the second, where seconds tell records apart (a sample, a
    webhook delivery): ``10 Nov 2026 12:30:00 UTC``."""
    if moment is None or moment == "":
        return ""
    return text.format_instant(moment, timezone.get_current_timezone_name(), seconds=True)


@register.filter
def day(value: date | None) -> str:
    """A calendar day: ``{{ contract.start_date|day }}`` → ``3 Aug 2026``; German
    ``3. Aug. 2026``."""
    if value is None or value == "":
        return ""
    return text.format_day(value)
