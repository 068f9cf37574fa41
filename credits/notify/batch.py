"""Sending deliveries in batches: one SMTP connection for a batch's e-mails, one pooled HTTP
session per webhook target, and the outcomes recorded in a few ``UPDATE``s.

A ``credits.deliver_batch`` task claims its rows as :func:`~credits.notify.delivery.claim`
does one (pending, due, attempts left; rows another worker holds are skipped), so a batch
sent twice, or a row also handed to ``credits.deliver``, is never sent twice. Each message
is sent and judged on its own: a refused address or a receiver that fails costs that
delivery one attempt and schedules its retry alone (``credits.deliver``, with backoff), and
the others of the batch go on over the same connection (a new one if the server dropped
it). A batch that has used half the task's soft time limit (slow receivers) hands the rest
back untouched to a new batch, rather than being killed with sent messages unrecorded.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from credits.models import Delivery
from credits.notify.delivery import (
    _claim_seconds,
    claimable,
    email_message,
    enqueue,
    enqueue_delivery,
    max_attempts,
    retry_delay,
)
from credits.notify.emails import SharedBodies
from credits.notify.webhooks import (
    DeliveryRefused,
    resolve_target,
    send_webhook,
    webhook_session,
)

logger = logging.getLogger(__name__)


@dataclass
class Outcomes:
    """What became of each delivery of a batch."""

    sent: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)
    # Not attempted: the batch ran out of time (slow receivers); handed back untouched.
    released: list[int] = field(default_factory=list)
    deadline: float = field(default_factory=lambda: time.monotonic() + _budget_seconds())

    def out_of_time(self, delivery: Delivery) -> bool:
        if time.monotonic() < self.deadline:
            return False
        self.released.append(delivery.pk)
        return True

    def failure(self, delivery: Delivery, exc: BaseException) -> None:
        if isinstance(exc, DeliveryRefused):
            logger.warning("delivery %s refused: %s", delivery.pk, exc)
            self.refused.append((delivery.pk, str(exc)[:2000]))
        else:
            self.failed.append((delivery, f"{type(exc).__name__}: {exc}"[:2000]))


def _budget_seconds() -> float:
    # Half the task's soft time limit: a batch whose receivers are all slow stops in time
    # and hands the rest back, rather than being killed with sent messages unrecorded.
    return float(getattr(settings, "CELERY_TASK_SOFT_TIME_LIMIT", 540)) / 2


def claim_batch(
    delivery_ids: list[int], *, now: datetime | None = None
) -> tuple[datetime, list[Delivery]]:
    """Claim every pending, due delivery of ``delivery_ids`` that no one else holds, for one
    attempt each; returns the claim's token and the rows claimed (attempts counted)."""
    now = now or timezone.now()
    token = now + timedelta(seconds=_claim_seconds())
    with transaction.atomic():
        # Locked by primary key alone, and judged here on the versions FOR UPDATE returns
        # (each row's latest): a condition on the status would let PostgreSQL read the
        # (status, next_attempt_at) index, which after a burst of deliveries holds an entry
        # for every version of every row until vacuum (107,000 read to find 200 at the end
        # of the 20,000-statement benchmark). A webhook delivery checks its webhook still
        # stands as it was; an e-mail reads its content (shared with the other addresses
        # of the same e-mail).
        locked = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            # Each content once (the addresses of an e-mail share it), not once per row.
            .prefetch_related("content")
            .filter(pk__in=delivery_ids)
            .order_by("pk")
        )
        rows = [row for row in locked if claimable(row, now)]
        if rows:
            Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
                next_attempt_at=token, attempts=F("attempts") + 1
            )
    for row in rows:
        row.next_attempt_at = token
        row.attempts += 1
    rows.sort(key=lambda row: (row.channel, row.recipient, row.pk))
    return token, rows


def send_batch(*, delivery_ids: list[int]) -> dict[str, int]:
    """Make one attempt at each delivery of ``delivery_ids`` that is ours to send; returns
    how many were sent, refused, failed for good and left to retry."""
    token, rows = claim_batch(delivery_ids)
    outcomes = Outcomes()
    emails = [row for row in rows if row.channel == Delivery.Channel.EMAIL]
    if emails:
        send_emails(emails, outcomes)
    targets: dict[str, list[Delivery]] = defaultdict(list)
    for row in rows:
        if row.channel == Delivery.Channel.WEBHOOK:
            targets[row.recipient].append(row)
    for deliveries in targets.values():
        send_webhooks(deliveries, outcomes)
    return record(outcomes, token)


def send_emails(deliveries: list[Delivery], outcomes: Outcomes) -> None:
    """Every e-mail over one SMTP connection, each message on its own (those of the same
    payload share its MIME body, built once)."""
    bodies = SharedBodies()
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        for delivery in deliveries:
            outcomes.failure(delivery, exc)
        return
    smtp = isinstance(connection, SmtpBackend)
    try:
        if smtp and _pipelines(connection.connection):
            _SmtpPipeline(connection, outcomes).send(
                _prepared(deliveries, connection, bodies, outcomes)
            )
            return
        send = _SmtpSender(connection) if smtp else None
        for delivery in deliveries:
            if outcomes.out_of_time(delivery):
                continue
            message = email_message(delivery, connection, bodies)
            try:
                if send is not None:
                    send(message)
                elif not connection.send_messages([message]):
                    raise smtplib.SMTPException("the message was not sent")
            except Exception as exc:
                outcomes.failure(delivery, exc)
                if not _usable(connection):
                    _reopen(connection)
            else:
                outcomes.sent.append(delivery.pk)
    finally:
        connection.close()


@functools.lru_cache(maxsize=4096)
def _address(address: str, encoding: str) -> str:
    """An address checked and encoded as Django's SMTP backend does it for the envelope:
    parsing one costs a quarter of a millisecond, and the sender is the same for every
    message and the members of an organisation are told of every statement it has. A
    refused address raises each time (exceptions are not cached)."""
    return sanitize_address(address, encoding)


@functools.lru_cache(maxsize=4096)
def _quoted(address: str) -> str:
    """An envelope address as the SMTP commands write it (``smtplib.quoteaddr`` parses it
    again, a tenth of a millisecond, for the same few addresses over and over)."""
    return smtplib.quoteaddr(address)


class _SmtpSender:
    """What Django's SMTP backend does with each message (``EmailBackend._send``), over the
    batch's open connection, with each address checked and encoded once (``_address``):
    for a server that does not offer PIPELINING."""

    def __init__(self, connection: SmtpBackend) -> None:
        self.connection = connection

    def __call__(self, message: EmailMessage) -> None:
        if self.connection.connection is None:
            # Lost after a failure and not reopened then: opened again, as the backend's
            # send_messages does (raising, for this message, if the server is still away).
            self.connection.open()
        self.connection.connection.sendmail(*_as_sent(message))


def _as_sent(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """A message's envelope sender, recipients and bytes, as Django's SMTP backend sends
    them (``EmailBackend._send``), each address checked and encoded once (``_address``)."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = _address(message.from_email, encoding)
    recipients = [_address(address, encoding) for address in message.recipients()]
    return sender, recipients, message.message().as_bytes(linesep="\r\n")


def _pipelines(session: Any) -> bool:
    """Whether an open session's server offers PIPELINING (asked with EHLO, which Django's
    backend leaves to the first message)."""
    if not isinstance(session, smtplib.SMTP):
        return False
    try:
        session.ehlo_or_helo_if_needed()
    except (smtplib.SMTPException, OSError):
        # Left to the message-by-message path, which fails each on its own.
        return False
    return bool(session.does_esmtp and session.has_extn("pipelining"))


@dataclass
class _Prepared:
    """A delivery's message as SMTP sends it."""

    delivery: Delivery
    sender: str
    recipients: list[str]
    raw: bytes
    # Set when the server took DATA though it took no recipient: the empty message that
    # ends it is sent, and the delivery fails with this whatever the server answers.
    refusal: Exception | None = None


def _prepared(
    deliveries: list[Delivery], connection: Any, bodies: SharedBodies, outcomes: Outcomes
) -> Iterator[_Prepared]:
    """Each delivery's message, built when the pipeline asks for it (while the server reads
    the one before); a delivery out of time is handed back, one whose address cannot be
    written fails on its own."""
    for delivery in deliveries:
        if outcomes.out_of_time(delivery):
            continue
        try:
            sender, recipients, raw = _as_sent(email_message(delivery, connection, bodies))
        except Exception as exc:
            outcomes.failure(delivery, exc)
            continue
        yield _Prepared(delivery, sender, recipients, raw)


class _SmtpPipeline:
    """A batch's e-mails over one SMTP session with the commands pipelined (RFC 2920, for a
    server that offers it): a message's content, its end mark, and the next message's
    MAIL, RCPTs and DATA go in one write, and their replies are read together: one round
    trip per message instead of four, which is most of an e-mail's time with a relay that
    is not on this machine. The next message is built while the server reads (the replies
    are read after it).

    Each message is judged on its own, as ``smtplib.sendmail`` judges it: a refused sender
    or recipients, or a refused DATA, cost that delivery and the session goes on (RSET
    before the next MAIL); a 421 (the server is leaving) or a lost line costs the messages
    whose replies had not come, and the next message opens a new session."""

    def __init__(self, connection: SmtpBackend, outcomes: Outcomes) -> None:
        self.connection = connection
        self.outcomes = outcomes

    def send(self, prepared: Iterator[_Prepared]) -> None:
        waiting: _Prepared | None = None  # DATA taken: its content goes with the next write
        reset = False  # a refused transaction may be open: RSET before the next MAIL
        current = next(prepared, None)
        while current is not None or waiting is not None:
            if current is not None and self.connection.connection is None:
                # A session lost with a message: a new one for the next (waiting is None,
                # for a session is only dropped with every reply owed settled).
                try:
                    self.connection.open()
                    if not _pipelines(self.connection.connection):
                        raise smtplib.SMTPException("the server no longer offers PIPELINING")
                except Exception as exc:
                    self._drop()
                    self.outcomes.failure(current.delivery, exc)
                    current = next(prepared, None)
                    continue
                reset = False
            session = self.connection.connection
            group = []
            if waiting is not None:
                group.append(_stuffed(waiting.raw) + b".\r\n")
            if current is not None:
                group.append(_envelope(session, current, reset))
            owed = [item for item in (waiting, current) if item is not None]
            upcoming, built = None, False
            try:
                session.send(b"".join(group))
                # The next message is built while the server reads these.
                upcoming, built = (next(prepared, None) if current is not None else None), True
                if waiting is not None:
                    code, reply = _reply(session)
                    owed.remove(waiting)
                    self._ended(waiting, code, reply)
                    waiting = None
                if current is not None:
                    if reset:
                        _reply(session)
                        reset = False
                    waiting, reset = self._envelope_replies(session, current)
                    owed.remove(current)
            except (smtplib.SMTPException, OSError) as exc:
                # The line was lost (or a reply could not be read): the replies still owed
                # can no longer be told apart.
                for item in owed:
                    self.outcomes.failure(item.delivery, exc)
                waiting, reset = None, False
                self._drop()
                if not built and current is not None:
                    upcoming = next(prepared, None)
            current = upcoming

    def _envelope_replies(self, session: smtplib.SMTP, item: _Prepared) -> tuple[Any, bool]:
        """Read the replies to ``item``'s MAIL, RCPTs and DATA; returns what waits for its
        content (``item``, or None) and whether an RSET is owed."""
        mail = _reply(session)
        refused = {}
        for recipient in item.recipients:
            code, reply = _reply(session)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        data = _reply(session)
        if mail[0] != 250:
            refusal: Exception = smtplib.SMTPSenderRefused(*mail, item.sender)
        elif len(refused) == len(item.recipients):
            refusal = smtplib.SMTPRecipientsRefused(refused)
        elif data[0] != 354:
            refusal = smtplib.SMTPDataError(*data)
        else:
            return item, False
        if data[0] == 354:
            # The server took DATA though nothing may be sent: it gets an empty message.
            return _Prepared(item.delivery, item.sender, [], b"", refusal), True
        self.outcomes.failure(item.delivery, refusal)
        return None, True

    def _ended(self, item: _Prepared, code: int, reply: bytes) -> None:
        if item.refusal is not None:
            self.outcomes.failure(item.delivery, item.refusal)
        elif code != 250:
            self.outcomes.failure(item.delivery, smtplib.SMTPDataError(code, reply))
        else:
            self.outcomes.sent.append(item.delivery.pk)

    def _drop(self) -> None:
        """Close a session whose replies can no longer be told apart (without QUIT)."""
        session = self.connection.connection
        self.connection.connection = None
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()


def _envelope(session: smtplib.SMTP, item: _Prepared, reset: bool) -> bytes:
    size = f" size={len(item.raw)}" if session.has_extn("size") else ""
    commands = ["rset"] if reset else []
    commands.append(f"mail FROM:{_quoted(item.sender)}{size}")
    commands += [f"rcpt TO:{_quoted(recipient)}" for recipient in item.recipients]
    commands.append("data")
    return "".join(f"{command}\r\n" for command in commands).encode("ascii")


def _stuffed(raw: bytes) -> bytes:
    """As smtplib's data(): a line that starts with a dot gets another, and the content ends
    with a line end (the search first: a regular expression over every message's ten
    kilobytes cost more than sending it, and such a line is rare)."""
    body = re.sub(rb"(?m)^\.", b"..", raw) if raw.startswith(b".") or b"\n." in raw else raw
    return body if not body or body.endswith(b"\r\n") else body + b"\r\n"


def _reply(session: smtplib.SMTP) -> tuple[int, bytes]:
    """The next reply; a 421 (the server is closing) closes the session at once, as
    sendmail does, and the replies still owed are never read."""
    code, reply = session.getreply()
    if code == 421:
        session.close()
        raise smtplib.SMTPServerDisconnected(f"421 {reply.decode(errors='replace')}")
    return code, reply


def _usable(connection: Any) -> bool:
    """Whether an SMTP connection still serves after a failed message: a refused address
    leaves it open (smtplib resets the transaction), a 421 or a dropped line does not.
    Backends that hold no SMTP session (tests, development) are always usable."""
    session = getattr(connection, "connection", None)
    if not isinstance(session, smtplib.SMTP):
        return not hasattr(connection, "connection")
    try:
        return session.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _reopen(connection) -> None:
    connection.close()
    try:
        connection.open()
    except Exception:
        # The next message opens it again (and fails on its own if the server is gone).
        logger.warning("could not reopen the SMTP connection", exc_info=True)


def send_webhooks(deliveries: list[Delivery], outcomes: Outcomes) -> None:
    """Every delivery to one webhook URL through one session, so its connections are kept
    alive between them, to the address checked once for them all; each request is judged
    on its own."""
    try:
        target = resolve_target(deliveries[0].recipient)
    except Exception as exc:
        # A target refused, or a name that does not resolve: the same for every delivery.
        for delivery in deliveries:
            outcomes.failure(delivery, exc)
        return
    with webhook_session() as session:
        for delivery in deliveries:
            if outcomes.out_of_time(delivery):
                continue
            try:
                send_webhook(delivery, session=session, target=target)
            except Exception as exc:
                outcomes.failure(delivery, exc)
            else:
                outcomes.sent.append(delivery.pk)


def record(outcomes: Outcomes, token: datetime) -> dict[str, int]:
    """Write what became of each delivery, only where the claim is still ours."""
    now = timezone.now()
    mine = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at=token)
    counts = {"sent": 0, "refused": 0, "failed": 0, "retry": 0}
    if outcomes.released:
        # Given back as they were (the attempt not counted) and handed to a new batch.
        counts["released"] = mine.filter(pk__in=outcomes.released).update(
            next_attempt_at=now, attempts=F("attempts") - 1
        )
        transaction.on_commit(partial(enqueue, list(outcomes.released)), robust=True)
    if outcomes.sent:
        counts["sent"] = mine.filter(pk__in=outcomes.sent).update(
            status=Delivery.Status.SENT, sent_at=now, last_error=""
        )
        if counts["sent"] < len(outcomes.sent):
            logger.warning("some deliveries were sent after their claim had expired")
    for pk, error in outcomes.refused:
        counts["refused"] += mine.filter(pk=pk).update(
            status=Delivery.Status.REFUSED, last_error=error
        )
    for delivery, error in outcomes.failed:
        if delivery.attempts >= max_attempts():
            logger.error("delivery %s failed for good: %s", delivery.pk, error)
            counts["failed"] += mine.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED, last_error=error
            )
            continue
        delay = retry_delay(delivery.attempts)
        logger.info("delivery %s failed (%s); retry in %s", delivery.pk, error, delay)
        counts["retry"] += mine.filter(pk=delivery.pk).update(
            next_attempt_at=now + delay, last_error=error
        )
        # Retried alone; if this message is lost, the periodic task finds the row due.
        transaction.on_commit(
            partial(enqueue_delivery, delivery.pk, countdown=delay.total_seconds()),
            robust=True,
        )
    return counts
