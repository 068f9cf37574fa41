"""Rules and objectives as plain sentences, e.g. "Below the target the customer is credited
1 % of that week's fee for every started step of 0.5 points."

Every surface that describes a contract's service levels takes its wording from here, so a
rule reads the same wherever it is shown.
"""

from __future__ import annotations

from decimal import Decimal

from engine.calendars import describe_calendar
from engine.evaluation import Objective
from engine.l10n import current, gettext, ngettext, pgettext
from engine.rules import CreditRule, FlatRule, LinearRule, PerStepRule, TieredRule
from engine.text import format_decimal, format_money
from engine.tickets import describe_threshold
from engine.vocabulary import COMPARATORS, PERIOD_KINDS


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text  # an acronym such as "SLA" keeps its case
    if not current().code.startswith("en"):
        return text  # German writes its nouns with a capital
    return text[:1].lower() + text[1:]


def _check_period_name(period_name: str) -> None:
    if period_name not in PERIOD_KINDS:
        raise ValueError(f"unknown period {period_name!r}: use week, month or quarter")


# The words of a period, one set per grammatical use (German declines them differently).
def _fee(period_name: str) -> str:
    return {
        "week": pgettext("sentence", "that week's fee"),
        "month": pgettext("sentence", "that month's fee"),
        "quarter": pgettext("sentence", "that quarter's fee"),
    }[period_name]


def _at_risk(period_name: str) -> str:
    return {
        "week": pgettext("sentence", "that week's at-risk amount"),
        "month": pgettext("sentence", "that month's at-risk amount"),
        "quarter": pgettext("sentence", "that quarter's at-risk amount"),
    }[period_name]


def _each(period_name: str) -> str:
    return {
        "week": pgettext("sentence", "each week"),
        "month": pgettext("sentence", "each month"),
        "quarter": pgettext("sentence", "each quarter"),
    }[period_name]


def _of_each(period_name: str) -> str:
    return {
        "week": pgettext("sentence", "of each week"),
        "month": pgettext("sentence", "of each month"),
        "quarter": pgettext("sentence", "of each quarter"),
    }[period_name]


def _per(period_name: str) -> str:
    return {
        "week": pgettext("sentence", "per week"),
        "month": pgettext("sentence", "per month"),
        "quarter": pgettext("sentence", "per quarter"),
    }[period_name]


def _periods(period_name: str, count: int) -> str:
    """``"3 months"``: how long the target must then be met to earn a credit back."""
    if period_name == "week":
        text = ngettext("%(count)s week", "%(count)s weeks", count)
    elif period_name == "month":
        text = ngettext("%(count)s month", "%(count)s months", count)
    else:
        text = ngettext("%(count)s quarter", "%(count)s quarters", count)
    return text % {"count": count}


def _consecutive(period_name: str, count: int) -> str:
    """``"3 consecutive months"``: the window of a chronic failure."""
    if period_name == "week":
        text = ngettext("%(count)s consecutive week", "%(count)s consecutive weeks", count)
    elif period_name == "month":
        text = ngettext("%(count)s consecutive month", "%(count)s consecutive months", count)
    else:
        text = ngettext("%(count)s consecutive quarter", "%(count)s consecutive quarters", count)
    return text % {"count": count}


def _earn_back_clause(rule: CreditRule | None, period_name: str) -> str:
    if rule is None or not rule.earn_back_periods:
        return ""
    return gettext(
        "; the credit is held, and the provider earns it back if the target is met in each "
        "of the next %(periods)s"
    ) % {"periods": _periods(period_name, rule.earn_back_periods)}


def _chronic_clause(objective: Objective, period_name: str) -> str:
    breaches, window = objective.chronic_breaches, objective.chronic_window
    if not breaches or not window:
        return ""
    return gettext(
        "; %(breaches)s within %(window)s are a chronic failure, which gives the customer a "
        "right to terminate"
    ) % {
        "breaches": ngettext("%(count)s breach", "%(count)s breaches", breaches)
        % {"count": breaches},
        "window": _consecutive(period_name, window),
    }


def _beyond(below: bool, bound: str) -> str:
    """``"below 99 %"``, ``"above 5"``."""
    if below:
        return gettext("below %(bound)s") % {"bound": bound}
    return gettext("above %(bound)s") % {"bound": bound}


def _credited(side: str, percent: Decimal, of: str) -> str:
    return gettext("%(side)s the customer is credited %(percent)s %% of %(of)s") % {
        "side": side,
        "percent": format_decimal(percent),
        "of": of,
    }


def _at_most(percent: Decimal) -> str:
    return gettext(", at most %(percent)s %%") % {"percent": format_decimal(percent)}


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
        return gettext("no service credit applies")
    below = comparator == "gte"
    if target is not None:
        side = gettext("below it") if below else gettext("above it")
    else:
        side = gettext("below the target") if below else gettext("above the target")
    unit = " %" if percentage else ""
    fee = _fee(period_name)
    if isinstance(rule, PerStepRule):
        if not percentage:
            step = format_decimal(rule.step)
        elif rule.step == 1:
            step = gettext("%(step)s point") % {"step": format_decimal(rule.step)}
        else:
            step = gettext("%(step)s points") % {"step": format_decimal(rule.step)}
        text = gettext(
            "%(side)s the customer is credited %(percent)s %% of %(of)s for every started "
            "step of %(step)s"
        ) % {"side": side, "percent": format_decimal(rule.percent), "of": fee, "step": step}
        if rule.max_percent is not None:
            text += _at_most(rule.max_percent)
        return text
    if isinstance(rule, TieredRule):
        tiers = sorted(rule.tiers, key=lambda t: -t.bound if below else t.bound)
        first, rest = tiers[0], tiers[1:]
        first_bound = f"{format_decimal(first.bound)}{unit}"
        where = side if first.bound == target else _beyond(below, first_bound)
        text = _credited(where, first.percent, fee)
        for tier in rest:
            text += gettext(", %(percent)s %% %(where)s") % {
                "percent": format_decimal(tier.percent),
                "where": _beyond(below, f"{format_decimal(tier.bound)}{unit}"),
            }
        return text
    if isinstance(rule, LinearRule):
        if percentage:
            per = gettext("point short") if below else gettext("point over")
        else:
            per = gettext("unit short") if below else gettext("unit over")
        text = gettext("%(side)s the customer is credited %(percent)s %% of %(of)s per %(per)s") % {
            "side": side,
            "percent": format_decimal(rule.factor),
            "of": fee,
            "per": per,
        }
        if rule.max_percent is not None:
            text += _at_most(rule.max_percent)
        return text
    if isinstance(rule, FlatRule):
        if rule.amount is not None:
            amount = (
                format_money(rule.amount, currency) if currency else format_decimal(rule.amount)
            )
            flat = gettext("%(side)s the customer is credited a flat %(amount)s, at most %(of)s")
            return flat % {"side": side, "amount": amount, "of": fee}
        assert rule.percent is not None
        return _credited(side, rule.percent, fee)
    return _credited(side, rule.allocation_percent, _at_risk(period_name))


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
    bound = gettext("at least") if objective.comparator == "gte" else gettext("at most")
    words = {
        "name": objective.label,
        "service": service_name,
        "bound": bound,
        "target": format_decimal(objective.target),
        "each": _each(period_name),
    }
    if objective.is_ticket:
        assert objective.threshold is not None
        if objective.priority:
            tickets = gettext("%(priority)s tickets") % {"priority": objective.priority}
        else:
            tickets = gettext("tickets")
        verb = gettext("resolved") if objective.clock_kind == "resolution" else gettext("answered")
        within = describe_threshold(objective.threshold, business_hours=objective.in_service_hours)
        text = gettext(
            "%(name)s: %(bound)s %(target)s %% of %(tickets)s of %(service)s are %(verb)s "
            "within %(within)s %(each)s"
        ) % {**words, "tickets": tickets, "verb": verb, "within": within}
    elif objective.indicator == "uptime":
        text = gettext("%(name)s of %(service)s is %(bound)s %(target)s %% %(of_each)s") % {
            **words,
            "of_each": _of_each(period_name),
        }
    elif objective.indicator == "ratio":
        text = gettext("%(name)s of %(service)s is %(bound)s %(target)s %% of samples %(each)s") % (
            words
        )
    elif objective.indicator == "threshold":
        assert objective.threshold is not None
        symbol = "≥" if objective.threshold_comparator == "gte" else "≤"
        text = gettext(
            "%(bound)s %(target)s %% of %(name)s samples of %(service)s are %(symbol)s "
            "%(threshold)s %(each)s"
        ) % {
            **words,
            "bound": bound[:1].upper() + bound[1:],
            "name": _lower_first(objective.label),
            "symbol": symbol,
            "threshold": format_decimal(objective.threshold),
        }
    else:
        text = gettext("%(name)s of %(service)s are %(bound)s %(target)s %(per)s") % {
            **words,
            "per": _per(period_name),
        }
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
