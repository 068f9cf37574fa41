"""The test message an organisation's admins send to its webhook from the webhook page.

It travels as any delivery does (claimed, signed, retried, logged), in the shape the
organisation chose, so that what the receiver gets, and what the delivery log says of
it, is what a real event would bring.
"""

from __future__ import annotations

import uuid
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.models import Organization
from credits.models import Delivery, Notification
from credits.notify import delivery, formats

TITLE = "Test message from the SLA Portal"


def send_test_webhook(*, organization: Organization) -> Delivery:
    """Queue a test message to the organisation's webhook; a ``ValidationError`` if it
    has none. Each test is a new event (a new id), sent after commit."""
    if not organization.webhook_url:
        raise ValidationError({"webhook_url": "Set a webhook URL (and its secret) first."})
    now = timezone.now()
    event_id = uuid.uuid4()
    body = f"{organization.name}'s webhook works: this is how the portal's events will arrive."
    shape = organization.webhook_format
    if shape == "slack":
        payload = formats.slack_message(TITLE, body, "/")
    elif shape == "teams":
        payload = formats.teams_message(TITLE, body, "/")
    else:
        payload = {
            "event_id": str(event_id),
            "event": Notification.Event.WEBHOOK_TEST,
            "occurred_at": now.isoformat(),
            "data": {"organization": organization.pk, "message": body},
        }
    with transaction.atomic():
        row = Delivery.objects.create(
            event_id=event_id,
            event=Notification.Event.WEBHOOK_TEST,
            channel=Delivery.Channel.WEBHOOK,
            organization=organization,
            recipient=organization.webhook_url,
            payload=payload,
            next_attempt_at=now,
        )
        transaction.on_commit(partial(delivery.enqueue, [row.pk]), robust=True)
    return row
