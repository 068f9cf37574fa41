"""Exact numbers for the rest of the engine: no float, no rounding by accident.

Parameters are read strictly into finite, bounded ``Decimal`` values (:func:`to_decimal`);
exact values are rounded half up in integers (:func:`round_ratio`, :func:`round_half_up`);
attainment and credit percents are cut to the places the database keeps. ``EXACT`` is the
decimal context of sums and prorations.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from fractions import Fraction

from engine.errors import ParameterError, RuleError
from engine.l10n import gettext

HUNDRED = Fraction(100)
# Wide enough that sums and prorated fees of any realistic contract are exact; a fee
# prorated by a fraction such as 16/31 is the only value that is ever cut here.
EXACT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


# ASCII digits only: Python's Decimal() and int() also read "１２" (full-width) and "1_000",
# which no client means as a number and which would be stored as something else.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def is_plain_number(text: str) -> bool:
    """Whether ``text`` (surrounding blanks aside) is a decimal in ASCII digits."""
    return _NUMBER.fullmatch(text.strip()) is not None


def is_plain_integer(text: str) -> bool:
    """Whether ``text`` (surrounding blanks aside) is an integer in ASCII digits."""
    return _INTEGER.fullmatch(text.strip()) is not None


# Bounds that keep every product and quotient of parameters well inside EXACT and
# stop a rule such as step=1e-999999 from turning one evaluation into a huge integer.
_MAX_INTEGER_DIGITS = 15
_MAX_PLACES = 12


def to_decimal(
    value: object, field: str, error: type[ParameterError] = RuleError, label: str | None = None
) -> Decimal:
    """Read a parameter as a finite ``Decimal``: str, int, Decimal or float (via its text).

    Anything else, NaN, infinities, booleans, more than 15 integer digits or more than 12
    decimal places (trailing zeros aside) raise ``error`` for ``field``; ``label`` names the
    value in the message when it is not the field itself (a tier's ``bound`` in ``tiers``)."""
    name = label or field
    if isinstance(value, bool):
        raise error(
            gettext("%(name)s must be a number, not %(value)s")
            % {"name": name, "value": str(value).lower()},
            field=field,
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise error(gettext("%(name)s must be a finite number") % {"name": name}, field=field)
        # repr() is the shortest text that reads back as the same float, so 0.1 becomes
        # Decimal("0.1") rather than its binary approximation.
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise error(
                gettext("%(name)s must be a number, not %(value)s")
                % {"name": name, "value": repr(value)},
                field=field,
            )
        number = Decimal(text)
    elif value is None:
        raise error(gettext("%(name)s is required") % {"name": name}, field=field)
    else:
        raise error(gettext("%(name)s must be a number") % {"name": name}, field=field)
    if not number.is_finite():
        raise error(gettext("%(name)s must be a finite number") % {"name": name}, field=field)
    if number.is_zero():
        number = number.copy_abs()
    if number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise error(gettext("%(name)s is too large") % {"name": name}, field=field)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -_MAX_PLACES:
        # Trailing zeros are harmless ("1.0000000000000"); only real precision is refused.
        while exponent < -_MAX_PLACES and len(digits) > 1 and digits[-1] == 0:
            digits = digits[:-1]
            exponent += 1
        if exponent < -_MAX_PLACES:
            raise error(
                gettext("%(name)s has more than %(places)s decimal places")
                % {"name": name, "places": _MAX_PLACES},
                field=field,
            )
        number = Decimal((sign, digits, exponent))
    return number


def round_ratio(numerator: int, denominator: int, places: int) -> Decimal:
    """Round numerator/denominator (denominator > 0) to ``places`` decimals, ties away
    from zero, in integers only: this runs for every figure of every line."""
    scaled = abs(numerator) * 10**places
    units = (2 * scaled + denominator) // (2 * denominator)
    if numerator < 0 and units:
        units = -units
    return Decimal(f"{units}E-{places}") if places else Decimal(units)


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round an exact value to ``places`` decimals, ties away from zero."""
    return round_ratio(value.numerator, value.denominator, places)


def stored_credit_percent(value: Fraction) -> Decimal:
    """A credit percent as a statement line keeps it: exact up to 6 decimals, else rounded
    half up."""
    text = format(round_half_up(value, 6), "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def stored_attainment(attainment: Fraction | None) -> Decimal | None:
    """Attainment as the database keeps it: 10 decimals, ROUND_HALF_UP, enough for
    :func:`engine.text.format_attainment` to show the same 3 decimals as the exact value."""
    return None if attainment is None else round_half_up(Fraction(attainment), 10)


def threshold_met(value: Decimal, threshold: Decimal, comparator: str) -> bool:
    """Whether one sample ``value`` meets ``threshold`` (``gte``: at least; ``lte``: at most)."""
    if comparator == "gte":
        return value >= threshold
    if comparator == "lte":
        return value <= threshold
    raise ValueError(f"unknown comparator {comparator!r}: use gte or lte")
