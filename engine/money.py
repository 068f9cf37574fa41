"""Money: which codes are currencies, a currency's minor unit, and the one rounding of amounts.

Currencies and their minor units come from ISO 4217 itself (the ``iso4217`` package, which
follows the maintenance agency's list), not from locale data: CLDR rounds HUF, COP or IQD
to the whole unit for cash, while ISO 4217 gives HUF 2, IQD 3, BHD 3, CLF 4 and JPY 0.

Every amount the engine returns went through :func:`quantize_money`; the at-risk amount of
a period (the cap percent of its fees) is computed here too, so the cap and a pool rule
start from the same figure.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cache

from iso4217 import Currency

from engine.errors import ParameterError
from engine.l10n import gettext
from engine.numbers import HUNDRED, round_ratio, to_decimal


def is_currency(code: object) -> bool:
    """Whether ``code`` is an ISO 4217 code of money with a minor unit (``"EUR"``)."""
    return isinstance(code, str) and _minor_units(code) is not None


@cache
def _minor_units(code: str) -> int | None:
    # Codes without a minor unit in ISO 4217 (gold, SDR, the testing code, "no currency")
    # cannot price a contract.
    if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        return None
    try:
        return Currency(code).exponent
    except ValueError:
        return None


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit in ISO 4217: 2 for EUR, USD and HUF,
    0 for JPY, 3 for BHD, 4 for CLF."""
    places = _minor_units(currency) if isinstance(currency, str) else None
    if places is None:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
    return places


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
        raise ParameterError(
            gettext("credit_cap_percent must not be negative"), field="credit_cap_percent"
        )
    return quantize_money(Fraction(fees_total) * Fraction(percent) / HUNDRED, currency)
