"""Which side of a contract a user is on, and the providers whose catalogue they reach."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from contracts.models import Contract, Membership, Organization


def _is_provider_side(user: Any, contract: Contract) -> bool:
    return (
        user.is_staff
        or Membership.objects.filter(user_id=user.pk, organization_id=contract.provider_id).exists()
    )


def _provider_orgs(user: Any, roles: tuple[str, ...] | None = None) -> QuerySet:
    providers = Organization.objects.filter(kind=Organization.Kind.PROVIDER)
    if user.is_staff:
        return providers.order_by("name")
    memberships = Membership.objects.filter(user_id=user.pk)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return providers.filter(id__in=memberships.values("organization_id")).order_by("name")
