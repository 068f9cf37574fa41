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
from engine.l10n import gettext, gettext_noop, ngettext_noop
from engine.measures import MEASURE_FOR, CountMeasure, Measure, RatioMeasure, UptimeMeasure
from engine.money import quantize_money
from engine.numbers import HUNDRED, stored_credit_percent, to_decimal
from engine.phrases import (
    Parts,
    count,
    decimal,
    duration,
    exact,
    measured,
    message,
    money,
    plural,
    render,
)
from engine.rules import (
    CreditRule,
    FlatRule,
    LinearRule,
    PerStepRule,
    PoolRule,
    TieredRule,
    validate_rule_for,
)
from engine.tickets import TicketMeasure, ticket_parts
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
                gettext("unknown indicator %(indicator)s: use %(indicators)s")
                % {"indicator": repr(self.indicator), "indicators": ", ".join(INDICATORS)},
                field="indicator",
            )
        if self.comparator not in COMPARATORS:
            raise ObjectiveError(
                gettext("unknown comparator %(comparator)s: use gte or lte")
                % {"comparator": repr(self.comparator)},
                field="comparator",
            )
        target = to_decimal(self.target, "target", ObjectiveError)
        object.__setattr__(self, "target", target)
        if target < 0:
            raise ObjectiveError(gettext("target must not be negative"), field="target")
        if self.indicator != "count" and target > 100:
            raise ObjectiveError(gettext("a percentage target must be at most 100"), field="target")
        if self.indicator == "threshold":
            if self.threshold is None:
                raise ObjectiveError(
                    gettext("a threshold objective needs a threshold"), field="threshold"
                )
            object.__setattr__(
                self, "threshold", to_decimal(self.threshold, "threshold", ObjectiveError)
            )
            if self.threshold_comparator not in COMPARATORS:
                raise ObjectiveError(
                    gettext("threshold_comparator must be gte or lte"),
                    field="threshold_comparator",
                )
        if self.indicator in TICKET_INDICATORS:
            if self.threshold is None:
                raise ObjectiveError(
                    gettext("a ticket objective needs a threshold in minutes"), field="threshold"
                )
            threshold = to_decimal(self.threshold, "threshold", ObjectiveError)
            if threshold <= 0:
                raise ObjectiveError(
                    gettext("a ticket threshold is a number of minutes above 0"),
                    field="threshold",
                )
            object.__setattr__(self, "threshold", threshold)
        if self.calendar is not None and not isinstance(self.calendar, ServiceCalendar):
            raise ObjectiveError(gettext("calendar must be a service calendar"), field="calendar")
        if self.priority is not None and not isinstance(self.priority, str):
            raise ObjectiveError(gettext("a priority is a short code such as P1"), field="priority")
        if self.priority == "":
            object.__setattr__(self, "priority", None)
        _check_chronic(self)
        if self.rule is not None and not isinstance(self.rule, CreditRule):
            raise ObjectiveError(gettext("rule must be a parsed credit rule"), field="credit_rule")
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
        raise ObjectiveError(
            gettext("%(name)s must be a whole number") % {"name": field}, field=field
        )
    return value


def _check_chronic(objective: Objective) -> None:
    """Both chronic-failure terms or neither: 1 ≤ breaches ≤ window ≤ 24 periods."""
    breaches = _whole(objective.chronic_breaches, "chronic_breaches")
    window = _whole(objective.chronic_window, "chronic_window")
    if (breaches is None) != (window is None):
        field = "chronic_window" if window is None else "chronic_breaches"
        raise ObjectiveError(
            gettext("give both the number of breaches and the window of periods, or neither"),
            field=field,
        )
    if breaches is not None and window is not None:
        if not 1 <= window <= MAX_CHRONIC_WINDOW:
            raise ObjectiveError(
                gettext("chronic_window must be between 1 and %(most)s periods")
                % {"most": MAX_CHRONIC_WINDOW},
                field="chronic_window",
            )
        if not 1 <= breaches <= window:
            raise ObjectiveError(
                gettext("chronic_breaches must be between 1 and the window's periods"),
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
    ``parts`` is the explanation as its parts (:mod:`engine.phrases`); it is written as
    text only when read (:attr:`explanation`), in the language of the moment.
    """

    attainment: Fraction | None
    met: bool | None
    shortfall: Fraction | None
    credit_percent: Decimal
    amount: Decimal
    parts: Parts
    fee: Decimal

    @property
    def explanation(self) -> str:
        """The sentence that explains how each figure was reached."""
        return render(self.parts)


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


def _capped_parts(text: Parts, cap: Fraction | None) -> Parts:
    if cap is None:
        return text
    return message(gettext_noop("%(credit)s, capped at %(cap)s %%"), credit=text, cap=exact(cap))


def _percent_credit(
    rule: PerStepRule | TieredRule | LinearRule | FlatRule,
    objective: Objective,
    attainment: Fraction,
    shortfall: Fraction,
) -> tuple[Fraction, Parts | None]:
    """Percent of the fee a breached objective earns, and how it was reached (``None``
    when no tier is crossed)."""
    if isinstance(rule, PerStepRule):
        steps = -(-shortfall // Fraction(rule.step))
        raw = Fraction(rule.percent) * steps
        percent, cap = _capped(raw, rule.max_percent)
        text = plural(
            ngettext_noop(
                "%(steps)s started step of %(step)s at %(percent)s %% each = %(raw)s %%",
                "%(steps)s started steps of %(step)s at %(percent)s %% each = %(raw)s %%",
            ),
            steps,
            steps=steps,
            step=decimal(rule.step),
            percent=decimal(rule.percent),
            raw=exact(raw),
        )
        return percent, _capped_parts(text, cap)
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
        if objective.is_percentage:
            text = (
                gettext_noop("below the %(bound)s %% tier: %(percent)s %%")
                if below
                else gettext_noop("above the %(bound)s %% tier: %(percent)s %%")
            )
        else:
            text = (
                gettext_noop("below the %(bound)s tier: %(percent)s %%")
                if below
                else gettext_noop("above the %(bound)s tier: %(percent)s %%")
            )
        return percent, message(text, bound=decimal(worst.bound), percent=exact(percent))
    if isinstance(rule, LinearRule):
        raw = Fraction(rule.factor) * shortfall
        percent, cap = _capped(raw, rule.max_percent)
        text = message(
            gettext_noop("%(factor)s %% for each of the %(gap)s = %(raw)s %%"),
            factor=decimal(rule.factor),
            gap=_gap(objective, shortfall),
            raw=exact(raw),
        )
        return percent, _capped_parts(text, cap)
    assert rule.percent is not None
    percent = Fraction(rule.percent)
    return percent, message(gettext_noop("flat %(percent)s %%"), percent=exact(percent))


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


def _standing(objective: Objective, measure: ObjectiveMeasure, attainment: Fraction) -> Parts:
    """Attainment against the target, with the figures it comes from."""
    bound = message(
        gettext_noop("at least") if objective.comparator == "gte" else gettext_noop("at most")
    )
    target = decimal(objective.target)
    if isinstance(measure, TicketMeasure):
        # The ticket sentence carries the attainment; the worst tickets follow it.
        return message(
            gettext_noop("%(tickets)s; against a target of %(bound)s %(target)s %%"),
            tickets=ticket_parts(measure, worst=WORST_TICKETS_NAMED),
            bound=bound,
            target=target,
        )
    # Said only with a calendar, so that explanations without one read as they always did.
    hours = objective.in_service_hours
    if isinstance(measure, CountMeasure):
        text = message(
            gettext_noop("%(attainment)s against a target of %(bound)s %(target)s"),
            attainment=exact(attainment),
            bound=bound,
            target=target,
        )
        if not hours:
            return text
        return message(gettext_noop("%(standing)s (samples in service hours)"), standing=text)
    text = message(
        gettext_noop("%(attainment)s against a target of %(bound)s %(target)s %%"),
        attainment=measured(attainment, percentage=True),
        bound=bound,
        target=target,
    )
    if isinstance(measure, UptimeMeasure):
        return message(
            gettext_noop(
                "%(standing)s (%(downtime)s of downtime in %(scheduled)s of service hours)"
            )
            if hours
            else gettext_noop("%(standing)s (%(downtime)s of downtime in %(scheduled)s scheduled)"),
            standing=text,
            downtime=duration(measure.downtime_seconds),
            scheduled=duration(measure.scheduled_seconds),
        )
    if isinstance(measure, RatioMeasure):
        return message(
            gettext_noop("%(standing)s (%(ok)s of %(total)s samples in service hours ok)")
            if hours
            else gettext_noop("%(standing)s (%(ok)s of %(total)s samples ok)"),
            standing=text,
            ok=count(measure.ok),
            total=count(measure.total),
        )
    assert objective.threshold is not None
    return message(
        gettext_noop(
            "%(standing)s (%(meeting)s of %(total)s samples in service hours %(symbol)s "
            "%(threshold)s)"
        )
        if hours
        else gettext_noop(
            "%(standing)s (%(meeting)s of %(total)s samples %(symbol)s %(threshold)s)"
        ),
        standing=text,
        meeting=count(measure.meeting),
        total=count(measure.total),
        symbol="≥" if objective.threshold_comparator == "gte" else "≤",
        threshold=decimal(objective.threshold),
    )


def _gap(objective: Objective, shortfall: Fraction) -> Parts:
    short = objective.comparator == "gte"
    if not objective.is_percentage:
        text = gettext_noop("%(gap)s short") if short else gettext_noop("%(gap)s over")
        return message(text, gap=exact(shortfall))
    if short:
        forms = ngettext_noop("%(gap)s point short", "%(gap)s points short")
    else:
        forms = ngettext_noop("%(gap)s point over", "%(gap)s points over")
    return plural(forms, 1 if shortfall == 1 else 2, gap=exact(shortfall))


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
        parts = message(NO_DATA_EXPLANATION)
        if isinstance(measure, TicketMeasure):
            parts = message(gettext_noop("%(tickets)s, no credit."), tickets=ticket_parts(measure))
        return LineResult(None, None, None, Decimal(0), zero, parts, fee_amount)
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
            message(
                gettext_noop("%(objective)s: %(standing)s: target met, no credit."),
                objective=head,
                standing=standing,
            ),
            fee_amount,
        )
    fee_text = money(fee_amount, currency)
    rule = objective.rule
    percent = _ZERO
    amount = zero
    amount_based = isinstance(rule, PoolRule) or (
        isinstance(rule, FlatRule) and rule.amount is not None
    )
    if rule is None:
        credit = message(gettext_noop("no service credit applies"))
    elif isinstance(rule, PoolRule):
        if at_risk is None:
            raise RuleError(
                gettext(
                    "a pool rule needs an at-risk amount: set the contract's credit cap percent"
                ),
                field="allocation_percent",
            )
        pool = quantize_money(at_risk, currency)
        amount = quantize_money(Fraction(pool) * Fraction(rule.allocation_percent) / 100, currency)
        credit = message(
            gettext_noop("%(percent)s %% of the at-risk amount of %(pool)s = %(amount)s"),
            percent=decimal(rule.allocation_percent),
            pool=money(pool, currency),
            amount=money(amount, currency),
        )
    elif isinstance(rule, FlatRule) and rule.amount is not None:
        flat = quantize_money(rule.amount, currency)
        amount = min(flat, fee_amount)
        if amount < flat:
            credit = message(
                gettext_noop("flat %(amount)s, limited to the fee of %(fee)s"),
                amount=money(flat, currency),
                fee=fee_text,
            )
        else:
            credit = message(gettext_noop("flat %(amount)s"), amount=money(flat, currency))
    else:
        percent, how = _percent_credit(rule, objective, attainment, shortfall)
        if how is None:
            credit = message(gettext_noop("no credit tier reached, no credit"))
        else:
            amount = quantize_money(Fraction(fee_amount) * percent / HUNDRED, currency)
            credit = message(
                gettext_noop("%(credit)s of %(fee)s = %(amount)s"),
                credit=how,
                fee=fee_text,
                amount=money(amount, currency),
            )
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
        message(
            gettext_noop("%(objective)s: %(standing)s, %(gap)s; %(credit)s."),
            objective=head,
            standing=standing,
            gap=_gap(objective, shortfall),
            credit=credit,
        ),
        fee_amount,
    )
