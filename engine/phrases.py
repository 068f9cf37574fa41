"""Explanations kept as their parts, so that every reader reads them in their own language.

A statement is issued once and never changes; its explanations are written in the site's
language (English) and kept as issued. Beside each one the statement keeps its *parts*:
the English message with named placeholders, and each placeholder's value as the exact
figure issued (a Decimal's digits, a fraction's numerator and denominator, ISO dates) or
as nested parts. :func:`render` writes them in the language of the moment
(:mod:`engine.l10n`) with exactly those figures; in English it gives the text as issued.

Parts are JSON as they are built, and stay readable by later code:

- a message: ``{"text": msgid, "args": {name: value}}``; a plural one also has
  ``"plural"`` (the other form) and ``"n"`` (the number that chooses);
- a value: a ``str`` (said as it is: names of objectives and services, references, a
  person's words), an ``int``, a message, or a figure such as
  ``{"money": "12.50", "currency": "EUR"}``, ``{"fraction": [52, 3]}``,
  ``{"period": ["2026-11-01", "2026-11-30"]}``; ``{"join": [values], "sep": "; "}`` puts
  values side by side, ``{"series": [values]}`` says "A, B and C".

Messages are marked with :func:`~engine.l10n.gettext_noop` and
:func:`~engine.l10n.ngettext_noop` where they are built, so that ``makemessages`` keeps
them in the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeAlias

from engine.l10n import current, gettext, ngettext
from engine.text import (
    format_attainment,
    format_decimal,
    format_duration,
    format_fraction,
    format_measured,
    format_money,
    local_span,
    localise_figure,
    period_label,
)

Parts: TypeAlias = dict[str, Any]
Value: TypeAlias = "str | int | Parts"


def message(text: str, **args: Value) -> Parts:
    """A message (marked with ``gettext_noop``) and its placeholders' values."""
    return {"text": text, "args": args}


def plural(forms: tuple[str, str], number: int, /, **args: Value) -> Parts:
    """A message with a singular and a plural form (marked with ``ngettext_noop``),
    the form chosen by ``number`` in the reader's language."""
    singular, other = forms
    return {"text": singular, "plural": other, "n": number, "args": args}


def money(amount: Decimal, currency: str) -> Parts:
    """``"1,234.50 EUR"``; German ``"1.234,50 EUR"``."""
    return {"money": format(amount, "f"), "currency": currency}


def decimal(value: Decimal | int) -> Parts:
    """A parameter as written: ``"0.5"``; German ``"0,5"``."""
    return {"decimal": format(Decimal(value), "f")}


def exact(value: Fraction | Decimal | int) -> Parts:
    """An exact value, rounded to 3 places only where it has more (``"17.333"``)."""
    value = Fraction(value)
    return {"fraction": [value.numerator, value.denominator]}


def measured(attainment: Fraction, *, percentage: bool) -> Parts:
    """Attainment with its unit: ``"99.884 %"``; a count as the number it is."""
    return {**exact(attainment), "measured": percentage}


def attainment(value: Fraction) -> Parts:
    """Attainment to 3 places without its unit: ``"66.667"``; German ``"66,667"``."""
    return {**exact(value), "attainment": True}


def duration(seconds: int) -> Parts:
    """``"150 min"``, ``"2 min 5 s"``."""
    return {"duration": int(seconds)}


def count(number: int) -> Parts:
    """A whole number with thousands separators: ``"1,234"``; German ``"1.234"``."""
    return {"count": int(number)}


def period(start: date, end: date) -> Parts:
    """A settlement period's name: ``"November 2026"``, ``"Week 47 2026 (16–22 Nov)"``."""
    return {"period": [start.isoformat(), end.isoformat()]}


def span(start: datetime, end: datetime, tz: str) -> Parts:
    """An interval on a contract's clock: ``"2026-10-05 10:00 to 12:00 UTC"``."""
    return {"span": [start.isoformat(), end.isoformat(), tz]}


def join(values: Sequence[Value], sep: str) -> Parts:
    """Values side by side, ``sep`` between them (a separator every language writes alike)."""
    return {"join": list(values), "sep": sep}


def series(values: Sequence[Value]) -> Parts:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    return {"series": list(values)}


# The language explanations are issued in: their messages' own (the msgids), which no
# catalogue translates.
ISSUED_IN = "en"


def reads_as_issued() -> bool:
    """Whether the current language is the one explanations are issued in: their text as
    issued is then exactly what :func:`render` would write, and costs nothing to read
    (a statement e-mail writes a line's explanation for every line it lists)."""
    return current().code.split("-")[0] == ISSUED_IN


def render(value: Value) -> str:
    """The parts as text in the current language, with the figures they keep."""
    # Every line of every statement is written through here: the cheapest tests first.
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if "text" in value:
        args = {name: render(arg) for name, arg in value["args"].items()}
        if "plural" in value:
            return ngettext(value["text"], value["plural"], value["n"]) % args
        return gettext(value["text"]) % args
    return _figure(value)


def _figure(value: Parts) -> str:
    if "fraction" in value:
        number = Fraction(*value["fraction"])
        if "measured" in value:
            return format_measured(number, percentage=value["measured"])
        if "attainment" in value:
            return localise_figure(format_attainment(number))
        return format_fraction(number)
    if "money" in value:
        return format_money(Decimal(value["money"]), value["currency"])
    if "decimal" in value:
        return format_decimal(Decimal(value["decimal"]))
    if "duration" in value:
        return format_duration(value["duration"])
    if "count" in value:
        return localise_figure(f"{value['count']:,}")
    if "period" in value:
        start, end = value["period"]
        return period_label(date.fromisoformat(start), date.fromisoformat(end))
    if "span" in value:
        start, end, tz = value["span"]
        return local_span(datetime.fromisoformat(start), datetime.fromisoformat(end), tz)
    if "join" in value:
        return value["sep"].join(render(item) for item in value["join"])
    if "series" in value:
        items = [render(item) for item in value["series"]]
        if len(items) < 2:
            return "".join(items)
        last = items.pop()
        return gettext("%(items)s and %(last)s") % {"items": ", ".join(items), "last": last}
    raise ValueError(f"not the parts of an explanation: {value!r}")
