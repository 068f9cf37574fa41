"""Money: which codes are currencies, a currency's minor unit, and the one rounding of amounts.

Every amount the engine returns went through :func:`quantize_money`; the at-risk amount of
a period (the cap percent of its fees) is computed here too, so the cap and a pool rule
start from the same figure.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cache

from babel.numbers import get_currency_name, get_currency_precision, list_currencies

from engine.errors import ParameterError
from engine.numbers import HUNDRED, round_ratio, to_decimal


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
        return round_ratio(*amount.as_integer_ratio(), places)
    if isinstance(amount, Fraction):
        return round_ratio(amount.numerator, amount.denominator, places)
    if isinstance(amount, int) and not isinstance(amount, bool):
        return round_ratio(amount, 1, places)
    raise TypeError(f"an amount is a Decimal, Fraction or int, not {type(amount).__name__}")


def at_risk_amount(
    cap_percent: Decimal | None, fees_total: Decimal, currency: str
) -> Decimal | None:
    """The at-risk amount of a period: ``cap_percent`` of its total fees, quantized;
    ``None`` when the contract has no cap."""
    if cap_percent is None:
        return None
    percent = to_decimal(cap_percent, "credit_cap_percent", ParameterError)
    if percent < 0:
        raise ParameterError("credit_cap_percent must not be negative", field="credit_cap_percent")
    return quantize_money(Fraction(fees_total) * Fraction(percent) / HUNDRED, currency)
