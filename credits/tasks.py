"""Thin Celery wrappers: they take ids, call one service, and are safe to run twice.

Tasks are acknowledged late and handed back if their worker dies (settings), so a task may
run twice: settling is idempotent and an early warning is unique per period. Only transient
database errors are retried, with exponential backoff and jitter; a period that cannot be
settled is logged, not retried, and the next sweep finds it again if it is still due.

Services never import this module: they send these tasks by name.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from credits import notify, settlement

RETRY = {
    "autoretry_for": settlement.TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="credits.sweep", **RETRY)
def sweep_task() -> int:
    """Celery beat's entry point: enqueue every due contract period."""
    return settlement.sweep()


def _parse(pairs: list[list]) -> list[tuple[int, date]]:
    return [(int(contract_id), date.fromisoformat(start)) for contract_id, start in pairs]


@shared_task(name="credits.settle_contract_periods", **RETRY)
def settle_contract_periods(pairs: list[list]) -> str:
    """Settle a chunk of [contract id, period start] pairs found due by the sweep."""
    return str(settlement.settle_chunk(_parse(pairs)))


@shared_task(name="credits.announce_statements", **RETRY)
def announce_statements(statement_ids: list[int]) -> int:
    """Tell both parties of new statements waiting in the outbox (and providers of their
    objectives without data); returns how many were announced by this call."""
    return notify.announce_pending(statement_ids)


@shared_task(name="credits.warn_open_periods", **RETRY)
def warn_open_periods(contract_ids: list[int]) -> int:
    """Early warnings and progress for active contracts' open periods; returns how many
    warnings were new."""
    return len(settlement.warn_chunk(contract_ids))


# Notifications: a failed delivery schedules its own retry from its row (see
# credits.notify.delivery), so Celery retries none of these.


@shared_task(name="credits.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Attempt one delivery (claimed first, so running it twice never sends twice)."""
    return notify.send_delivery(delivery_id=delivery_id)


@shared_task(name="credits.deliver_batch", ignore_result=True)
def deliver_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Attempt a batch of deliveries: e-mails over one SMTP connection, webhooks one
    session per URL; each claimed first and judged on its own (a failure is retried alone)."""
    return notify.send_batch(delivery_ids=delivery_ids)


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


@shared_task(name="credits.send_digests", ignore_result=True)
def send_digests() -> int:
    """Daily: one e-mail per person who chose the digest, with the events since the last."""
    return notify.send_digests()
