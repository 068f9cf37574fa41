"""Reads of an organisation's webhooks: the list with each one's latest delivery, and one
webhook's delivery log."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from contracts.models import Organization
from credits.models import Delivery
from people.models import Webhook

DELIVERY_LOG_SIZE = 50


def webhooks_of(organization: Organization) -> QuerySet[Webhook]:
    """The organisation's webhooks, each with the status and time of its latest delivery
    (``last_status``, ``last_delivery_at``); one query."""
    latest = Delivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Webhook.objects.filter(organization=organization)
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_delivery_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("id")
    )


def webhook_deliveries(webhook: Webhook) -> QuerySet[Delivery]:
    """The webhook's latest deliveries, newest first: status, attempts, last error (one
    query)."""
    return Delivery.objects.filter(webhook=webhook, channel=Delivery.Channel.WEBHOOK).order_by(
        "-created_at", "-id"
    )


def webhook_log(webhook: Webhook) -> list[Delivery]:
    """What the webhook page shows of its log: the latest ``DELIVERY_LOG_SIZE``."""
    return list(webhook_deliveries(webhook)[:DELIVERY_LOG_SIZE])
