"""Rules and objectives as plain sentences, e.g. "Below the target the customer is credited
1 % of that week's fee for every started step of 0.5 points."

Every surface that describes a contract's service levels takes its wording from here, so a
rule reads the same wherever it is shown.
"""

from __future__ import annotations

from decimal import Decimal

from engine.calendars import describe_calendar
from engine.evaluation import Objective
from engine.rules import CreditRule, FlatRule, LinearRule, PerStepRule, TieredRule
from engine.text import format_decimal, format_money
from engine.tickets import describe_threshold
from engine.vocabulary import COMPARATORS, PERIOD_KINDS


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text  # an acronym such as "SLA" keeps its case
    return text[:1].lower() + text[1:]


def _check_period_name(period_name: str) -> None:
    if period_name not in PERIOD_KINDS:
        raise ValueError(f"unknown period {period_name!r}: use week, month or quarter")


def _earn_back_clause(rule: CreditRule | None, period_name: str) -> str:
    if rule is None or not rule.earn_back_periods:
        return ""
    count = rule.earn_back_periods
    periods = f"{count} {period_name}{'' if count == 1 else 's'}"
    return (
        f"; the credit is held, and the provider earns it back if the target is met in each "
        f"of the next {periods}"
    )


def _chronic_clause(objective: Objective, period_name: str) -> str:
    breaches, window = objective.chronic_breaches, objective.chronic_window
    if not breaches or not window:
        return ""
    return (
        f"; {breaches} breach{'' if breaches == 1 else 'es'} within {window} consecutive "
        f"{period_name}{'' if window == 1 else 's'} are a chronic failure, which gives the "
        "customer a right to terminate"
    )


def _rule_clause(
    rule: CreditRule | None,
    *,
    comparator: str,
    period_name: str,
    percentage: bool,
    target: Decimal | None,
    currency: str | None,
) -> str:
    if rule is None:
        return "no service credit applies"
    below = comparator == "gte"
    word = "below" if below else "above"
    side = f"{word} it" if target is not None else f"{word} the target"
    unit = " %" if percentage else ""
    fee = f"that {period_name}'s fee"
    if isinstance(rule, PerStepRule):
        unit_name = "point" if rule.step == 1 else "points"
        step = format_decimal(rule.step) + (f" {unit_name}" if percentage else "")
        text = (
            f"{side} the customer is credited {format_decimal(rule.percent)} % of {fee} "
            f"for every started step of {step}"
        )
        if rule.max_percent is not None:
            text += f", at most {format_decimal(rule.max_percent)} %"
        return text
    if isinstance(rule, TieredRule):
        tiers = sorted(rule.tiers, key=lambda t: -t.bound if below else t.bound)
        first, rest = tiers[0], tiers[1:]
        where = side if first.bound == target else f"{word} {format_decimal(first.bound)}{unit}"
        text = f"{where} the customer is credited {format_decimal(first.percent)} % of {fee}"
        for tier in rest:
            text += f", {format_decimal(tier.percent)} % {word} {format_decimal(tier.bound)}{unit}"
        return text
    if isinstance(rule, LinearRule):
        per = ("point " if percentage else "unit ") + ("short" if below else "over")
        text = f"{side} the customer is credited {format_decimal(rule.factor)} % of {fee} per {per}"
        if rule.max_percent is not None:
            text += f", at most {format_decimal(rule.max_percent)} %"
        return text
    if isinstance(rule, FlatRule):
        if rule.amount is not None:
            amount = (
                format_money(rule.amount, currency) if currency else format_decimal(rule.amount)
            )
            return f"{side} the customer is credited a flat {amount}, at most {fee}"
        assert rule.percent is not None
        return f"{side} the customer is credited {format_decimal(rule.percent)} % of {fee}"
    return (
        f"{side} the customer is credited {format_decimal(rule.allocation_percent)} % of "
        f"that {period_name}'s at-risk amount"
    )


def describe_rule(
    rule: CreditRule | None, *, comparator: str, period_name: str, currency: str | None = None
) -> str:
    """The rule as one plain sentence, e.g. "Below the target the customer is credited
    1 % of that week's fee for every started step of 0.5 points." The wording is the
    one used everywhere in the product."""
    _check_period_name(period_name)
    if comparator not in COMPARATORS:
        raise ValueError(f"unknown comparator {comparator!r}: use gte or lte")
    clause = _rule_clause(
        rule,
        comparator=comparator,
        period_name=period_name,
        percentage=True,
        target=None,
        currency=currency,
    ) + _earn_back_clause(rule, period_name)
    return clause[:1].upper() + clause[1:] + "."


def describe_objective(
    objective: Objective,
    *,
    service_name: str,
    period_name: str,
    currency: str | None = None,
    closed_days_text: str | None = None,
) -> str:
    """The objective and its credit rule as one plain sentence, e.g. "Availability of
    Internet 1G is at least 99.9 % of each month; below it the customer is credited
    10 % of that month's fee, 30 % below 99 %, 100 % below 95 %."

    An objective with a service calendar says which time counts: "… of each month during
    service hours Mon–Fri 08:00–18:00 Europe/Berlin, public holidays in Germany (BE)
    excluded; …"; ``closed_days_text`` says where its closed days come from ("public
    holidays in Germany (BE)", see :func:`engine.calendars.describe_calendar`)."""
    _check_period_name(period_name)
    bound = "at least" if objective.comparator == "gte" else "at most"
    target = format_decimal(objective.target)
    name = objective.label
    if objective.is_ticket:
        assert objective.threshold is not None
        tickets = f"{objective.priority} tickets" if objective.priority else "tickets"
        verb = "resolved" if objective.clock_kind == "resolution" else "answered"
        within = describe_threshold(objective.threshold, business_hours=objective.in_service_hours)
        text = (
            f"{name}: {bound} {target} % of {tickets} of {service_name} are {verb} within "
            f"{within} each {period_name}"
        )
    elif objective.indicator == "uptime":
        text = f"{name} of {service_name} is {bound} {target} % of each {period_name}"
    elif objective.indicator == "ratio":
        text = f"{name} of {service_name} is {bound} {target} % of samples each {period_name}"
    elif objective.indicator == "threshold":
        assert objective.threshold is not None
        symbol = "≥" if objective.threshold_comparator == "gte" else "≤"
        text = (
            f"{bound.capitalize()} {target} % of {_lower_first(name)} samples of "
            f"{service_name} are {symbol} {format_decimal(objective.threshold)} each "
            f"{period_name}"
        )
    else:
        text = f"{name} of {service_name} are {bound} {target} per {period_name}"
    clause = _rule_clause(
        objective.rule,
        comparator=objective.comparator,
        period_name=period_name,
        percentage=objective.is_percentage,
        target=objective.target,
        currency=currency,
    )
    clause += _earn_back_clause(objective.rule, period_name)
    clause += _chronic_clause(objective, period_name)
    if objective.in_service_hours:
        text += " " + describe_calendar(objective.calendar, closed_days_text)
    return f"{text}; {clause}."
