"""Reads of the customer's responsibilities and their lapses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch

from contracts.models import Responsibility, ResponsibilityLapse, ServiceLevel

if TYPE_CHECKING:
    from contracts.querysets import User


def responsibilities(user: User) -> list[Responsibility]:
    """The customer's obligations under every contract the user may read, with the
    objectives they affect and the lapses recorded against them (three queries)."""
    return list(
        Responsibility.objects.visible_to(user)
        .select_related("contract__provider", "contract__customer")
        .prefetch_related(
            Prefetch("service_levels", queryset=ServiceLevel.objects.order_by("key", "level")),
            Prefetch(
                "lapses",
                queryset=ResponsibilityLapse.objects.select_related("recorded_by").order_by(
                    "-start"
                ),
            ),
        )
        .order_by("contract__reference", "title")
    )
