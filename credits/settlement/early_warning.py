"""Early warnings: during an active contract's open period, the provider is warned of every
objective already breached or burning its error budget fast enough to breach by the end,
and every objective's attainment so far is recorded for the dashboard
(:mod:`credits.progress`). The projection, of the attainment and of the credit, is the
engine's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone

import engine
from contracts.models import Contract, ContractService
from credits.models import EarlyWarning
from credits.progress import record_progress
from credits.settlement.announce import notify_on_commit
from credits.settlement.inputs import Job
from credits.settlement.measures import Measured, measure_many
from credits.settlement.periods import local_today
from credits.settlement.results import SettlementError

logger = logging.getLogger(__name__)


def warn_early(*, contract: Contract, now: datetime | None = None) -> list[EarlyWarning]:
    """Warn the provider, during an active contract's open period, of every objective that
    is already breached or burning its error budget fast enough to breach by the end, and
    record every objective's attainment so far (:mod:`credits.progress`).

    At most one warning per (contract service, key, period): a second call never warns
    twice (the database's unique constraint decides, not this code). Returns the warnings
    created by this call; for each, ``credits.notify.early_warning`` runs after commit.
    """
    return warn_open_periods([contract], now=now)


def warn_open_periods(
    contracts: Sequence[Contract], *, now: datetime | None = None
) -> list[EarlyWarning]:
    """:func:`warn_early` for many contracts, their open periods measured together."""
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
    created: list[EarlyWarning] = []
    for job, share, outcome in zip(jobs, elapsed, measure_many(jobs) if jobs else [], strict=True):
        if isinstance(outcome, SettlementError):
            logger.warning("No early warning: %s", outcome)
            continue
        contract_services, measured = outcome
        record_progress(contract=job.contract, period=job.period, measured=measured, now=now)
        created += _warn(job.contract, job.period, share, contract_services, measured)
    return created


def _warn(
    contract: Contract,
    period: engine.Period,
    elapsed: Fraction,
    contract_services: Sequence[ContractService],
    measured: Measured,
) -> list[EarlyWarning]:
    currency = contract.currency
    fraction = engine.active_fraction(period, contract.start_date, contract.end_date)
    fees = {cs.pk: engine.prorate(cs.fee, fraction) for cs in contract_services}
    fees_total = sum((engine.quantize_money(fee, currency) for fee in fees.values()), Decimal(0))
    at_risk = engine.at_risk_amount(contract.credit_cap_percent, fees_total, currency)
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
            defaults={
                "state": warning.state,
                "attainment": engine.stored_attainment(warning.attainment_so_far),
                "projected_credit_percent": warning.projected_credit_percent or Decimal(0),
                "projected_amount": engine.projected_credit_amount(
                    target.objective, warning, fee=fees[cs.pk], currency=currency, at_risk=at_risk
                ),
                "message": f"{cs.service.name}: {warning.explanation}",
            },
        )
        if created:
            created_warnings.append(row)
            notify_on_commit("early_warning", warning_id=row.pk)
    return created_warnings
