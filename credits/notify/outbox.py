"""The outbox of statements to announce, and the periodic catch-up of what lost its way.

Settlement writes a ``PendingAnnouncement`` with each new statement, in its own
transaction, and hands it to the ``credits.announce_statements`` task. Announcing takes
the row out in the same transaction that writes the notifications, so a statement is
announced exactly once however often its message arrives, and one whose message was lost
is found here again from the database.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import signature
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from credits.models import PendingAnnouncement
from credits.notify import publish
from credits.notify.delivery import enqueue_due_deliveries

logger = logging.getLogger(__name__)

# By name: credits.tasks imports this package.
ANNOUNCE_TASK = "credits.announce_statements"

# Errors that say nothing about the statement (a lost connection, the task's time being
# up): the task is retried or stopped, the outbox rows stay untouched.
_NOT_THE_STATEMENTS_FAULT = (OperationalError, InterfaceError, SoftTimeLimitExceeded)

# Handed over this long ago and still waiting: its message was lost (or its worker died),
# rather than queued behind a large settlement. The sweep runs every 15 minutes.
STALE_ANNOUNCEMENT = timedelta(minutes=15)
# After this many failed attempts an announcement waits for people (its row says why).
MAX_ANNOUNCEMENT_ATTEMPTS = 8


def announce_pending(statement_ids: Sequence[int]) -> int:
    """Announce the statements of ``statement_ids`` still in the outbox
    (``PendingAnnouncement``) and take them out of it, in one transaction: the
    notifications are written exactly when the outbox row goes. Rows another worker is
    announcing are skipped. Should the batch fail, each statement is announced on its own,
    so that one that cannot be announced (counted in its row's ``attempts``) holds back no
    other. Returns the number announced."""
    try:
        return _announce(statement_ids)
    except _NOT_THE_STATEMENTS_FAULT:
        raise
    except Exception:
        if len(statement_ids) == 1:
            _record_failure(statement_ids[0])
            return 0
        logger.exception("Announcing %d statements failed: one by one", len(statement_ids))
    return sum(announce_pending([statement_id]) for statement_id in statement_ids)


def _announce(statement_ids: Sequence[int]) -> int:
    with transaction.atomic():
        pending = list(
            PendingAnnouncement.objects.select_for_update(skip_locked=True)
            .filter(statement_id__in=statement_ids)
            .order_by("statement_id")
        )
        if not pending:
            return 0
        publish.statements_issued(
            [row.statement_id for row in pending],
            no_data_ids=[row.statement_id for row in pending if row.no_data],
        )
        PendingAnnouncement.objects.filter(pk__in=[row.pk for row in pending]).delete()
    return len(pending)


def _record_failure(statement_id: int) -> None:
    logger.exception("Statement %s could not be announced", statement_id)
    error = traceback.format_exc(limit=3)[-2000:]
    PendingAnnouncement.objects.filter(statement_id=statement_id).update(
        attempts=F("attempts") + 1, last_error=error
    )


def enqueue_stale_announcements(*, now: datetime | None = None, chunk: int = 100) -> int:
    """Hand every announcement handed over more than ``STALE_ANNOUNCEMENT`` ago to the
    notification queue again, ``chunk`` per task, and note when; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            PendingAnnouncement.objects.select_for_update(skip_locked=True)
            .filter(handed_at__lt=now - STALE_ANNOUNCEMENT, attempts__lt=MAX_ANNOUNCEMENT_ATTEMPTS)
            .order_by("statement_id")
            .values_list("statement_id", flat=True)
        )
        PendingAnnouncement.objects.filter(statement_id__in=ids).update(handed_at=now)
    for offset in range(0, len(ids), chunk):
        # A registered task runs through its own apply_async (eager mode included).
        signature(ANNOUNCE_TASK, args=(ids[offset : offset + chunk],)).apply_async()
    if ids:
        logger.warning("%d statements were not announced yet: handed over again", len(ids))
    return len(ids)


def retry_due_deliveries() -> int:
    """Periodic: re-enqueue every pending delivery that is due, then every statement
    announcement that lost its way; returns the number of deliveries enqueued."""
    enqueued = enqueue_due_deliveries()
    try:
        enqueue_stale_announcements()
    except Exception:
        # The deliveries are on their way; the announcements wait for the next minute.
        logger.exception("Stale announcements could not be handed over")
    return enqueued
