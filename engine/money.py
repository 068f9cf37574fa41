"""Money: a currency's minor unit, the one rounding of amounts, the at-risk amount and the cap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache

from babel.numbers import get_currency_name, get_currency_precision, list_currencies

from engine.errors import ParameterError
from engine.numbers import _HUNDRED, _round_ratio, _to_decimal


def is_currency(code: object) -> bool:
    """Whether ``code`` is an ISO 4217 currency code that babel knows (``"EUR"``)."""
    return isinstance(code, str) and _is_currency(code)


# ISO 4217 also codes "no currency" and a code for tests; neither can price a contract.
_NOT_MONEY = frozenset({"Unknown Currency", "Testing Currency Code"})


@cache
def _is_currency(code: str) -> bool:
    return (
        len(code) == 3
        and code.isascii()
        and code.isalpha()
        and code.isupper()
        and code in list_currencies()
        and get_currency_name(code, locale="en") not in _NOT_MONEY
    )


@cache
def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 for EUR and USD, 0 for JPY."""
    if not is_currency(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
    return int(get_currency_precision(currency))


def quantize_money(amount: Decimal | Fraction | int, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit, ROUND_HALF_UP: the one place where
    money is rounded. Exact values (``Fraction``) are rounded without an intermediate
    decimal, so a tie is recognised exactly."""
    places = minor_units(currency)
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ValueError("an amount must be a finite number")
        if amount.as_tuple().exponent == -places and not (amount.is_zero() and amount.is_signed()):
            return amount
        return _round_ratio(*amount.as_integer_ratio(), places)
    if isinstance(amount, Fraction):
        return _round_ratio(amount.numerator, amount.denominator, places)
    if isinstance(amount, int) and not isinstance(amount, bool):
        return _round_ratio(amount, 1, places)
    raise TypeError(f"an amount is a Decimal, Fraction or int, not {type(amount).__name__}")


def format_money(amount: Decimal | Fraction | int, currency: str) -> str:
    """Money for people: ``"2,000.00 EUR"``, ``"1,500 JPY"``."""
    return f"{quantize_money(amount, currency):,f} {currency}"


def at_risk_amount(
    cap_percent: Decimal | None, fees_total: Decimal, currency: str
) -> Decimal | None:
    """The at-risk amount of a period: ``cap_percent`` of its total fees, quantized;
    ``None`` when the contract has no cap."""
    if cap_percent is None:
        return None
    percent = _to_decimal(cap_percent, "credit_cap_percent", ParameterError)
    if percent < 0:
        raise ParameterError("credit_cap_percent must not be negative", field="credit_cap_percent")
    return quantize_money(Fraction(fees_total) * Fraction(percent) / _HUNDRED, currency)


@dataclass(frozen=True, slots=True)
class CapResult:
    """A statement's total after the cap: lines keep their amounts, and a separate
    ``cap_adjustment`` (zero or negative) brings the total down to the at-risk amount."""

    credit_total: Decimal
    cap_adjustment: Decimal
    explanation: str
    lines_total: Decimal


def apply_cap(amounts: Sequence[Decimal], at_risk: Decimal | None, currency: str) -> CapResult:
    """Total the (quantized) line amounts and cap the total at ``at_risk`` (no cap when
    ``None``)."""
    zero = quantize_money(0, currency)
    lines_total = zero
    for amount in amounts:
        if amount < 0:
            raise ValueError("a credit line amount cannot be negative")
        lines_total += quantize_money(amount, currency)
    if at_risk is None:
        return CapResult(
            lines_total,
            zero,
            f"No credit cap applies: the total is the sum of the lines, "
            f"{format_money(lines_total, currency)}.",
            lines_total,
        )
    cap = quantize_money(at_risk, currency)
    if cap < 0:
        raise ValueError("the at-risk amount cannot be negative")
    if lines_total <= cap:
        return CapResult(
            lines_total,
            zero,
            f"Credits of {format_money(lines_total, currency)} are within the at-risk amount "
            f"of {format_money(cap, currency)}: no cap adjustment.",
            lines_total,
        )
    adjustment = cap - lines_total
    return CapResult(
        cap,
        adjustment,
        f"Credits of {format_money(lines_total, currency)} exceed the at-risk amount of "
        f"{format_money(cap, currency)}: a cap adjustment of "
        f"{format_money(adjustment, currency)} brings the total to "
        f"{format_money(cap, currency)}.",
        lines_total,
    )
