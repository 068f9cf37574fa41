"""The test message an organisation's admins send to one of its webhooks (the page's
button, the API's ``test`` action, the admin's action).

It travels as any delivery does (claimed, signed, retried, logged in the webhook's log),
in the webhook's shape, so that what the receiver gets, and what the delivery log says of
it, is what a real event would bring. It goes whatever topics the webhook takes.
"""

from __future__ import annotations

import uuid
from functools import partial

from django.db import transaction
from django.utils import timezone

from credits.models import Delivery, Notification
from credits.notify import delivery, formats
from people.models import Webhook

TITLE = "Test message from the SLA Portal"


def send_test_webhook(*, webhook: Webhook) -> Delivery:
    """Queue a test message to the webhook. Each test is a new event (a new id), sent
    after commit."""
    organization = webhook.organization
    now = timezone.now()
    event_id = uuid.uuid4()
    body = f"{organization.name}'s webhook works: this is how the portal's events will arrive."
    if webhook.format == Webhook.Format.SLACK:
        payload = formats.slack_message(TITLE, body, "/")
    elif webhook.format == Webhook.Format.TEAMS:
        payload = formats.teams_message(TITLE, body, "/")
    else:
        payload = {
            "event_id": str(event_id),
            "event": Notification.Event.WEBHOOK_TEST,
            "occurred_at": now.isoformat(),
            "data": {"organization": organization.pk, "webhook": webhook.pk, "message": body},
        }
    with transaction.atomic():
        row = Delivery.objects.create(
            event_id=event_id,
            event=Notification.Event.WEBHOOK_TEST,
            channel=Delivery.Channel.WEBHOOK,
            organization=organization,
            webhook=webhook,
            recipient=webhook.url,
            payload=payload,
            next_attempt_at=now,
        )
        transaction.on_commit(partial(delivery.enqueue, [row.pk]), robust=True)
    return row
