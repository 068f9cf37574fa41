"""Sending deliveries: claim, send, record the outcome, retry with backoff.

The ``Delivery`` row, not the message, is the truth. A ``credits.deliver`` task claims its
row with a conditional ``UPDATE`` before sending, so two workers or a redelivered message
never send twice; a failure is retried with exponential backoff and jitter up to
``WEBHOOK_MAX_ATTEMPTS``; and the periodic ``credits.retry_due_deliveries`` enqueues
whatever is due, whatever became of the messages.

Tasks are enqueued by name: ``credits.tasks`` imports this package, so importing it back
would be a circle. The task routes (the ``notify`` queue) are keyed by name and apply alike.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import signature
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from credits.models import Delivery
from credits.notify.emails import SharedBodies
from credits.notify.webhooks import DeliveryRefused, send_webhook

logger = logging.getLogger(__name__)

DELIVER_TASK = "credits.deliver"
DELIVER_BATCH_TASK = "credits.deliver_batch"
# Deliveries per batch task: enough that a connection serves many. A batch that runs out of
# time (slow receivers) hands the rest back to a new batch (credits.notify.batch).
BATCH_SIZE = 200


def max_attempts() -> int:
    """Attempts per delivery (e-mail and webhook alike) before it is marked failed."""
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def _retry_base_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))


def _retry_max_seconds() -> float:
    # Must stay below the broker's visibility timeout, or Redis would redeliver a task
    # that is only waiting for its countdown (the claim would make that harmless anyway).
    return float(getattr(settings, "WEBHOOK_RETRY_MAX_SECONDS", 3600))


def _claim_seconds() -> float:
    # A claim must outlive the longest send: the task's hard time limit kills a send
    # that hangs, after which the claim expires and the periodic task picks it up again.
    return float(getattr(settings, "CELERY_TASK_TIME_LIMIT", 600)) + 60


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base·2^(n-1), ±20 % jitter, capped.

    Jitter spreads the retries of many deliveries that failed together (a receiver that
    was down) so that they do not all come back in the same second.
    """
    base = _retry_base_seconds() * 2 ** max(attempts - 1, 0)
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=min(base * jitter, _retry_max_seconds()))


def email_message(
    delivery: Delivery, connection: Any = None, bodies: SharedBodies | None = None
) -> EmailMultiAlternatives:
    """An e-mail delivery's message (sent through ``connection`` when one is given); the
    messages made with the same ``bodies`` (a batch's) share the MIME body of a payload."""
    payload = delivery.email
    return (bodies or SharedBodies()).email(
        subject=payload["subject"],
        text=payload["text"],
        html=payload["html"],
        to=delivery.recipient,
        headers={"X-SLA-Event": delivery.event, "X-SLA-Event-Id": str(delivery.event_id)},
        connection=connection,
    )


def _send_email(delivery: Delivery) -> None:
    email_message(delivery).send(fail_silently=False)


_SENDERS = {Delivery.Channel.EMAIL: _send_email, Delivery.Channel.WEBHOOK: send_webhook}


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def claimable(delivery: Delivery, now: datetime) -> bool:
    """Whether a delivery (read under lock) may be claimed: pending, due and with attempts
    left, what :func:`claim` asks in SQL (``_due``, the status, ``max_attempts``)."""
    return (
        delivery.status == Delivery.Status.PENDING
        and delivery.attempts < max_attempts()
        and (delivery.next_attempt_at is None or delivery.next_attempt_at <= now)
    )


def claim(*, delivery_id: int, now: datetime | None = None) -> datetime | None:
    """Claim a pending, due delivery for one attempt; ``None`` if it is not ours to send.

    The conditional UPDATE is atomic in the database: of two workers (or a redelivered
    message), one wins. The claim pushes ``next_attempt_at`` past the longest possible
    send and counts the attempt, so a worker that dies mid-send neither blocks the
    delivery for ever nor retries it without limit. The returned timestamp is the
    claim's token: only its holder may record the outcome.
    """
    now = now or timezone.now()
    token = now + timedelta(seconds=_claim_seconds())
    claimed = (
        Delivery.objects.filter(
            _due(now),
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            attempts__lt=max_attempts(),
        ).update(next_attempt_at=token, attempts=F("attempts") + 1)
        == 1
    )
    return token if claimed else None


def send_delivery(*, delivery_id: int) -> str:
    """Make one attempt at a delivery; returns its status afterwards (or "skipped").

    Safe to run any number of times: a delivery that is sent, refused, failed, not yet
    due or claimed by someone else is left alone.
    """
    token = claim(delivery_id=delivery_id)
    if token is None:
        return "skipped"
    delivery = Delivery.objects.select_related("webhook", "content").get(pk=delivery_id)
    mine = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at=token
    )
    try:
        _SENDERS[delivery.channel](delivery)
    except DeliveryRefused as exc:
        logger.warning("delivery %s refused: %s", delivery_id, exc)
        mine.update(status=Delivery.Status.REFUSED, last_error=str(exc)[:2000])
        return Delivery.Status.REFUSED
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= max_attempts():
            logger.error("delivery %s failed for good: %s", delivery_id, error)
            mine.update(status=Delivery.Status.FAILED, last_error=error)
            return Delivery.Status.FAILED
        delay = retry_delay(delivery.attempts)
        logger.info("delivery %s failed (%s); retry in %s", delivery_id, error, delay)
        mine.update(next_attempt_at=timezone.now() + delay, last_error=error)
        # If this message is lost, the periodic task finds the row due and sends it anyway.
        transaction.on_commit(
            partial(enqueue_delivery, delivery_id, countdown=delay.total_seconds()),
            robust=True,
        )
        return Delivery.Status.PENDING
    if not mine.update(status=Delivery.Status.SENT, sent_at=timezone.now(), last_error=""):
        logger.warning("delivery %s was sent after its claim had expired", delivery_id)
    return Delivery.Status.SENT


def enqueue_delivery(delivery_id: int, *, countdown: float | None = None) -> None:
    """Hand one delivery to a ``credits.deliver`` task (after ``countdown`` seconds).

    A signature by name runs the registered task itself when there is one, so eager
    mode (tests, development) still sends in this process.
    """
    signature(DELIVER_TASK, args=(delivery_id,)).apply_async(countdown=countdown)


def enqueue_batch(delivery_ids: list[int]) -> None:
    """Hand deliveries to one ``credits.deliver_batch`` task (run here in eager mode)."""
    signature(DELIVER_BATCH_TASK, args=(delivery_ids,)).apply_async()


def enqueue(delivery_ids: Iterable[int]) -> None:
    """One ``credits.deliver_batch`` task per ``BATCH_SIZE`` deliveries (e-mails over one
    SMTP connection, webhooks one session per URL; see :mod:`credits.notify.batch`); a
    broker that is down stops the rest."""
    ids = list(delivery_ids)
    for offset in range(0, len(ids), BATCH_SIZE):
        chunk = ids[offset : offset + BATCH_SIZE]
        try:
            enqueue_batch(chunk)
        except Exception:
            # The broker is unreachable: the rows are pending and due, the periodic task
            # will enqueue them again. Trying the others now would only fail the same way.
            logger.exception("could not enqueue %d deliveries; they will be retried", len(chunk))
            return


def enqueue_due_deliveries(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue every pending delivery whose time has come; give up on spent ones.

    Driven by the rows, not by the messages: a message lost with a broker restart, a
    worker killed mid-send (its claim expires) or an enqueue that failed after commit
    are all caught here.
    """
    now = now or timezone.now()
    # A claim that expired on its last allowed attempt: its worker died while sending.
    Delivery.objects.filter(
        _due(now), status=Delivery.Status.PENDING, attempts__gte=max_attempts()
    ).update(
        status=Delivery.Status.FAILED,
        last_error="gave up: the last attempt did not complete",
    )
    ids = list(
        Delivery.objects.filter(
            _due(now), status=Delivery.Status.PENDING, attempts__lt=max_attempts()
        )
        .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:limit]
    )
    enqueue(ids)
    return len(ids)
