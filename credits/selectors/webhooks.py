"""Reads of an organisation's webhook page: its recent deliveries."""

from __future__ import annotations

from django.db.models import QuerySet

from contracts.models import Organization
from credits.models import Delivery

DELIVERY_LOG_SIZE = 50


def webhook_deliveries(organization: Organization) -> QuerySet[Delivery]:
    """The organisation's latest webhook deliveries, newest first: status, attempts,
    last error (one query)."""
    return Delivery.objects.filter(
        organization=organization, channel=Delivery.Channel.WEBHOOK
    ).order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE]
