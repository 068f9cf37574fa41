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
from credits import notify  # noqa: F401 - registers the delivery tasks with the worker
from credits.settlement import SettlementError, settle_period, sweep, warn_early

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


@shared_task(name="credits.settle_contract_period", **RETRY)
def settle_contract_period(contract_id: int, period_start: str) -> str | None:
    """Settle one contract period found due by the sweep, unless it already has a
    statement (a duplicate or redelivered message then does nothing)."""
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        logger.warning(
            "Contract %s no longer exists: period %s not settled", contract_id, period_start
        )
        return None
    try:
        result = settle_period(
            contract=contract,
            period_start=date.fromisoformat(period_start),
            only_if_unsettled=True,
        )
    except SettlementError as exc:
        logger.warning("Not settled: %s", exc)
        return None
    statement = result.statement
    return f"{statement} {'issued' if result.created else 'already issued'}"


@shared_task(name="credits.warn_open_period", **RETRY)
def warn_open_period(contract_id: int) -> int:
    """Early warnings for one active contract's open period; returns how many were new."""
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        return 0
    return len(warn_early(contract=contract))
