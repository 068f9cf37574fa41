"""Notifications of both parties: in-app, e-mail and signed webhooks.

An event (a statement issued, a dispute opened or resolved, a lapse recorded, an early
warning, missing data) becomes, in one transaction:

- one ``Notification`` per member of each organisation concerned (the in-app inbox);
- one ``Delivery`` per e-mail address and one per organisation webhook.

Every event has a deterministic ``event_id`` (uuid5 of ``"<event>:<object id>"``) and the
rows are unique on it, so publishing the same event twice creates nothing new. Deliveries
are sent after the transaction commits, each by its own ``credits.deliver`` task, so that a
failing channel never blocks another one nor the caller. The ``Delivery`` row, not the
message, is the truth: a task claims it with a conditional ``UPDATE`` before sending (two
workers or a redelivered message never send twice), failures are retried with exponential
backoff and jitter up to ``WEBHOOK_MAX_ATTEMPTS``, and the periodic
``credits.retry_due_deliveries`` re-enqueues whatever is due, whatever became of the
messages.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import traceback
import uuid
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from requests.adapters import HTTPAdapter

import engine
from contracts.models import Membership, Organization, ResponsibilityLapse
from credits.models import (
    Delivery,
    Dispute,
    EarlyWarning,
    Notification,
    PendingAnnouncement,
    Statement,
    StatementLine,
)

logger = logging.getLogger(__name__)

# Event ids are uuid5 in this namespace: the same event always has the same id, so a
# receiver can deduplicate and so can our unique constraints.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sla-portal/events")
SIGNATURE_HEADER = "X-SLA-Signature"
USER_AGENT = "SLA-Portal-Webhook/1"

Event = Notification.Event


# --------------------------------------------------------------------------- settings


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


# --------------------------------------------------------------------------- events


def event_id_for(event: str, object_id: int) -> uuid.UUID:
    """The one id of an event: the same event always gets the same id."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{event}:{object_id}")


@dataclass
class _Event:
    event: str
    object_id: int
    title: str
    body: str
    link: str
    occurred_at: datetime
    data: dict[str, Any]
    organizations: Sequence[Organization]
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> uuid.UUID:
        return event_id_for(self.event, self.object_id)

    def webhook_payload(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event": self.event,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


def _money(amount: Decimal, currency: str) -> str:
    """An amount as a JSON string at the currency's minor unit ("300.00")."""
    try:
        return str(engine.quantize_money(amount, currency))
    except ValueError:
        return str(amount)


def _money_text(amount: Decimal, currency: str) -> str:
    """An amount for people ("1,500.00 EUR")."""
    try:
        return engine.format_money(amount, currency)
    except ValueError:
        return f"{amount} {currency}"


def _decimal_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f")


def period_label(start: date, end: date) -> str:
    """A short name of a settlement period: 2026-10, 2026-W41, 2026-Q4 (or the dates)."""
    period_kinds = ("month", "week", "quarter")
    for kind in period_kinds:
        period = engine.period_containing(start, kind, "UTC")
        if (period.start, period.end) == (start, end):
            if kind == "month":
                return f"{start:%Y-%m}"
            if kind == "week":
                year, week, _ = start.isocalendar()
                return f"{year}-W{week:02d}"
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m-%d}–{end:%Y-%m-%d}"


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _local(moment: datetime, tz: str) -> str:
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _statement_link(statement_id: int, line_id: int | None = None) -> str:
    return f"/statements/{statement_id}/" + (f"#line-{line_id}" if line_id else "")


def _line_data(line: Any, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "contract_service": line.contract_service_id,
        "service": line.contract_service.service.name,
        "key": line.key,
        "name": line.name,
        "attainment": _decimal_text(line.attainment),
        "target": _decimal_text(line.target),
        "comparator": line.comparator,
        "met": line.met,
        "credit_percent": _decimal_text(line.credit_percent),
        "amount": _money(line.amount, currency),
    }


def _load_statements(statement_ids: Sequence[int]) -> list[tuple[Statement, list[Any]]]:
    """The statements (in the order given; missing ones left out) with their lines; two
    queries for any number."""
    statements = Statement.objects.select_related(
        "contract__provider", "contract__customer"
    ).in_bulk(statement_ids)
    lines: dict[int, list[Any]] = {pk: [] for pk in statements}
    for line in (
        StatementLine.objects.filter(statement_id__in=statements)
        .select_related("contract_service__service")
        .order_by("pk")
    ):
        statement = statements[line.statement_id]
        # Figures for people, at the currency's minor unit, for the e-mail templates.
        line.amount_text = _money_text(line.amount, statement.currency)
        line.attainment_text = (
            None if line.attainment is None else engine.format_attainment(line.attainment)
        )
        line.target_text = _decimal_text(line.target)
        lines[line.statement_id].append(line)
    return [(statements[pk], lines[pk]) for pk in statement_ids if pk in statements]


def _statement_data(statement: Statement, lines: list[Any]) -> dict[str, Any]:
    currency = statement.currency
    return {
        "statement": statement.pk,
        "contract": statement.contract_id,
        "contract_reference": statement.contract.reference,
        "provider": statement.contract.provider_id,
        "customer": statement.contract.customer_id,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "revision": statement.revision,
        "currency": currency,
        "fees_total": _money(statement.fees_total, currency),
        "credit_total": _money(statement.credit_total, currency),
        "cap_adjustment": _money(statement.cap_adjustment, currency),
        "lines": [_line_data(line, currency) for line in lines],
    }


def _statement_event(statement: Statement, lines: list[Any]) -> _Event:
    contract = statement.contract
    currency = statement.currency
    label = period_label(statement.period_start, statement.period_end)
    credit = _money_text(statement.credit_total, currency)
    body = (
        f"{contract.provider.name} issued the statement of {contract.reference} "
        f"({contract.title}) for {label}, {_day(statement.period_start)} to "
        f"{_day(statement.period_end)}: fees {_money_text(statement.fees_total, currency)}, "
        f"service credit {credit}."
    )
    if statement.cap_adjustment:
        body += (
            f" The credits were capped at the at-risk amount "
            f"(adjustment {_money_text(statement.cap_adjustment, currency)})."
        )
    if statement.revision > 1:
        body += (
            f" This revision replaces revision {statement.revision - 1}, which is kept unchanged."
        )
    return _Event(
        event=Event.STATEMENT_ISSUED,
        object_id=statement.pk,
        title=f"Statement {contract.reference} {label} (revision {statement.revision}): "
        f"credit {credit}",
        body=body,
        link=_statement_link(statement.pk),
        occurred_at=statement.issued_at,
        data=_statement_data(statement, lines),
        organizations=_parties(contract),
        context={
            "statement": statement,
            "contract": contract,
            "lines": lines,
            "period_label": label,
            "credit": credit,
            "fees": _money_text(statement.fees_total, currency),
        },
    )


def _no_data_event(statement: Statement, lines: list[Any]) -> _Event | None:
    missing = [line for line in lines if line.attainment is None]
    if not missing:
        return None
    contract = statement.contract
    label = period_label(statement.period_start, statement.period_end)
    names = ", ".join(f"{line.name} ({line.contract_service.service.name})" for line in missing)
    count = len(missing)
    data = _statement_data(statement, lines)
    data["lines"] = [_line_data(line, statement.currency) for line in missing]
    return _Event(
        event=Event.NO_DATA,
        object_id=statement.pk,
        title=f"No data for {count} objective{'s' if count != 1 else ''} of "
        f"{contract.reference} {label}",
        body=(
            f"Statement {contract.reference} {label} (revision {statement.revision}) was issued "
            f"without any measurement for: {names}. No credit was computed for "
            f"{'them' if count != 1 else 'it'}; send the measurements and settle again for "
            f"a new revision."
        ),
        link=_statement_link(statement.pk),
        occurred_at=statement.issued_at,
        data=data,
        organizations=[contract.provider],
        context={"statement": statement, "contract": contract, "lines": missing},
    )


def _early_warning_event(warning_id: int) -> _Event:
    warning = EarlyWarning.objects.select_related(
        "contract_service__contract__provider", "contract_service__service"
    ).get(pk=warning_id)
    contract_service = warning.contract_service
    contract = contract_service.contract
    currency = contract.currency
    projected = _money_text(warning.projected_amount, currency)
    state = "breached" if warning.state == EarlyWarning.State.BREACHED else "at risk"
    return _Event(
        event=Event.EARLY_WARNING,
        object_id=warning.pk,
        title=f"Early warning: {warning.key} of {contract_service.service.name} in "
        f"{contract.reference} is {state}, projected credit {projected}",
        body=warning.message,
        link=f"/contracts/{contract.pk}/",
        occurred_at=warning.created_at,
        data={
            "early_warning": warning.pk,
            "contract": contract.pk,
            "contract_reference": contract.reference,
            "contract_service": contract_service.pk,
            "key": warning.key,
            "period_start": warning.period_start.isoformat(),
            "state": warning.state,
            "attainment": _decimal_text(warning.attainment),
            "projected_credit_percent": _decimal_text(warning.projected_credit_percent),
            "projected_amount": _money(warning.projected_amount, currency),
            "currency": currency,
        },
        organizations=[contract.provider],
        context={"warning": warning, "contract": contract, "projected": projected},
    )


def _load_dispute(dispute_id: int) -> Dispute:
    return Dispute.objects.select_related(
        "line__statement__contract__provider",
        "line__statement__contract__customer",
        "line__contract_service__service",
        "opened_by",
        "resolved_by",
    ).get(pk=dispute_id)


def _dispute_data(dispute: Dispute) -> dict[str, Any]:
    line = dispute.line
    statement = line.statement
    return {
        "dispute": dispute.pk,
        "status": dispute.status,
        "reason": dispute.reason,
        "resolution": dispute.resolution,
        "line": line.pk,
        "statement": statement.pk,
        "contract": statement.contract_id,
        "contract_reference": statement.contract.reference,
        "key": line.key,
        "amount": _money(line.amount, statement.currency),
        "currency": statement.currency,
    }


def _dispute_event(dispute_id: int, event: str) -> _Event:
    dispute = _load_dispute(dispute_id)
    line = dispute.line
    statement = line.statement
    contract = statement.contract
    label = period_label(statement.period_start, statement.period_end)
    subject = (
        f"{line.name} of {line.contract_service.service.name} on statement "
        f"{contract.reference} {label} (revision {statement.revision})"
    )
    if event == Event.DISPUTE_OPENED:
        title = f"Dispute opened: {subject}"
        body = f"{contract.customer.name} disputes this line: {dispute.reason}"
        occurred_at = dispute.opened_at
    else:
        title = f"Dispute {dispute.get_status_display().lower()}: {subject}"
        body = (
            f"{contract.provider.name} {dispute.get_status_display().lower()} the dispute "
            f"({dispute.reason}): {dispute.resolution}"
        )
        occurred_at = dispute.resolved_at or timezone.now()
    return _Event(
        event=event,
        object_id=dispute.pk,
        title=title,
        body=body,
        link=_statement_link(statement.pk, line.pk),
        occurred_at=occurred_at,
        data=_dispute_data(dispute),
        organizations=_parties(contract),
        context={
            "dispute": dispute,
            "line": line,
            "statement": statement,
            "contract": contract,
            "period_label": label,
            "amount": _money_text(line.amount, statement.currency),
        },
    )


def _parties(contract: Any) -> list[Organization]:
    """Both parties, except that a customer hears nothing of a contract still in draft."""
    if contract.status == "draft":
        return [contract.provider]
    return [contract.provider, contract.customer]


def _lapse_event(lapse_id: int) -> _Event:
    lapse = ResponsibilityLapse.objects.select_related(
        "responsibility__contract__provider", "responsibility__contract__customer"
    ).get(pk=lapse_id)
    responsibility = lapse.responsibility
    contract = responsibility.contract
    start = _local(lapse.start, contract.timezone)
    end = _local(lapse.end, contract.timezone)
    return _Event(
        event=Event.LAPSE_RECORDED,
        object_id=lapse.pk,
        title=f"Responsibility lapse on {contract.reference}: {responsibility.title}, "
        f"{start} to {end}",
        body=(
            f"A lapse of the customer's responsibility “{responsibility.title}” was recorded "
            f"from {start} to {end}. Incidents and samples of the objectives it affects are "
            f"excluded from the credits of that time."
            + (f" Note: {lapse.note}" if lapse.note else "")
        ),
        link=f"/contracts/{contract.pk}/",
        occurred_at=lapse.recorded_at,
        data={
            "lapse": lapse.pk,
            "responsibility": responsibility.pk,
            "responsibility_title": responsibility.title,
            "contract": contract.pk,
            "contract_reference": contract.reference,
            "start": lapse.start.isoformat(),
            "end": lapse.end.isoformat(),
            "note": lapse.note,
        },
        organizations=_parties(contract),
        context={"lapse": lapse, "responsibility": responsibility, "contract": contract},
    )


# --------------------------------------------------------------------------- publishing


def _render_email(event: _Event, organization: Organization) -> dict[str, str]:
    context = {
        **event.context,
        "title": event.title,
        "body": event.body,
        "event": event.event,
        "event_id": str(event.event_id),
        "organization": organization,
        "link_url": settings.SITE_URL.rstrip("/") + event.link,
        "site_url": settings.SITE_URL,
    }
    return {
        # A header must be one line; titles hold user text such as a responsibility title.
        "subject": " ".join(event.title.split())[:250],
        "text": render_to_string(f"credits/email/{event.event}.txt", context),
        "html": render_to_string(f"credits/email/{event.event}.html", context),
    }


def _publish(event: _Event) -> None:
    _publish_many([event])


def _publish_many(events: Sequence[_Event]) -> None:
    """Write the events' notifications and deliveries (members in one query, rows in one
    insert each); send them once committed."""
    now = timezone.now()
    organization_ids = {org.pk for event in events for org in event.organizations}
    members: dict[int, list[Any]] = {pk: [] for pk in organization_ids}
    memberships = (
        Membership.objects.filter(organization_id__in=organization_ids, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    for membership in memberships:
        members[membership.organization_id].append(membership.user)
    notifications: list[Notification] = []
    deliveries: list[Delivery] = []
    for event in events:
        _rows_of(event, members, now, notifications, deliveries)
    with transaction.atomic():
        # Unique (event_id, user) and (event_id, channel, recipient): a second publication
        # of the same event inserts nothing.
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        # robust: a broker that is down must not fail the caller's request or settlement;
        # the rows stay pending and retry_due_deliveries sends them later.
        transaction.on_commit(
            partial(enqueue_pending, event_ids=[event.event_id for event in events]),
            robust=True,
        )


def _rows_of(
    event: _Event,
    members: dict[int, list[Any]],
    now: datetime,
    notifications: list[Notification],
    deliveries: list[Delivery],
) -> None:
    """One event's notifications (one per person) and deliveries (one per address and
    one per webhook)."""
    event_id = event.event_id
    users_seen: set[int] = set()
    emails_seen: set[str] = set()
    for organization in dict.fromkeys(event.organizations):
        rendered: dict[str, str] | None = None
        for user in members[organization.pk]:
            # A person in both organisations is told once, as a member of the first.
            if user.pk not in users_seen:
                users_seen.add(user.pk)
                notifications.append(
                    Notification(
                        event_id=event_id,
                        user=user,
                        organization=organization,
                        event=event.event,
                        title=event.title[:300],
                        body=event.body,
                        link=event.link,
                    )
                )
            address = (user.email or "").strip()
            if address and address.lower() not in emails_seen:
                emails_seen.add(address.lower())
                rendered = rendered or _render_email(event, organization)
                deliveries.append(
                    Delivery(
                        event_id=event_id,
                        event=event.event,
                        channel=Delivery.Channel.EMAIL,
                        organization=organization,
                        recipient=address,
                        payload=rendered,
                        next_attempt_at=now,
                    )
                )
        if organization.webhook_url:
            deliveries.append(
                Delivery(
                    event_id=event_id,
                    event=event.event,
                    channel=Delivery.Channel.WEBHOOK,
                    organization=organization,
                    recipient=organization.webhook_url,
                    payload=event.webhook_payload(),
                    next_attempt_at=now,
                )
            )


def enqueue_pending(*, event_ids: Sequence[uuid.UUID]) -> int:
    """Enqueue one ``deliver`` task per pending delivery of the events."""
    ids = list(
        Delivery.objects.filter(event_id__in=event_ids, status=Delivery.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    _enqueue(ids)
    return len(ids)


def _enqueue(ids: Iterable[int]) -> None:
    for delivery_id in ids:
        try:
            deliver.delay(delivery_id)
        except Exception:
            # The broker is unreachable: the rows are pending and due, the periodic task
            # will enqueue them again. Trying the others now would only fail the same way.
            logger.exception("could not enqueue delivery %s; it will be retried", delivery_id)
            return


# Errors that say nothing about the statement (a lost connection, the task's time being
# up): the task is retried or stopped, the outbox rows stay untouched.
_NOT_THE_STATEMENTS_FAULT = (OperationalError, InterfaceError, SoftTimeLimitExceeded)


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
        statements_issued(
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


# Handed over this long ago and still waiting: its message was lost (or its worker died),
# rather than queued behind a large settlement. The sweep runs every 15 minutes.
STALE_ANNOUNCEMENT = timedelta(minutes=15)
# After this many failed attempts an announcement waits for people (its row says why).
MAX_ANNOUNCEMENT_ATTEMPTS = 8


def enqueue_stale_announcements(*, now: datetime | None = None, chunk: int = 100) -> int:
    """Hand every announcement handed over more than ``STALE_ANNOUNCEMENT`` ago to the
    notification queue again, ``chunk`` per task, and note when; returns how many."""
    from credits.tasks import announce_statements  # the tasks import this module

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
        announce_statements.delay(ids[offset : offset + chunk])
    if ids:
        logger.warning("%d statements were not announced yet: handed over again", len(ids))
    return len(ids)


def statement_issued(*, statement_id: int) -> None:
    """Tell both parties (members, e-mail, webhooks) that a statement was issued."""
    statements_issued([statement_id])


def no_data(*, statement_id: int) -> None:
    """Warn the provider's members that objectives of the statement had no data."""
    statements_issued([], no_data_ids=[statement_id])


def statements_issued(statement_ids: Sequence[int], *, no_data_ids: Sequence[int] = ()) -> None:
    """:func:`statement_issued` for many statements, and :func:`no_data` for those of
    ``no_data_ids``, published together: a constant number of queries."""
    loaded = {
        statement.pk: (statement, lines)
        for statement, lines in _load_statements([*statement_ids, *no_data_ids])
    }
    events = [_statement_event(*loaded[pk]) for pk in statement_ids if pk in loaded]
    for pk in no_data_ids:
        if pk in loaded and (event := _no_data_event(*loaded[pk])) is not None:
            events.append(event)
    if events:
        _publish_many(events)


def early_warning(*, warning_id: int) -> None:
    """Warn the provider's members of an objective breached or at risk, with the projection."""
    _publish(_early_warning_event(warning_id))


def dispute_opened(*, dispute_id: int) -> None:
    """Tell both parties that the customer disputes a statement line."""
    _publish(_dispute_event(dispute_id, Event.DISPUTE_OPENED))


def dispute_resolved(*, dispute_id: int) -> None:
    """Tell both parties that the provider accepted or rejected a dispute."""
    _publish(_dispute_event(dispute_id, Event.DISPUTE_RESOLVED))


def lapse_recorded(*, lapse_id: int) -> None:
    """Tell both parties that a lapse of a customer responsibility was recorded."""
    _publish(_lapse_event(lapse_id))


# --------------------------------------------------------------------------- webhooks


class DeliveryRefused(Exception):
    """A delivery that must never be attempted (e.g. a private target): no retry."""


# Cloud metadata endpoints are never a legitimate webhook, whatever the settings allow.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool
) -> str | None:
    """Why a webhook may not reach ``ip`` (``None`` when it may).

    Link-local (cloud metadata), multicast, unspecified and reserved addresses are always
    refused; loopback and private ones only when ``allow_private`` (tests) says so.
    """
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    ip = _embedded_ipv4(ip)
    if ip in _METADATA_ADDRESSES or ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return None if allow_private else "a private address"
    if not ip.is_global:
        return None if allow_private else "an address that is not publicly routable"
    return None


def resolve_target(url: str) -> tuple[str, str, int, str]:
    """Check a webhook URL and pick the address to connect to.

    Returns (scheme, host, port, address). Every address the host resolves to is checked,
    and the connection is then pinned to a checked one, so a DNS answer that changes
    between the check and the request (rebinding) cannot redirect it. Raises
    ``DeliveryRefused`` for a target that must never be tried and ``OSError`` when the name
    does not resolve (a transient failure, retried).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DeliveryRefused(f"webhook URL scheme {scheme!r} is not http or https")
    if parts.username or parts.password:
        raise DeliveryRefused("webhook URLs may not carry credentials")
    host = parts.hostname
    if not host:
        raise DeliveryRefused("webhook URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DeliveryRefused("webhook URL has an invalid port") from None
    allow_private = bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OSError(f"{host} did not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = address_refusal(ip, allow_private=allow_private)
        if reason:
            raise DeliveryRefused(f"webhook target {host} resolves to {address}, {reason}")
    return scheme, host, port, addresses[0]


class _PinnedAdapter(HTTPAdapter):
    """Connects to one checked address while speaking to (and verifying TLS for) the host."""

    def __init__(self, host: str, address: str) -> None:
        self._host = host
        self._address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self._address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self._host
            pool_kwargs["assert_hostname"] = self._host
        return host_params, pool_kwargs


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are posted and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    """The ``X-SLA-Signature`` value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """For receivers: whether ``header`` is the signature of ``body`` with ``secret``."""
    if not secret or not isinstance(header, str) or not isinstance(body, bytes | bytearray):
        return False
    return hmac.compare_digest(sign(bytes(body), secret).encode(), header.strip().encode())


def _send_webhook(delivery: Delivery) -> None:
    organization = delivery.organization
    if organization.webhook_url != delivery.recipient or not organization.webhook_secret:
        raise DeliveryRefused("the organisation no longer has this webhook (or its secret)")
    scheme, host, port, address = resolve_target(delivery.recipient)
    body = webhook_body(delivery.payload)
    # The connection goes to the pinned address, so the Host header must name the host.
    netloc = f"[{host}]" if ":" in host else host
    host_header = netloc if port == (443 if scheme == "https" else 80) else f"{netloc}:{port}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": host_header,
        SIGNATURE_HEADER: sign(body, organization.webhook_secret),
        "X-SLA-Event": delivery.event,
        "X-SLA-Event-Id": str(delivery.event_id),
    }
    with requests.Session() as session:
        # No proxies from the environment: they would bypass the address check.
        session.trust_env = False
        session.mount(f"{scheme}://", _PinnedAdapter(host, address))
        response = session.post(
            delivery.recipient,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        )
        # The receiver's answer is not read: only its status matters.
        response.close()
    if not 200 <= response.status_code < 300:
        location = response.headers.get("Location", "")
        detail = f" (redirect to {location[:200]} not followed)" if location else ""
        raise RuntimeError(f"HTTP {response.status_code}{detail}")


def _send_email(delivery: Delivery) -> None:
    payload = delivery.payload
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"X-SLA-Event": delivery.event, "X-SLA-Event-Id": str(delivery.event_id)},
    )
    message.attach_alternative(payload["html"], "text/html")
    message.send(fail_silently=False)


_SENDERS = {Delivery.Channel.EMAIL: _send_email, Delivery.Channel.WEBHOOK: _send_webhook}


# --------------------------------------------------------------------------- delivering


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


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
    delivery = Delivery.objects.select_related("organization").get(pk=delivery_id)
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
        transaction.on_commit(
            partial(_requeue, delivery_id=delivery_id, countdown=delay.total_seconds()),
            robust=True,
        )
        return Delivery.Status.PENDING
    if not mine.update(status=Delivery.Status.SENT, sent_at=timezone.now(), last_error=""):
        logger.warning("delivery %s was sent after its claim had expired", delivery_id)
    return Delivery.Status.SENT


def _requeue(*, delivery_id: int, countdown: float) -> None:
    # If this message is lost, the periodic task finds the row due and sends it anyway.
    deliver.apply_async((delivery_id,), countdown=countdown)


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
    _enqueue(ids)
    return len(ids)


@shared_task(name="credits.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Attempt one delivery (claimed first, so running it twice never sends twice)."""
    return send_delivery(delivery_id=delivery_id)


@shared_task(name="credits.retry_due_deliveries", ignore_result=True)
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


_PUBLISHERS = {
    Event.STATEMENT_ISSUED: ("statement_id", statement_issued),
    Event.NO_DATA: ("statement_id", no_data),
    Event.EARLY_WARNING: ("warning_id", early_warning),
    Event.DISPUTE_OPENED: ("dispute_id", dispute_opened),
    Event.DISPUTE_RESOLVED: ("dispute_id", dispute_resolved),
    Event.LAPSE_RECORDED: ("lapse_id", lapse_recorded),
}


@shared_task(name="credits.notify", ignore_result=True)
def notify(event: str, object_id: int) -> None:
    """Publish an event from a worker, e.g. ``notify.delay("statement_issued", 7)`` on
    commit, so that the caller's transaction never waits for (or fails with) it."""
    argument, publisher = _PUBLISHERS[Event(event)]
    publisher(**{argument: object_id})
