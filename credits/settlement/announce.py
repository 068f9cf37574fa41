"""Telling people what settlement did, once its transaction commits.

Either in this process (:mod:`credits.notify`, after commit) or through the outbox: a
``PendingAnnouncement`` row written in the settlement's transaction, handed to the
notification queue once committed. The task is sent by its name, so that this package
never imports the tasks that call it; Celery's routes (the ``notify`` queue) apply to a
task sent by name as to any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from celery import signature
from django.db import transaction

from credits import notify
from credits.models import ChronicFailure, PendingAnnouncement, Statement
from credits.settlement.results import SettlementResult

# How a settlement tells both parties of a new statement (see settle_periods).
Announce = bool | Literal["queued"]

# By name, as the announcements: a worker publishes the event.
PUBLISH_TASK = "credits.notify"

# By name: credits.tasks imports this package. A signature by name runs the registered
# task itself where there is one (eagerly in tests, with its own options), and is sent by
# name elsewhere; the routes apply either way.
ANNOUNCE_TASK = "credits.announce_statements"


def notify_on_commit(event: str, **ids: int | list[int]) -> None:
    """Publish ``credits.notify.<event>`` once the transaction commits; a failing
    notification is logged and never undoes or fails the settlement (robust)."""

    def announce() -> None:
        # Looked up when called, not when registered: the publisher in force at commit.
        getattr(notify, event)(**ids)

    # A named function, not a partial: Django logs a robust callback's __qualname__.
    transaction.on_commit(announce, robust=True)


def announce_statement(statement: Statement, has_no_data: bool) -> None:
    """Tell both parties of a new statement (and the provider of objectives without data)
    once the transaction commits."""
    notify_on_commit("statement_issued", statement_id=statement.pk)
    if has_no_data:
        notify_on_commit("no_data", statement_id=statement.pk)


def announce_chronic_failures(failures: Sequence[ChronicFailure], announce: Announce) -> None:
    """Tell both parties of each chronic failure just recorded, once the transaction
    commits: in this process, or (``"queued"``, the sweep) by a worker. A failure is
    recorded once, so it is told once; the event's id makes a second publication a no-op."""
    if not announce:
        return
    for failure in failures:
        if announce == "queued":
            task = signature(PUBLISH_TASK, args=("chronic_failure", failure.pk))
            transaction.on_commit(task.apply_async, robust=True)
        else:
            notify_on_commit("chronic_failure", failure_id=failure.pk)


def queue_announcements(issued: Sequence[SettlementResult], now: datetime) -> None:
    """The outbox rows of new statements, and their hand-over once committed."""
    if not issued:
        return
    PendingAnnouncement.objects.bulk_create(
        [
            PendingAnnouncement(
                statement=r.statement, no_data=r.has_no_data, created_at=now, handed_at=now
            )
            for r in issued
        ]
    )
    ids = [r.statement.pk for r in issued]

    def hand_over() -> None:
        signature(ANNOUNCE_TASK, args=(ids,)).apply_async()

    # robust: if the broker is away, the rows wait for the periodic catch-up.
    transaction.on_commit(hand_over, robust=True)
