"""Figures as text: money, decimals, percents, attainment, periods and durations.

Every surface (pages, e-mails, the API, CSV, the PDF and the engine's own explanations)
writes figures through these functions, so a figure reads the same wherever it appears.
Two registers:

- *for people* (``format_*``): thousands separators, the unit, e.g. ``"1,234.50 EUR"``,
  ``"17.333 %"``, ``"November 2026"``;
- *for machines* (``plain_*``): what CSV cells and JSON strings carry, e.g. ``"1234.50"``,
  ``"99.5"``: no separators, no exponent, never a float.

People read figures in their own language (:mod:`engine.l10n`): German writes
``"1.234,50 EUR"``, ``"17,333 %"``, ``"November 2026"``, ``"16.–22. Nov. 2026"``. Machines
never do: the ``plain_*`` functions and :func:`format_attainment` are the same in every
language.

Money always has its currency's minor unit (ISO 4217: JPY 0, EUR 2, BHD 3 decimals),
rounded by :func:`engine.money.quantize_money`, never to a fixed two places.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from engine.l10n import current, gettext
from engine.money import quantize_money
from engine.numbers import round_half_up
from engine.periods import period_containing
from engine.vocabulary import PERIOD_KINDS

Number = Decimal | Fraction | int

# --------------------------------------------------------------------------- money


def format_money(amount: Number, currency: str) -> str:
    """Money for people: ``"2,000.00 EUR"``, ``"1,500 JPY"``, ``"1.250 BHD"``; German
    ``"2.000,00 EUR"``."""
    return f"{localise_figure(format(quantize_money(amount, currency), ',f'))} {currency}"


def plain_money(amount: Number, currency: str) -> str:
    """Money for machines (CSV, JSON): ``"2000.00"``, ``"1500"`` (JPY), ``"1.250"`` (BHD)."""
    return format(quantize_money(amount, currency), "f")


# --------------------------------------------------------------------------- decimals


def format_decimal(value: Decimal | int) -> str:
    """A decimal for people: thousands separators, no exponent, no trailing zeros
    (``"1,234.5"``, ``"99.5"``, ``"3"``; German ``"1.234,5"``)."""
    return localise_figure(_strip(format(Decimal(value), ",f")))


def plain_decimal(value: Decimal | int | None) -> str:
    """A decimal for machines: no separators, exponent or trailing zeros (``"99.5"``,
    ``"1234.5"``, ``"3"``, ``"0"``); empty when there is no value."""
    if value is None:
        return ""
    return _strip(format(Decimal(value), "f"))


def canonical_decimal(value: Decimal) -> str:
    """A rule parameter as its JSON keeps it: the digits as read, never an exponent
    (``"0.50"`` stays ``"0.50"``, so a stored rule reads back exactly as written)."""
    return format(value, "f")


def localise_figure(text: str) -> str:
    """A figure written the English way (``"1,234.5"``) as the reader's language writes
    it (German ``"1.234,5"``); unchanged in English."""
    locale = current()
    if locale.writes_numbers_as_english:
        return text
    return text.translate(
        str.maketrans({",": locale.thousand_separator, ".": locale.decimal_separator})
    )


def _strip(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_fraction(value: Fraction | Decimal | int, places: int = 3) -> str:
    """An exact value for people: as it is when it has at most ``places`` decimals
    (``"2.5"``, ``"1,500"``), else rounded half up to ``places`` (``"17.333"``)."""
    value = Fraction(value)
    rounded = round_half_up(value, places)
    if (value * 10**places).denominator == 1:
        return format_decimal(rounded)
    return localise_figure(format(rounded, ",f"))


def format_percent(value: Fraction | Decimal | int) -> str:
    """A percentage for people (credit percents, caps, allocations): the rule of
    :func:`format_fraction` and a spaced sign, ``"2 %"``, ``"17.333 %"``."""
    return f"{format_fraction(value)} %"


# --------------------------------------------------------------------------- attainment


def format_attainment(attainment: Fraction | Decimal) -> str:
    """Attainment as statements show it: 3 decimals, ROUND_HALF_UP (``"99.884"``).
    The one rounding of attainment: the API, CSV, pages and e-mails all use it."""
    return format(round_half_up(Fraction(attainment), 3), "f")


def format_measured(attainment: Fraction | Decimal, *, percentage: bool) -> str:
    """Attainment for people with its unit: a percentage to 3 decimals (``"99.884 %"``),
    a count as the number it is (``"3"``, not ``"3.000"``)."""
    if percentage:
        return f"{localise_figure(format_attainment(attainment))} %"
    return format_fraction(Fraction(attainment))


def format_target(target: Decimal, *, comparator: str, percentage: bool) -> str:
    """A target in a table cell: ``"≥ 99.5 %"`` (``gte``), ``"≤ 5"`` (``lte``, a count)."""
    symbol = "≤" if comparator == "lte" else "≥"
    return f"{symbol} {format_decimal(target)}{' %' if percentage else ''}"


# --------------------------------------------------------------------------- periods


def period_kind(start: date, end: date) -> str | None:
    """``"week"``, ``"month"`` or ``"quarter"`` when ``start``..``end`` is exactly such a
    period, else ``None``. Read from the dates themselves, so a statement keeps its label
    even if the contract's settlement period changes later."""
    for kind in PERIOD_KINDS:
        period = period_containing(start, kind, "UTC")
        if (period.start, period.end) == (start, end):
            return kind
    return None


def period_label(start: date, end: date) -> str:
    """The one name of a settlement period (``end`` inclusive), on every surface:

    - month: ``"November 2026"``
    - quarter: ``"Q4 2026"``
    - ISO week: ``"Week 47 2026 (16–22 Nov)"``; the ISO year, so the week of 28 Dec 2026
      is ``"Week 53 2026 (28 Dec 2026 – 3 Jan 2027)"``
    - anything else: its days, ``"16 Nov – 3 Dec 2026"``
    """
    kind = period_kind(start, end)
    if kind == "month":
        return f"{current().month_names[start.month - 1]} {start.year}"
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == "week":
        year, week, _ = start.isocalendar()
        days = date_range(start, end, year=start.year != end.year)
        return gettext("Week %(week)s %(year)s (%(days)s)") % {
            "week": week,
            "year": year,
            "days": days,
        }
    return date_range(start, end)


def date_range(start: date, end: date, *, year: bool = True) -> str:
    """Days from ``start`` to ``end`` inclusive, each part said once: ``"16–22 Nov 2026"``,
    ``"30 Nov – 6 Dec 2026"``, ``"28 Dec 2026 – 3 Jan 2027"``; without the year
    (``"16–22 Nov"``) when ``year`` is false and both days are in the same year."""
    if start.year != end.year:
        return f"{_day(start)} {start.year} – {_day(end)} {end.year}"
    suffix = f" {end.year}" if year else ""
    if start.month == end.month:
        if start.day == end.day:
            return f"{_day(start)}{suffix}"
        return f"{current().day_alone.format(day=start.day)}–{_day(end)}{suffix}"
    return f"{_day(start)} – {_day(end)}{suffix}"


def _day(day: date) -> str:
    locale = current()
    return locale.day_month.format(day=day.day, month=locale.month_abbreviations[day.month - 1])


def format_day(day: date) -> str:
    """A calendar day for people: ``"3 Aug 2026"``; German ``"3. Aug. 2026"``. ISO
    (``"2026-08-03"``) is for inputs, CSV and the API only."""
    return f"{_day(day)} {day.year}"


# --------------------------------------------------------------------------- durations


def format_duration(seconds: int) -> str:
    """A duration for people, in minutes as service levels are written: ``"150 min"``,
    ``"43,200 min"``, ``"2 min 5 s"``, ``"45 s"``."""
    minutes, rest = divmod(int(seconds), 60)
    if not rest:
        return f"{localise_figure(f'{minutes:,}')} min"
    if not minutes:
        return f"{rest} s"
    return f"{localise_figure(f'{minutes:,}')} min {rest} s"


# --------------------------------------------------------------------------- moments


def format_instant(moment: datetime, tz: str, *, seconds: bool = False) -> str:
    """An instant for people on ``tz``'s clock, its zone always said: ``"2 Dec 2026 05:25
    CET"``; German ``"2. Dez. 2026 05:25 CET"``. Pages pass the viewer's zone for
    something that happened (issued, sent, recorded, decided) and the contract's zone for
    its calendar (maintenance windows, closures), so the label tells which clock it is;
    ``seconds`` where they tell records apart (samples, deliveries)."""
    local = moment.astimezone(ZoneInfo(tz))
    clock = "%H:%M:%S %Z" if seconds else "%H:%M %Z"
    return f"{format_day(local.date())} {local.strftime(clock)}"


def local_moment(moment: datetime, tz: str) -> str:
    """An instant on the contract's clock, with the zone's abbreviation:
    ``"2026-11-30 00:00 CET"``; German ``"30.11.2026 00:00 CET"``."""
    return moment.astimezone(ZoneInfo(tz)).strftime(f"{current().moment} %Z")


def local_span(start: datetime, end: datetime, tz: str) -> str:
    """An interval on the contract's clock: ``"2026-10-05 10:00 to 12:00 UTC"``, with the
    end's day where it is another one."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone), end.astimezone(zone)
    moment = current().moment
    until = "%H:%M %Z" if first.date() == last.date() else f"{moment} %Z"
    return gettext("%(start)s to %(end)s") % {
        "start": first.strftime(moment),
        "end": last.strftime(until),
    }
