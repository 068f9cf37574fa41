"""The credit cap: a statement's total brought down to the period's at-risk amount.

Lines keep the amounts their rules earned; the cap is a separate adjustment, so a customer
can see both what was earned and what the contract limits it to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.money import quantize_money
from engine.text import format_money


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
