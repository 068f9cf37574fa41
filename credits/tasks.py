"""Thin Celery wrappers: they take ids, call one service, and are safe to run twice.

Tasks are acknowledged late and handed back if their worker dies (settings), so a task may
run twice: settling is idempotent and an early warning is unique per period. Only transient
database errors are retried, with exponential backoff and jitter; a period that cannot be
settled (:class:`SettlementError`) is logged, not retried, and the next sweep finds it again
if it is still due.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from contracts.models import Contract, Organization
from credits import notify, settlement
from credits.settlement import SettlementError, SettlementResult, settle_periods, sweep

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="slaportal.ping")
def ping(organization_id: int, marker: str) -> str:
    """Touches one row so that tests can see a real worker reach the database."""
    Organization.objects.filter(pk=organization_id).update(name=marker)
    return marker


@shared_task(name="credits.sweep", **RETRY)
def sweep_task() -> int:
    """Celery beat's entry point: enqueue every due contract period."""
    return sweep()


def _parse(pairs: list[list]) -> list[tuple[int, date]]:
    return [(int(contract_id), date.fromisoformat(start)) for contract_id, start in pairs]


@shared_task(name="credits.settle_contract_periods", **RETRY)
def settle_contract_periods(pairs: list[list]) -> str:
    """Settle a chunk of [contract id, period start] pairs found due by the sweep, each
    unless it already has a statement (a duplicate or redelivered message then does
    nothing); then hand the new statements' announcements to the notification queue, so
    that settling never waits behind e-mail."""
    outcomes = settle_periods(_parse(pairs), only_if_unsettled=True, announce=False)
    issued = [o for o in outcomes if isinstance(o, SettlementResult) and o.created]
    for outcome in outcomes:
        if isinstance(outcome, SettlementError):
            logger.warning("Not settled: %s", outcome)
    if issued:
        announce_statements.delay(
            [o.statement.pk for o in issued], [o.statement.pk for o in issued if o.has_no_data]
        )
    refused = sum(isinstance(o, SettlementError) for o in outcomes)
    existing = len(outcomes) - len(issued) - refused
    return f"{len(issued)} issued, {existing} already issued, {refused} not settled"


@shared_task(name="credits.announce_statements", **RETRY)
def announce_statements(statement_ids: list[int], no_data_ids: list[int]) -> int:
    """Tell both parties of each new statement, and providers of objectives without data.
    Publishing an event twice inserts nothing, so a retry is harmless."""
    notify.statements_issued(statement_ids, no_data_ids=no_data_ids)
    return len(statement_ids)


@shared_task(name="credits.warn_open_periods", **RETRY)
def warn_open_periods(contract_ids: list[int]) -> int:
    """Early warnings and progress for active contracts' open periods; returns how many
    warnings were new."""
    contracts = list(Contract.objects.filter(pk__in=contract_ids).order_by("pk"))
    return len(settlement.warn_open_periods(contracts))
