"""Early warnings: during an active contract's open period, the provider is warned of every
objective already breached or burning its error budget fast enough to breach by the end,
and every objective's attainment so far is recorded for the dashboard
(:mod:`credits.progress`). The projection, of the attainment and of the credit, is the
engine's.

Ticket objectives also warn of single tickets: an open ticket whose clock passes the
threshold within the next 30 business minutes (or already has) warns the provider once
per ticket and objective, whichever run or period sees it first, with the credit the
objective would earn once that ticket counts as breached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.utils import timezone

import engine
from contracts.models import Contract, ContractService
from credits.models import EarlyWarning
from credits.progress import record_progress_many
from credits.settlement.announce import notify_on_commit
from credits.settlement.inputs import Job
from credits.settlement.measures import Measured, measure_many
from credits.settlement.periods import local_today
from credits.settlement.results import SettlementError
from credits.settlement.tickets import tickets_at_risk
from engine import phrases
from engine.l10n import gettext_noop
from engine.phrases import Parts
from engine.projection import BreachWarning

logger = logging.getLogger(__name__)


def warn_early(*, contract: Contract, now: datetime | None = None) -> list[EarlyWarning]:
    """Warn the provider, during an active contract's open period, of every objective that
    is already breached or burning its error budget fast enough to breach by the end, and
    record every objective's attainment so far (:mod:`credits.progress`).

    At most one warning per (contract service, key, period): a second call never warns
    twice (the database's unique constraint decides, not this code). Returns the warnings
    created by this call; ``credits.notify.early_warnings`` tells of them after commit.
    """
    return warn_open_periods([contract], now=now)


def warn_open_periods(
    contracts: Sequence[Contract], *, now: datetime | None = None
) -> list[EarlyWarning]:
    """:func:`warn_early` for many contracts, their open periods measured together and
    their new warnings published together (one publication, not one per warning)."""
    now = now or timezone.now()
    jobs, elapsed = [], []
    for contract in contracts:
        if contract.status != Contract.Status.ACTIVE:
            continue
        kind, tz = contract.settlement_period, contract.timezone
        period = engine.period_containing(local_today(now, tz), kind, tz)
        share = engine.elapsed_fraction(period, contract.start_date, contract.end_date, now)
        if share is None:
            continue
        jobs.append(Job(contract, period, now))
        elapsed.append(share)
    measured_jobs = measure_many(jobs) if jobs else []
    # One transaction: a chunk that fails part-way keeps none of its new warnings, so that
    # warning its contracts again (one by one) creates, and tells of, each of them.
    with transaction.atomic():
        created: list[EarlyWarning] = []
        ticket_warnings: list[EarlyWarning] = []
        progress = []
        for job, share, outcome in zip(jobs, elapsed, measured_jobs, strict=True):
            if isinstance(outcome, SettlementError):
                logger.warning("No early warning: %s", outcome)
                continue
            contract_services, measured = outcome
            progress.append((job.contract, job.period, measured))
            created += _warn(job.contract, job.period, share, contract_services, measured)
            ticket_warnings += _ticket_warnings(
                job.contract, job.period, contract_services, measured, now
            )
        # Every contract's progress in two queries (one delete, one upsert), not two each.
        record_progress_many(progress, now=now)
        created += _create_once(ticket_warnings)
        if created:
            notify_on_commit("early_warnings", warning_ids=[warning.pk for warning in created])
    return created


def _fees_and_at_risk(
    contract: Contract, period: engine.Period, contract_services: Sequence[ContractService]
) -> tuple[dict[int, Decimal], Decimal | None]:
    currency = contract.currency
    fraction = engine.active_fraction(period, contract.start_date, contract.end_date)
    fees = {cs.pk: engine.prorate(cs.fee, fraction) for cs in contract_services}
    fees_total = sum((engine.quantize_money(fee, currency) for fee in fees.values()), Decimal(0))
    return fees, engine.at_risk_amount(contract.credit_cap_percent, fees_total, currency)


def _ticket_warnings(
    contract: Contract,
    period: engine.Period,
    contract_services: Sequence[ContractService],
    measured: Measured,
    now: datetime,
) -> list[EarlyWarning]:
    """Unsaved warnings for the open tickets of the contract's ticket objectives that are
    close to or past their threshold."""
    warnings: list[EarlyWarning] = []
    fees: dict[int, Decimal] | None = None
    at_risk: Decimal | None = None
    for target, measure, _figures in measured:
        if not isinstance(measure, engine.TicketMeasure):
            continue
        for found in tickets_at_risk(target, now):
            if fees is None:
                fees, at_risk = _fees_and_at_risk(contract, period, contract_services)
            objective, cs = target.objective, target.contract_service
            warning = engine.project_ticket_breach(
                objective, measure, reference=found.record.reference, clock=found.clock
            )
            warnings.append(
                EarlyWarning(
                    contract_service=cs,
                    key=objective.key,
                    period_start=period.start,
                    ticket_id=found.record.pk,
                    state=warning.state,
                    attainment=engine.stored_attainment(warning.attainment_so_far),
                    projected_credit_percent=warning.projected_credit_percent or Decimal(0),
                    projected_amount=engine.projected_credit_amount(
                        objective,
                        warning,
                        fee=fees[cs.pk],
                        currency=contract.currency,
                        at_risk=at_risk,
                    ),
                    message=f"{cs.service.name}: {warning.explanation}",
                    message_parts=_message_parts(cs, warning),
                )
            )
    return warnings


def _create_once(warnings: Sequence[EarlyWarning]) -> list[EarlyWarning]:
    """Store the ticket warnings not stored before; the ones already there are left
    alone. Two queries for any number; should another run store one of them in between,
    the unique constraint decides, one by one."""
    if not warnings:
        return []
    known = set(
        EarlyWarning.objects.filter(
            ticket_id__in={warning.ticket_id for warning in warnings}
        ).values_list("ticket_id", "key")
    )
    new = {(w.ticket_id, w.key): w for w in warnings if (w.ticket_id, w.key) not in known}
    if not new:
        return []
    try:
        with transaction.atomic():
            created = EarlyWarning.objects.bulk_create(list(new.values()))
    except IntegrityError:
        created = []
        for warning in new.values():
            try:
                with transaction.atomic():
                    warning.save()
            except IntegrityError:
                continue
            created.append(warning)
    return created


def _warn(
    contract: Contract,
    period: engine.Period,
    elapsed: Fraction,
    contract_services: Sequence[ContractService],
    measured: Measured,
) -> list[EarlyWarning]:
    currency = contract.currency
    fees, at_risk = _fees_and_at_risk(contract, period, contract_services)
    created_warnings = []
    for target, measure, _figures in measured:
        warning = engine.project_breach(target.objective, measure, elapsed)
        if warning is None:
            continue
        cs = target.contract_service
        row, created = EarlyWarning.objects.get_or_create(
            contract_service=cs,
            key=target.objective.key,
            period_start=period.start,
            ticket=None,
            defaults={
                "state": warning.state,
                "attainment": engine.stored_attainment(warning.attainment_so_far),
                "projected_credit_percent": warning.projected_credit_percent or Decimal(0),
                "projected_amount": engine.projected_credit_amount(
                    target.objective, warning, fee=fees[cs.pk], currency=currency, at_risk=at_risk
                ),
                "message": f"{cs.service.name}: {warning.explanation}",
                "message_parts": _message_parts(cs, warning),
            },
        )
        if created:
            created_warnings.append(row)
    return created_warnings


def _message_parts(cs: ContractService, warning: BreachWarning) -> Parts | None:
    """The warning's message as its parts, so that each recipient reads it in their own
    language (``EarlyWarning.message_text``) with the figures of ``message``."""
    if warning.parts is None:
        return None
    return phrases.message(
        gettext_noop("%(service)s: %(warning)s"), service=cs.service.name, warning=warning.parts
    )
