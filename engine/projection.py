"""Early warning: an open period's attainment and credit projected to its end.

:func:`project_breach` says whether an objective is already lost or on its way to being
lost; :func:`projected_credit_amount` turns that warning into the money it would cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from engine.evaluation import MEASURE_OF, Objective, ObjectiveMeasure, credit_percent_for
from engine.l10n import gettext_noop, ngettext_noop
from engine.measures import CountMeasure, RatioMeasure, UptimeMeasure
from engine.money import quantize_money
from engine.numbers import HUNDRED, stored_credit_percent
from engine.phrases import (
    Parts,
    Value,
    count,
    decimal,
    exact,
    measured,
    message,
    plural,
    render,
)
from engine.rules import FlatRule, PoolRule
from engine.tickets import TicketClock, TicketMeasure, threshold_parts

# Ratio, threshold and ticket objectives are judged only from this many samples on.
MIN_SAMPLES = 10


def too_few_samples(measure_so_far: ObjectiveMeasure, min_samples: int = MIN_SAMPLES) -> bool:
    """Whether an open period has data, but too few samples (or tickets) for
    :func:`project_breach` to judge it: then it is neither on track nor at risk yet."""
    if measure_so_far.attainment is None or isinstance(
        measure_so_far, CountMeasure | UptimeMeasure
    ):
        return False
    return measure_so_far.total < min_samples


def describe_too_few(objective: Objective, measure_so_far: ObjectiveMeasure) -> str:
    """``"75 % so far from 4 samples: too few to tell yet (10 needed)."``"""
    return render(too_few_parts(objective, measure_so_far))


def too_few_parts(objective: Objective, measure_so_far: ObjectiveMeasure) -> Parts:
    """:func:`describe_too_few` as parts (:mod:`engine.phrases`)."""
    assert measure_so_far.attainment is not None
    return plural(
        ngettext_noop(
            "%(attainment)s so far against %(bound)s %(target)s from %(count)s sample: too few "
            "to tell yet (%(needed)s needed).",
            "%(attainment)s so far against %(bound)s %(target)s from %(count)s samples: too "
            "few to tell yet (%(needed)s needed).",
        ),
        measure_so_far.total,
        attainment=measured(measure_so_far.attainment, percentage=objective.is_percentage),
        bound=_bound(objective),
        target=_target(objective),
        count=count(measure_so_far.total),
        needed=MIN_SAMPLES,
    )


def _bound(objective: Objective) -> Parts:
    return message(
        gettext_noop("at least") if objective.comparator == "gte" else gettext_noop("at most")
    )


def _target(objective: Objective) -> Parts:
    """``"99.5 %"``, or a count's ``"5"``."""
    if objective.is_percentage:
        return message(gettext_noop("%(target)s %%"), target=decimal(objective.target))
    return decimal(objective.target)


def _with_credit(text: Parts, credit: Fraction | None) -> Parts:
    if credit is None:
        return text
    return message(
        gettext_noop("%(warning)s; projected credit %(credit)s %% of the fee"),
        warning=text,
        credit=exact(credit),
    )


def _warning(
    state: Literal["breached", "at_risk"],
    attainment_so_far: Fraction,
    projected_attainment: Fraction,
    projected_credit_percent: Decimal | None,
    parts: Parts,
) -> BreachWarning:
    parts = message(gettext_noop("%(warning)s."), warning=parts)
    return BreachWarning(
        state,
        attainment_so_far,
        projected_attainment,
        projected_credit_percent,
        render(parts),
        parts,
    )


@dataclass(frozen=True, slots=True)
class BreachWarning:
    """An early warning for an open period.

    ``breached``: the target can no longer be met even if everything goes right from
    now on. ``at_risk``: at the current rate the period ends below target.
    ``projected_credit_percent`` is ``None`` for rules that award an amount.
    """

    state: Literal["breached", "at_risk"]
    attainment_so_far: Fraction
    projected_attainment: Fraction
    projected_credit_percent: Decimal | None
    explanation: str
    # The explanation as its parts (engine.phrases), to be read in any language.
    parts: Parts | None = None


def project_breach(
    objective: Objective,
    measure_so_far: ObjectiveMeasure,
    elapsed_fraction: Fraction,
    *,
    min_samples: int = MIN_SAMPLES,
) -> BreachWarning | None:
    """Warn before a credit accrues: is the objective already lost, or burning its error
    budget fast enough to be lost by the end of the period?

    ``measure_so_far`` covers the period from its start to now; ``elapsed_fraction`` is
    the share of the period behind us (0 < f ≤ 1). Volumes (scheduled time, samples,
    counts) are projected linearly to the whole period. Ratio, threshold and ticket
    objectives are judged only from ``min_samples`` samples (tickets) on: a ticket measure
    is a ratio of tickets within the threshold. ``None`` means no warning.
    """
    elapsed = Fraction(elapsed_fraction)
    if not 0 < elapsed <= 1:
        raise ValueError("elapsed_fraction must be greater than 0 and at most 1")
    if not isinstance(measure_so_far, MEASURE_OF[objective.indicator]):
        raise TypeError(f"a {objective.indicator} objective needs its own measure")
    now = measure_so_far.attainment
    if now is None:
        return None
    gte = objective.comparator == "gte"
    best: Fraction | None
    if isinstance(measure_so_far, CountMeasure):
        projected = now / elapsed
        # More events can always arrive, so an 'at least' count is only lost at the end.
        best = now if (not gte or elapsed == 1) else None
    else:
        if isinstance(measure_so_far, UptimeMeasure):
            good = measure_so_far.scheduled_seconds - measure_so_far.downtime_seconds
            seen = measure_so_far.scheduled_seconds
        else:
            if measure_so_far.total < min_samples:
                return None
            if isinstance(measure_so_far, RatioMeasure):
                good = measure_so_far.ok
            elif isinstance(measure_so_far, TicketMeasure):
                good = measure_so_far.within
            else:
                good = measure_so_far.meeting
            seen = measure_so_far.total
        expected = Fraction(seen) / elapsed
        remaining = expected - seen
        # The best case: everything still to come goes right (all good for 'at least').
        best = HUNDRED * ((good + remaining) if gte else good) / expected
        projected = now
    target = Fraction(objective.target)

    def fails(value: Fraction) -> bool:
        return value < target if gte else value > target

    if best is not None and fails(best):
        state: Literal["breached", "at_risk"] = "breached"
    elif fails(projected):
        state = "at_risk"
    else:
        return None
    credit = credit_percent_for(objective, projected)
    credit_decimal = None if credit is None else stored_credit_percent(credit)
    # Breached: where it stands now, since the period can no longer end on target;
    # at risk: where the current rate takes it.
    sentence, attainment = (
        (
            gettext_noop(
                "%(objective)s: already breached, %(attainment)s so far against %(bound)s "
                "%(target)s; the period can no longer end on target"
            ),
            now,
        )
        if state == "breached"
        else (
            gettext_noop(
                "%(objective)s: at risk, at the current rate the period ends at %(attainment)s "
                "against %(bound)s %(target)s"
            ),
            projected,
        )
    )
    text = message(
        sentence,
        objective=objective.label,
        attainment=measured(attainment, percentage=objective.is_percentage),
        bound=_bound(objective),
        target=_target(objective),
    )
    return _warning(state, now, projected, credit_decimal, _with_credit(text, credit))


def project_ticket_breach(
    objective: Objective,
    measure_so_far: TicketMeasure,
    *,
    reference: str,
    clock: TicketClock,
) -> BreachWarning:
    """The warning for one open ticket of a ticket objective whose clock (read now) is
    close to or past the objective's threshold: what the objective's attainment so far
    becomes when this ticket counts as breached, and the credit that attainment earns.

    ``measure_so_far`` holds the tickets already counted in the open period; the ticket
    is added to it as breached unless it is already among them. ``state`` is
    ``breached`` once the clock has passed the threshold, ``at_risk`` before.
    """
    if not objective.is_ticket:
        raise TypeError(f"a {objective.indicator} objective has no ticket clocks")
    assert objective.threshold is not None
    limit = Fraction(objective.threshold) * 60
    passed = clock.business_seconds > limit
    counted = any(outcome.reference == reference for outcome in measure_so_far.outcomes)
    within = measure_so_far.within
    total = measure_so_far.total + (0 if counted else 1)
    now = measure_so_far.attainment
    projected = Fraction(100 * within, total)
    credit = credit_percent_for(objective, projected)
    credit_decimal = None if credit is None else stored_credit_percent(credit)
    figures: dict[str, Value] = {
        "ticket": reference,
        "threshold": threshold_parts(
            objective.threshold, business_hours=objective.in_service_hours
        ),
        "used": exact(clock.business_minutes),
    }
    business = objective.in_service_hours
    if passed:
        state: Literal["breached", "at_risk"] = "breached"
        head = message(
            gettext_noop("ticket %(ticket)s has passed %(threshold)s (%(used)s business minutes)")
            if business
            else gettext_noop("ticket %(ticket)s has passed %(threshold)s (%(used)s minutes)"),
            **figures,
        )
    else:
        state = "at_risk"
        head = message(
            gettext_noop(
                "ticket %(ticket)s passes %(threshold)s in %(left)s business minutes "
                "(%(used)s used)"
            )
            if business
            else gettext_noop(
                "ticket %(ticket)s passes %(threshold)s in %(left)s minutes (%(used)s used)"
            ),
            left=exact(limit / 60 - clock.business_minutes),
            **figures,
        )
    text = message(
        gettext_noop(
            "%(objective)s: %(head)s; counted as breached, %(within)s of %(total)s tickets "
            "within (%(projected)s) against %(bound)s %(target)s %%"
        ),
        objective=objective.label,
        head=head,
        within=count(within),
        total=count(total),
        projected=measured(projected, percentage=True),
        bound=_bound(objective),
        target=decimal(objective.target),
    )
    target = Fraction(objective.target)
    if not (projected < target if objective.comparator == "gte" else projected > target):
        text = message(gettext_noop("%(warning)s, still on target"), warning=text)
    else:
        text = _with_credit(text, None if credit_decimal is None else credit)
    return _warning(state, now if now is not None else projected, projected, credit_decimal, text)


def projected_credit_amount(
    objective: Objective,
    warning: BreachWarning,
    *,
    fee: Decimal,
    currency: str,
    at_risk: Decimal | None,
) -> Decimal:
    """The credit ``warning`` projects for the period, as money: its projected percent of
    the line's ``fee``, or what a rule that awards an amount would award (a flat amount,
    at most the fee; a pool's share of the ``at_risk`` amount); zero without a rule, or for
    a pool without an at-risk amount."""
    rule = objective.rule
    if warning.projected_credit_percent is not None:
        return quantize_money(
            Fraction(quantize_money(fee, currency))
            * Fraction(warning.projected_credit_percent)
            / 100,
            currency,
        )
    if isinstance(rule, FlatRule) and rule.amount is not None:
        return min(quantize_money(rule.amount, currency), quantize_money(fee, currency))
    if isinstance(rule, PoolRule) and at_risk is not None:
        return quantize_money(Fraction(at_risk) * Fraction(rule.allocation_percent) / 100, currency)
    return quantize_money(0, currency)
