"""Reads of the disputes raised on statement lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from credits.models import Dispute

if TYPE_CHECKING:
    from contracts.querysets import User


def dispute_list(user: User, *, status: str | None = None) -> QuerySet[Dispute]:
    """Disputes on lines the user may read, newest first."""
    disputes = Dispute.objects.visible_to(user)
    if status:
        disputes = disputes.filter(status=status)
    return disputes.select_related(
        "line__statement__contract__provider",
        "line__statement__contract__customer",
        "line__contract_service__service",
        "opened_by",
        "resolved_by",
    ).order_by("-opened_at", "-id")
