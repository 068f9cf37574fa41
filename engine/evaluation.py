"""An objective evaluated against its measure for one period.

:func:`evaluate` returns the attainment, whether the target was met, the shortfall, the
credit (percent and amount) and the sentence that explains how each figure was reached;
:func:`credit_percent_for` is the credit percent alone, for projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeAlias

from engine.calendars import ServiceCalendar
from engine.errors import ObjectiveError, RuleError
from engine.measures import MEASURE_FOR, CountMeasure, Measure, RatioMeasure, UptimeMeasure
from engine.money import quantize_money
from engine.numbers import HUNDRED, stored_credit_percent, to_decimal
from engine.rules import (
    CreditRule,
    FlatRule,
    LinearRule,
    PerStepRule,
    PoolRule,
    TieredRule,
    validate_rule_for,
)
from engine.text import (
    format_decimal,
    format_duration,
    format_fraction,
    format_measured,
    format_money,
)
from engine.tickets import TicketMeasure, explain_tickets
from engine.vocabulary import COMPARATORS, INDICATORS, NO_DATA_EXPLANATION, TICKET_INDICATORS

_ZERO = Fraction(0)

# A statement line names this many of its longest ticket clocks; the line's drill-down
# lists every ticket.
WORST_TICKETS_NAMED = 2

ObjectiveMeasure: TypeAlias = Measure | TicketMeasure
"""What any objective is evaluated from: a sample or time measure, or a ticket measure."""

MEASURE_OF: dict[str, type[ObjectiveMeasure]] = {
    **MEASURE_FOR,
    **dict.fromkeys(TICKET_INDICATORS, TicketMeasure),
}
"""The measure type each indicator is evaluated from, ticket indicators included."""


@dataclass(frozen=True, slots=True)
class Objective:
    """An effective service level of one contract service."""

    key: str
    name: str
    indicator: str
    comparator: str
    target: Decimal
    rule: CreditRule | None
    threshold: Decimal | None = None
    threshold_comparator: str | None = None
    # Service hours the objective is measured in; None is around the clock.
    calendar: ServiceCalendar | None = None
    # The ticket priority a ticket objective is about; None is every priority.
    priority: str | None = None
    # Chronic failure (SPEC §6): this many breaches within ``chronic_window`` consecutive
    # periods give the customer a right to terminate; None: not agreed.
    chronic_breaches: int | None = None
    chronic_window: int | None = None

    def __post_init__(self) -> None:
        if self.indicator not in INDICATORS:
            raise ObjectiveError(
                f"unknown indicator {self.indicator!r}: use {', '.join(INDICATORS)}",
                field="indicator",
            )
        if self.comparator not in COMPARATORS:
            raise ObjectiveError(
                f"unknown comparator {self.comparator!r}: use gte or lte", field="comparator"
            )
        target = to_decimal(self.target, "target", ObjectiveError)
        object.__setattr__(self, "target", target)
        if target < 0:
            raise ObjectiveError("target must not be negative", field="target")
        if self.indicator != "count" and target > 100:
            raise ObjectiveError("a percentage target must be at most 100", field="target")
        if self.indicator == "threshold":
            if self.threshold is None:
                raise ObjectiveError("a threshold objective needs a threshold", field="threshold")
            object.__setattr__(
                self, "threshold", to_decimal(self.threshold, "threshold", ObjectiveError)
            )
            if self.threshold_comparator not in COMPARATORS:
                raise ObjectiveError(
                    "threshold_comparator must be gte or lte", field="threshold_comparator"
                )
        if self.indicator in TICKET_INDICATORS:
            if self.threshold is None:
                raise ObjectiveError(
                    "a ticket objective needs a threshold in minutes", field="threshold"
                )
            threshold = to_decimal(self.threshold, "threshold", ObjectiveError)
            if threshold <= 0:
                raise ObjectiveError(
                    "a ticket threshold is a number of minutes above 0", field="threshold"
                )
            object.__setattr__(self, "threshold", threshold)
        if self.calendar is not None and not isinstance(self.calendar, ServiceCalendar):
            raise ObjectiveError("calendar must be a service calendar", field="calendar")
        if self.priority is not None and not isinstance(self.priority, str):
            raise ObjectiveError("a priority is a short code such as P1", field="priority")
        if self.priority == "":
            object.__setattr__(self, "priority", None)
        _check_chronic(self)
        if self.rule is not None and not isinstance(self.rule, CreditRule):
            raise ObjectiveError("rule must be a parsed credit rule", field="credit_rule")
        validate_rule_for(self.rule, self.comparator)

    @property
    def label(self) -> str:
        """The name to use in sentences."""
        return self.name or self.key

    @property
    def is_percentage(self) -> bool:
        """Whether attainment and target are percentages: every indicator but a count."""
        return self.indicator != "count"

    @property
    def is_ticket(self) -> bool:
        """Whether the objective is about ticket clocks (response or resolution time)."""
        return self.indicator in TICKET_INDICATORS

    @property
    def clock_kind(self) -> str | None:
        """The ticket clock a ticket objective reads (``response``, ``resolution``)."""
        return TICKET_INDICATORS.get(self.indicator)

    @property
    def in_service_hours(self) -> bool:
        """Whether only service hours count: a calendar that is not around the clock."""
        return self.calendar is not None and not self.calendar.is_always


# A chronic-failure window reaches at most this many periods: two years of months.
MAX_CHRONIC_WINDOW = 24


def _whole(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ObjectiveError(f"{field} must be a whole number", field=field)
    return value


def _check_chronic(objective: Objective) -> None:
    """Both chronic-failure terms or neither: 1 ≤ breaches ≤ window ≤ 24 periods."""
    breaches = _whole(objective.chronic_breaches, "chronic_breaches")
    window = _whole(objective.chronic_window, "chronic_window")
    if (breaches is None) != (window is None):
        field = "chronic_window" if window is None else "chronic_breaches"
        raise ObjectiveError(
            "give both the number of breaches and the window of periods, or neither",
            field=field,
        )
    if breaches is not None and window is not None:
        if not 1 <= window <= MAX_CHRONIC_WINDOW:
            raise ObjectiveError(
                f"chronic_window must be between 1 and {MAX_CHRONIC_WINDOW} periods",
                field="chronic_window",
            )
        if not 1 <= breaches <= window:
            raise ObjectiveError(
                "chronic_breaches must be between 1 and the window's periods",
                field="chronic_breaches",
            )
    object.__setattr__(objective, "chronic_breaches", breaches)
    object.__setattr__(objective, "chronic_window", window)


@dataclass(frozen=True, slots=True)
class LineResult:
    """The outcome of one objective in one period.

    ``met`` and ``attainment`` are ``None`` when there is no data. ``credit_percent`` is
    the credit as a percentage of the line's fee (for a flat amount or a pool share, the
    share of the fee that amount is), exact to 6 decimals. ``amount`` is quantized.
    ``fee`` is the line's fee quantized to the currency, the base of the figures.
    """

    attainment: Fraction | None
    met: bool | None
    shortfall: Fraction | None
    credit_percent: Decimal
    amount: Decimal
    explanation: str
    fee: Decimal


def _shortfall(objective: Objective, attainment: Fraction) -> Fraction:
    target = Fraction(objective.target)
    return target - attainment if objective.comparator == "gte" else attainment - target


def _capped(raw: Fraction, max_percent: Decimal | None) -> tuple[Fraction, Fraction | None]:
    """The percent after the rule's own cap and the 100 % ceiling, and the cap that
    applied (``None`` when none did)."""
    ceiling = HUNDRED if max_percent is None else min(Fraction(max_percent), HUNDRED)
    if raw > ceiling:
        return ceiling, ceiling
    return max(raw, _ZERO), None


def _percent_credit(
    rule: PerStepRule | TieredRule | LinearRule | FlatRule,
    objective: Objective,
    attainment: Fraction,
    shortfall: Fraction,
) -> tuple[Fraction, str | None]:
    """Percent of the fee a breached objective earns, and how it was reached (``None``
    when no tier is crossed)."""
    unit = " %" if objective.is_percentage else ""
    if isinstance(rule, PerStepRule):
        steps = -(-shortfall // Fraction(rule.step))
        raw = Fraction(rule.percent) * steps
        percent, cap = _capped(raw, rule.max_percent)
        text = (
            f"{steps} started step{'s' if steps != 1 else ''} of {format_decimal(rule.step)} "
            f"at {format_decimal(rule.percent)} % each = {format_fraction(raw)} %"
        )
        if cap is not None:
            text += f", capped at {format_fraction(cap)} %"
        return percent, text
    if isinstance(rule, TieredRule):
        below = objective.comparator == "gte"
        crossed = [
            tier
            for tier in rule.tiers
            if (attainment < tier.bound if below else attainment > tier.bound)
        ]
        if not crossed:
            return _ZERO, None
        # Among equal percents name the worst bound crossed: it is what the customer sees.
        worst = max(crossed, key=lambda t: (t.percent, -t.bound if below else t.bound))
        percent = min(Fraction(worst.percent), HUNDRED)
        side = "below" if below else "above"
        return percent, (
            f"{side} the {format_decimal(worst.bound)}{unit} tier: {format_fraction(percent)} %"
        )
    if isinstance(rule, LinearRule):
        raw = Fraction(rule.factor) * shortfall
        percent, cap = _capped(raw, rule.max_percent)
        text = (
            f"{format_decimal(rule.factor)} % for each of the {_gap(objective, shortfall)} "
            f"= {format_fraction(raw)} %"
        )
        if cap is not None:
            text += f", capped at {format_fraction(cap)} %"
        return percent, text
    assert rule.percent is not None
    percent = Fraction(rule.percent)
    return percent, f"flat {format_fraction(percent)} %"


def credit_percent_for(objective: Objective, attainment: Fraction) -> Fraction | None:
    """The percent of the fee the objective's rule awards at ``attainment`` (0 when met
    or without a rule); ``None`` for rules that award an amount (flat amount, pool)."""
    rule = objective.rule
    if isinstance(rule, PoolRule) or (isinstance(rule, FlatRule) and rule.amount is not None):
        return None
    shortfall = _shortfall(objective, attainment)
    if rule is None or shortfall <= 0:
        return _ZERO
    return _percent_credit(rule, objective, attainment, shortfall)[0]


def _standing(objective: Objective, measure: ObjectiveMeasure, attainment: Fraction) -> str:
    """Attainment against the target, with the figures it comes from."""
    bound = "at least" if objective.comparator == "gte" else "at most"
    target = format_decimal(objective.target)
    if isinstance(measure, TicketMeasure):
        # The ticket sentence carries the attainment; the worst tickets follow it.
        explained = explain_tickets(measure, worst=WORST_TICKETS_NAMED)
        return f"{explained}; against a target of {bound} {target} %"
    # Said only with a calendar, so that explanations without one read as they always did.
    hours = " in service hours" if objective.in_service_hours else ""
    if isinstance(measure, CountMeasure):
        text = f"{format_fraction(attainment)} against a target of {bound} {target}"
        return f"{text} (samples{hours})" if hours else text
    text = f"{format_measured(attainment, percentage=True)} against a target of {bound} {target} %"
    if isinstance(measure, UptimeMeasure):
        scheduled = "of service hours" if hours else "scheduled"
        return (
            f"{text} ({format_duration(measure.downtime_seconds)} of downtime in "
            f"{format_duration(measure.scheduled_seconds)} {scheduled})"
        )
    if isinstance(measure, RatioMeasure):
        return f"{text} ({measure.ok:,} of {measure.total:,} samples{hours} ok)"
    assert objective.threshold is not None
    symbol = "≥" if objective.threshold_comparator == "gte" else "≤"
    return (
        f"{text} ({measure.meeting:,} of {measure.total:,} samples{hours} "
        f"{symbol} {format_decimal(objective.threshold)})"
    )


def _gap(objective: Objective, shortfall: Fraction) -> str:
    side = "short" if objective.comparator == "gte" else "over"
    if not objective.is_percentage:
        return f"{format_fraction(shortfall)} {side}"
    return f"{format_fraction(shortfall)} point{'' if shortfall == 1 else 's'} {side}"


def evaluate(
    objective: Objective,
    measure: ObjectiveMeasure,
    *,
    fee: Decimal,
    currency: str,
    at_risk: Decimal | None,
    period_label: str = "",
) -> LineResult:
    """Attainment, credit and explanation of one objective for one period.

    ``fee`` is the contract service's (prorated) fee for the period; it is quantized to
    the currency first, because that is the fee the customer is invoiced and every
    figure of the explanation can then be recomputed by hand. ``at_risk`` is the
    period's at-risk amount, required by a pool rule (:class:`RuleError` otherwise).
    Percent credits are clamped to 0..100 % of the fee, a flat amount to the fee; a
    pool share is bounded by ``at_risk``. Credits are never negative. A ticket objective
    takes a :class:`~engine.tickets.TicketMeasure`; its explanation names the worst tickets.
    """
    expected = MEASURE_OF[objective.indicator]
    if not isinstance(measure, expected):
        raise TypeError(
            f"a {objective.indicator} objective needs a {expected.__name__}, "
            f"not {type(measure).__name__}"
        )
    fee_amount = quantize_money(fee, currency)
    if fee_amount < 0:
        raise ValueError("a fee cannot be negative")
    zero = quantize_money(0, currency)
    attainment = measure.attainment
    if attainment is None:
        explanation = NO_DATA_EXPLANATION
        if isinstance(measure, TicketMeasure):
            explanation = f"{explain_tickets(measure)}, no credit."
        return LineResult(None, None, None, Decimal(0), zero, explanation, fee_amount)
    head = objective.label if not period_label else f"{objective.label} ({period_label})"
    standing = _standing(objective, measure, attainment)
    shortfall = _shortfall(objective, attainment)
    if shortfall <= 0:
        return LineResult(
            attainment,
            True,
            shortfall,
            Decimal(0),
            zero,
            f"{head}: {standing}: target met, no credit.",
            fee_amount,
        )
    fee_text = format_money(fee_amount, currency)
    rule = objective.rule
    percent = _ZERO
    amount = zero
    amount_based = isinstance(rule, PoolRule) or (
        isinstance(rule, FlatRule) and rule.amount is not None
    )
    if rule is None:
        credit = "no service credit applies"
    elif isinstance(rule, PoolRule):
        if at_risk is None:
            raise RuleError(
                "a pool rule needs an at-risk amount: set the contract's credit cap percent",
                field="allocation_percent",
            )
        pool = quantize_money(at_risk, currency)
        amount = quantize_money(Fraction(pool) * Fraction(rule.allocation_percent) / 100, currency)
        credit = (
            f"{format_decimal(rule.allocation_percent)} % of the at-risk amount of "
            f"{format_money(pool, currency)} = {format_money(amount, currency)}"
        )
    elif isinstance(rule, FlatRule) and rule.amount is not None:
        flat = quantize_money(rule.amount, currency)
        amount = min(flat, fee_amount)
        credit = f"flat {format_money(flat, currency)}"
        if amount < flat:
            credit += f", limited to the fee of {fee_text}"
    else:
        percent, how = _percent_credit(rule, objective, attainment, shortfall)
        if how is None:
            credit = "no credit tier reached, no credit"
        else:
            amount = quantize_money(Fraction(fee_amount) * percent / HUNDRED, currency)
            credit = f"{how} of {fee_text} = {format_money(amount, currency)}"
    if amount_based and fee_amount:
        # An amount-based credit reports the share of the fee it is, so every line of a
        # statement reads on one scale.
        percent = Fraction(amount) * HUNDRED / Fraction(fee_amount)
    return LineResult(
        attainment,
        False,
        shortfall,
        stored_credit_percent(percent),
        amount,
        f"{head}: {standing}, {_gap(objective, shortfall)}; {credit}.",
        fee_amount,
    )
