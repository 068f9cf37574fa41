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
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from contracts.models import Contract, Organization
from credits import notify, settlement
from credits.settlement import SettlementError, SettlementResult, settle_periods, sweep

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# What the one-by-one fallbacks let through: a transient error (the task is retried) or the
# task's time being up (it must stop, not start over one by one).
NOT_THE_CHUNKS_FAULT = (*TRANSIENT_ERRORS, SoftTimeLimitExceeded)
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
    nothing). New statements are announced through the outbox and the notification
    queue, so that settling never waits behind e-mail.

    Should the chunk fail for another reason than a transient database error, its pairs
    are settled one by one, so that one bad period never holds back the others."""
    parsed = _parse(pairs)
    try:
        outcomes = settle_periods(parsed, only_if_unsettled=True, announce="queued")
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception:
        logger.exception("A chunk of %d contract periods failed: settling one by one", len(pairs))
        outcomes = [_settle_alone(pair) for pair in parsed]
    issued = sum(isinstance(o, SettlementResult) and o.created for o in outcomes)
    refused = 0
    for outcome in outcomes:
        if isinstance(outcome, SettlementError):
            refused += 1
            logger.warning("Not settled: %s", outcome)
    existing = len(outcomes) - issued - refused
    return f"{issued} issued, {existing} already issued, {refused} not settled"


def _settle_alone(pair: tuple[int, date]) -> SettlementResult | SettlementError:
    try:
        (outcome,) = settle_periods([pair], only_if_unsettled=True, announce="queued")
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception as exc:
        logger.exception("Contract %s, period %s: not settled", *pair)
        return SettlementError(f"Contract {pair[0]}, period {pair[1]}: {exc}")
    return outcome


@shared_task(name="credits.announce_statements", **RETRY)
def announce_statements(statement_ids: list[int]) -> int:
    """Tell both parties of new statements waiting in the outbox (and providers of their
    objectives without data); returns how many were announced by this call."""
    return notify.announce_pending(statement_ids)


@shared_task(name="credits.warn_open_periods", **RETRY)
def warn_open_periods(contract_ids: list[int]) -> int:
    """Early warnings and progress for active contracts' open periods; returns how many
    warnings were new. Should the chunk fail, its contracts are warned one by one."""
    contracts = list(Contract.objects.filter(pk__in=contract_ids).order_by("pk"))
    try:
        return len(settlement.warn_open_periods(contracts))
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception:
        logger.exception("Early warnings of %d contracts failed: one by one", len(contracts))
    warned = 0
    for contract in contracts:
        try:
            warned += len(settlement.warn_open_periods([contract]))
        except NOT_THE_CHUNKS_FAULT:
            raise
        except Exception:
            logger.exception("No early warning for contract %s", contract.pk)
    return warned


# Notifications: a failed delivery schedules its own retry from its row (see
# credits.notify.delivery), so Celery retries none of these.


@shared_task(name="credits.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Attempt one delivery (claimed first, so running it twice never sends twice)."""
    return notify.send_delivery(delivery_id=delivery_id)


@shared_task(name="credits.retry_due_deliveries", ignore_result=True)
def retry_due_deliveries() -> int:
    """Periodic: re-enqueue every pending delivery that is due, then every statement
    announcement that lost its way; returns the number of deliveries enqueued."""
    return notify.retry_due_deliveries()


@shared_task(name="credits.notify", ignore_result=True)
def publish_event(event: str, object_id: int) -> None:
    """Publish an event from a worker, e.g. ``publish_event.delay("statement_issued", 7)``
    on commit, so that the caller's transaction never waits for (or fails with) it."""
    notify.publish_event(event=event, object_id=object_id)
