"""The integrations log: every delivery, pull and import, with what it became."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q

from integrations.models import IntegrationEvent, PrometheusPull, Receiver

KEPT_EVENTS = IntegrationEvent.KEPT
_SUMMARY = IntegrationEvent._meta.get_field("summary").max_length
# A refused batch can list thousands of reasons; the log keeps the first ones.
KEPT_REFUSALS = 50


def log_event(
    *,
    organization_id: int,
    channel: str,
    outcome: str,
    at: datetime,
    summary: str,
    result: str = "",
    refusals: Sequence[Any] = (),
    receiver: Receiver | None = None,
    pull: PrometheusPull | None = None,
    test: bool = False,
) -> IntegrationEvent:
    refusals = list(refusals)
    kept = refusals[:KEPT_REFUSALS]
    if len(refusals) > KEPT_REFUSALS:
        kept.append(f"… and {len(refusals) - KEPT_REFUSALS:,} more")
    return IntegrationEvent.objects.create(
        organization_id=organization_id,
        channel=channel,
        outcome=outcome,
        at=at,
        summary=summary[:_SUMMARY],
        result=result,
        refusals=kept,
        receiver=receiver,
        pull=pull,
        test=test,
    )


def prune_events() -> int:
    """Keep the last ``KEPT_EVENTS`` events of each organisation; returns how many went."""
    deleted = 0
    organizations = IntegrationEvent.objects.values_list("organization_id", flat=True).distinct()
    for organization_id in list(organizations):
        ours = IntegrationEvent.objects.filter(organization_id=organization_id)
        rows = list(
            ours.order_by("-at", "-pk").values_list("at", "pk")[KEPT_EVENTS : KEPT_EVENTS + 1]
        )
        if rows:
            at, pk = rows[0]
            count, _ = ours.filter(Q(at__lt=at) | Q(at=at, pk__lte=pk)).delete()
            deleted += count
    return deleted
