"""Times shown with their zone where they were not (the audit of #16): a webhook's delivery
log and an organisation's integration events."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from credits.models import Delivery
from integrations.models import IntegrationEvent
from people.models import Webhook
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db


@time_machine.travel(datetime(2026, 11, 10, 12, 30, tzinfo=UTC), tick=False)
def test_a_webhooks_log_and_the_integration_events_show_times_with_their_zone(personas, client):
    webhook = Webhook.objects.create(
        organization=personas.provider, url="https://hooks.example.com/a", secret="s"
    )
    Delivery.objects.create(
        event_id=uuid.uuid4(),
        event="statement_issued",
        channel="webhook",
        organization=personas.provider,
        webhook=webhook,
        recipient=webhook.url,
        payload={},
        status="sent",
        sent_at=timezone.now(),
    )
    IntegrationEvent.objects.create(
        organization=personas.provider,
        channel="alertmanager",
        at=timezone.now(),
        outcome="recorded",
        summary="1 alert",
    )
    client.force_login(personas.provider_admin)
    log = page_text(
        client.get(
            reverse("webhook-detail", args=[personas.provider.slug, webhook.pk])
        ).content.decode()
    )
    assert len(re.findall(r"10 Nov 2026 12:30:00 UTC", log)) == 2, log
    events = page_text(
        client.get(reverse("integrations", args=[personas.provider.slug])).content.decode()
    )
    assert "2026-11-10 12:30:00 UTC" in events, events
