"""A contract period's statement computed from its measures by the pure engine, without
writing anything: fees prorated to the contract's days, each objective's credit, the cap,
and a fingerprint of everything the statement depends on (the same fingerprint means
nothing changed, so no new revision).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from django.utils import translation

import engine
from contracts.models import Contract, ContractService
from credits.settlement.history import BatchHistory, line_label, uses_history
from credits.settlement.inputs import Job
from credits.settlement.measures import Measured, measure_many
from credits.settlement.periods import period_of
from credits.settlement.results import (
    ComputedLine,
    ComputedStatement,
    SettlementError,
    canonical,
)
from credits.settlement.terms import (
    TermsInForce,
    accepted_claims,
    accepted_remedies,
    terms_in_force,
)
from engine import phrases
from engine.history import CurrentLine, LineOutcome
from engine.l10n import gettext_noop, ngettext_noop
from engine.phrases import Parts
from engine.totals import AcceptedClaim, History, Remedy, total_statement


def _relief_note(indicator: str, figures: Mapping[str, object]) -> Parts | None:
    if indicator == "uptime":
        seconds = int(figures.get("relieved_seconds") or 0)
        if not seconds:
            return None
        return phrases.message(
            gettext_noop(
                "Relief: %(downtime)s of downtime during a lapse of the customer's "
                "responsibilities is excluded."
            ),
            downtime=phrases.duration(seconds),
        )
    samples = int(figures.get("relieved_samples") or 0)
    if not samples:
        return None
    return phrases.plural(
        ngettext_noop(
            "Relief: %(count)s sample observed during a lapse of the customer's "
            "responsibilities is excluded.",
            "Relief: %(count)s samples observed during a lapse of the customer's "
            "responsibilities are excluded.",
        ),
        samples,
        count=phrases.count(samples),
    )


def _and(parts: Parts, note: Parts | None) -> Parts:
    """An explanation and a sentence after it."""
    return parts if note is None else phrases.join([parts, note], " ")


def compute_period(
    *,
    contract: Contract,
    period_start: date,
    objective_overrides: Mapping[int, engine.Objective] | None = None,
) -> ComputedStatement:
    """What the statement of the period starting on ``period_start`` says, without writing.

    A pure read: six queries per contract whatever the number of samples or services (a
    few more with calendars or tickets, whatever their number: see ``measure_many``).
    ``objective_overrides`` (keyed by ServiceLevel id) substitutes an objective — a rule or
    a target being edited — for the what-if preview. Raises :class:`SettlementError` for a
    date that is not a period start, a period outside the contract's dates, or a rule the
    contract cannot honour (a pool rule without an at-risk amount).
    """
    period = period_of(contract, period_start)
    outcome = compute_many([Job(contract, period, period.end_at, objective_overrides)])[0]
    if isinstance(outcome, SettlementError):
        raise outcome
    return outcome


def compute_many(
    jobs: Sequence[Job], *, history: BatchHistory | None = None
) -> list[ComputedStatement | SettlementError]:
    """Each job's statement, or the reason it cannot be computed, on the terms in force at
    its period's start; the same eight queries for any number of jobs, and three more for
    contracts with earn-back or chronic failure, whose periods are computed in order, each
    on the ones before it (``history``: a batch's, shared with a later call).

    Statements keep their explanations as issued, and a revision is issued only when what
    they say changes: they are written in the site's language, never the language of the
    person who happened to ask for the settlement."""
    with translation.override(None):
        return _compute_many(jobs, history=history)


def _compute_many(
    jobs: Sequence[Job], *, history: BatchHistory | None
) -> list[ComputedStatement | SettlementError]:
    in_force = terms_in_force(jobs)
    remedies = accepted_remedies(jobs)
    claims = accepted_claims(jobs)
    # An objective being tried out (the what-if preview) wins over its stored versions.
    jobs = [
        dataclasses.replace(job, overrides={**terms.objectives, **(job.overrides or {})})
        if terms.objectives
        else job
        for job, terms in zip(jobs, in_force, strict=True)
    ]
    measured_jobs = measure_many(jobs)
    reaching = {
        job.contract.pk
        for job, terms, measured in zip(jobs, in_force, measured_jobs, strict=True)
        if terms.history
        or (
            not isinstance(measured, SettlementError)
            and any(uses_history(target.objective) for target, _m, _f in measured[1])
        )
    }
    if reaching:
        history = history if history is not None else BatchHistory()
        periods: dict[Contract, list[engine.Period]] = {}
        for job in jobs:
            if job.contract.pk in reaching:
                periods.setdefault(job.contract, []).append(job.period)
        history.load(periods)
    outcomes: list[ComputedStatement | SettlementError | None] = [None] * len(jobs)
    # Each contract's periods in order: a period's earn-back reads the ones before it.
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].contract.pk, jobs[i].period.start))
    for index in order:
        job, terms, measured = jobs[index], in_force[index], measured_jobs[index]
        if isinstance(measured, SettlementError):
            outcomes[index] = measured
            continue
        try:
            outcomes[index] = _evaluate(
                job.contract,
                job.period,
                *measured,
                terms=terms,
                remedies=remedies.get((job.contract.pk, job.period.start), []),
                claims=claims.get((job.contract.pk, job.period.start), []),
                history=history if job.contract.pk in reaching else None,
            )
        except SettlementError as exc:
            outcomes[index] = exc
    return [outcome for outcome in outcomes if outcome is not None]


def _evaluate(
    contract: Contract,
    period: engine.Period,
    contract_services: Sequence[ContractService],
    measured: Measured,
    *,
    terms: TermsInForce,
    remedies: Sequence[Remedy],
    claims: Sequence[AcceptedClaim] = (),
    history: BatchHistory | None = None,
) -> ComputedStatement:
    """The engine's verdict on one measured contract period."""
    currency = contract.currency
    fraction = engine.active_fraction(period, contract.start_date, contract.end_date)
    fees = {
        cs.pk: engine.prorate(terms.fees.get(cs.pk, cs.fee), fraction) for cs in contract_services
    }
    fees_total = engine.quantize_money(
        sum((engine.quantize_money(fee, currency) for fee in fees.values()), Decimal(0)), currency
    )
    try:
        at_risk = engine.at_risk_amount(contract.credit_cap_percent, fees_total, currency)
    except engine.ParameterError as exc:
        raise SettlementError(f"{contract.reference}: {exc}") from None
    lines = []
    for target, measure, figures in measured:
        cs = target.contract_service
        try:
            # The statement names the period; a line needs its service, so the service goes
            # in the parenthesis after the objective's name.
            result = engine.evaluate(
                target.objective,
                measure,
                fee=fees[cs.pk],
                currency=currency,
                at_risk=at_risk,
                period_label=cs.service.name,
            )
        except engine.ParameterError as exc:
            raise SettlementError(
                f"{contract.reference}, {cs.service.name}, {target.objective.label}: {exc}"
            ) from None
        parts = _and(result.parts, _relief_note(target.objective.indicator, figures))
        lines.append(
            ComputedLine(
                contract_service=cs,
                service_level=target.service_level,
                objective=target.objective,
                measure=measure,
                figures=figures,
                result=result,
                explanation=phrases.render(parts),
                parts=parts,
                tickets=None if target.tickets is None else target.tickets.records,
            )
        )
    current = [
        CurrentLine(
            key=(line.contract_service.pk, line.objective.key),
            label=line_label(line.objective.label, line.contract_service.service.name),
            met=line.result.met,
            amount=line.result.amount,
            earn_back_periods=line.objective.rule.earn_back_periods
            if line.objective.rule is not None
            else None,
            chronic_breaches=line.objective.chronic_breaches,
            chronic_window=line.objective.chronic_window,
        )
        for line in lines
    ]
    try:
        total = total_statement(
            [line.result.amount for line in lines],
            at_risk=at_risk,
            currency=currency,
            minimum_credit=contract.minimum_credit,
            remedies=remedies,
            claims=claims,
            history=None
            if history is None
            else History(
                earlier=history.earlier(contract, period),
                lines=current,
                # The contract's last period: no later one could decide what it held.
                final=contract.end_date is not None and period.end >= contract.end_date,
                period_name=contract.settlement_period,
                label=phrases.period(period.start, period.end),
            ),
        )
    except engine.ParameterError as exc:
        raise SettlementError(f"{contract.reference}: {exc}") from None
    if history is not None:
        history.record(
            contract,
            period,
            {
                item.key: LineOutcome(
                    met=item.met,
                    held=total.held.get(item.key, Decimal(0)),
                    earn_back_periods=item.earn_back_periods,
                    label=item.label,
                )
                for item in current
            },
            [found.key for found in total.chronic],
        )
    cap = total.cap
    payload = {
        "contract": contract.pk,
        "period": [period.start.isoformat(), period.end.isoformat(), period.tz],
        "currency": currency,
        "credit_cap_percent": canonical(contract.credit_cap_percent),
        "fees": {str(cs_id): canonical(fee) for cs_id, fee in sorted(fees.items())},
        "fees_total": str(fees_total),
        "at_risk_amount": None if at_risk is None else str(at_risk),
        # Sorted by ids, not by display order: renaming a service must not look like a change.
        "lines": sorted(
            (line.snapshot() for line in lines),
            key=lambda snap: (snap["contract_service"], snap["objective"]["key"]),
        ),
        "credit_total": str(total.credit_total),
        "cap_adjustment": str(cap.cap_adjustment),
    }
    # Only when there are any, so that statements without them keep their fingerprints.
    if total.earn_back:
        # What each row decides, not only what it moves: an earned-back credit moves 0.
        payload["earn_back"] = [
            [row.kind, f"{row.key[0]}:{row.key[1]}", row.origin, str(row.credit)]
            for row in total.earn_back
            if row.key is not None
        ]
    if total.adjustments:
        payload["adjustments"] = [
            # A claim's id only where there is one: earlier fingerprints stay as they were.
            [row.kind, str(row.amount), row.dispute, *([row.claim] if row.claim else [])]
            for row in total.adjustments
        ]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if total.held:
        # The line says what it holds; the row below the lines takes it off the total.
        lines = [
            _holding(line, held, currency)
            if (held := total.held.get((line.contract_service.pk, line.objective.key)))
            else line
            for line in lines
        ]
    return ComputedStatement(
        contract=contract,
        period=period,
        currency=currency,
        lines=lines,
        fees_total=fees_total,
        at_risk_amount=at_risk,
        credit_total=total.credit_total,
        cap_adjustment=cap.cap_adjustment,
        cap_explanation=cap.explanation,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        adjustments=total.adjustments,
        terms_change=terms.change,
        held=dict(total.held),
        chronic=total.chronic,
    )


def _holding(line: ComputedLine, held: Decimal, currency: str) -> ComputedLine:
    """The line, saying what it holds for earn-back."""
    parts = _and(
        line.parts,
        phrases.message(
            gettext_noop("Held for earn-back: %(amount)s."), amount=phrases.money(held, currency)
        ),
    )
    return dataclasses.replace(line, explanation=phrases.render(parts), parts=parts)
