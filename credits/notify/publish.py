"""Publishing an event: its notifications and deliveries, written once, sent after commit.

An event becomes, in one transaction, one ``Notification`` per member of each
organisation concerned (the in-app inbox), one ``Delivery`` per e-mail address and one
per organisation webhook. The rows are unique on the event's id, so publishing the same
event twice creates nothing new. Each delivery is sent after the transaction commits, by
its own task, so that a failing channel never blocks another one nor the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from contracts.models import Membership, Organization
from credits.models import Delivery, Notification
from credits.notify import delivery, events
from credits.notify.events import Event, Notice


def _render_email(notice: Notice, organization: Organization) -> dict[str, str]:
    context = {
        **notice.context,
        "title": notice.title,
        "body": notice.body,
        "event": notice.event,
        "event_id": str(notice.event_id),
        "organization": organization,
        "link_url": settings.SITE_URL.rstrip("/") + notice.link,
        "site_url": settings.SITE_URL,
    }
    return {
        # A header must be one line; titles hold user text such as a responsibility title.
        "subject": " ".join(notice.title.split())[:250],
        "text": render_to_string(f"credits/email/{notice.event}.txt", context),
        "html": render_to_string(f"credits/email/{notice.event}.html", context),
    }


def publish(notices: Sequence[Notice]) -> None:
    """Write the notices' notifications and deliveries (members in one query, rows in one
    insert each); send them once committed."""
    now = timezone.now()
    organization_ids = {org.pk for notice in notices for org in notice.organizations}
    members: dict[int, list[User]] = {pk: [] for pk in organization_ids}
    memberships = (
        Membership.objects.filter(organization_id__in=organization_ids, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    for membership in memberships:
        members[membership.organization_id].append(membership.user)
    notifications: list[Notification] = []
    deliveries: list[Delivery] = []
    for notice in notices:
        _rows_of(notice, members, now, notifications, deliveries)
    with transaction.atomic():
        # Unique (event_id, user) and (event_id, channel, recipient): a second publication
        # of the same event inserts nothing.
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        # robust: a broker that is down must not fail the caller's request or settlement;
        # the rows stay pending and retry_due_deliveries sends them later.
        transaction.on_commit(
            partial(enqueue_pending, event_ids=[notice.event_id for notice in notices]),
            robust=True,
        )


def _rows_of(
    notice: Notice,
    members: dict[int, list[User]],
    now: datetime,
    notifications: list[Notification],
    deliveries: list[Delivery],
) -> None:
    """One event's notifications (one per person) and deliveries (one per address and
    one per webhook)."""
    event_id = notice.event_id
    users_seen: set[int] = set()
    emails_seen: set[str] = set()
    for organization in dict.fromkeys(notice.organizations):
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
                        event=notice.event,
                        title=notice.title[:300],
                        body=notice.body,
                        link=notice.link,
                    )
                )
            address = (user.email or "").strip()
            if address and address.lower() not in emails_seen:
                emails_seen.add(address.lower())
                rendered = rendered or _render_email(notice, organization)
                deliveries.append(
                    Delivery(
                        event_id=event_id,
                        event=notice.event,
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
                    event=notice.event,
                    channel=Delivery.Channel.WEBHOOK,
                    organization=organization,
                    recipient=organization.webhook_url,
                    payload=notice.webhook_payload(),
                    next_attempt_at=now,
                )
            )


def enqueue_pending(*, event_ids: Sequence[uuid.UUID]) -> int:
    """Enqueue one ``credits.deliver`` task per pending delivery of the events."""
    ids = list(
        Delivery.objects.filter(event_id__in=event_ids, status=Delivery.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    delivery.enqueue(ids)
    return len(ids)


# --------------------------------------------------------------------------- the events


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
        for statement, lines in events.load_statements([*statement_ids, *no_data_ids])
    }
    notices = [events.statement_notice(*loaded[pk]) for pk in statement_ids if pk in loaded]
    for pk in no_data_ids:
        if pk in loaded and (notice := events.no_data_notice(*loaded[pk])) is not None:
            notices.append(notice)
    if notices:
        publish(notices)


def early_warning(*, warning_id: int) -> None:
    """Warn the provider's members of an objective breached or at risk, with the projection."""
    publish([events.early_warning_notice(warning_id)])


def dispute_opened(*, dispute_id: int) -> None:
    """Tell both parties that the customer disputes a statement line."""
    publish([events.dispute_notice(dispute_id, Event.DISPUTE_OPENED)])


def dispute_resolved(*, dispute_id: int) -> None:
    """Tell both parties that the provider accepted or rejected a dispute."""
    publish([events.dispute_notice(dispute_id, Event.DISPUTE_RESOLVED)])


def lapse_recorded(*, lapse_id: int) -> None:
    """Tell both parties that a lapse of a customer responsibility was recorded."""
    publish([events.lapse_notice(lapse_id)])


_PUBLISHERS = {
    Event.STATEMENT_ISSUED: ("statement_id", statement_issued),
    Event.NO_DATA: ("statement_id", no_data),
    Event.EARLY_WARNING: ("warning_id", early_warning),
    Event.DISPUTE_OPENED: ("dispute_id", dispute_opened),
    Event.DISPUTE_RESOLVED: ("dispute_id", dispute_resolved),
    Event.LAPSE_RECORDED: ("lapse_id", lapse_recorded),
}


def publish_event(*, event: str, object_id: int) -> None:
    """Publish an event named by its kind and the id of its object (what the
    ``credits.notify`` task receives)."""
    argument, publisher = _PUBLISHERS[Event(event)]
    publisher(**{argument: object_id})
