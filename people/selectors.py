"""Reads of people's things: the organisation a person acts for, their invitations, their
notification choices and their API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from rest_framework.authtoken.models import Token

from contracts.models import Membership, Organization
from contracts.querysets import customers_served_by, member_org_ids
from people.models import Invitation, NotificationPreference, OrganizationChoice
from people.topics import DEFAULT_CHANNELS, TOPICS

if TYPE_CHECKING:
    from contracts.querysets import User


def memberships_of(user: User) -> list[Membership]:
    """The user's memberships with their organisations, by organisation name; one query."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("organization")
        .order_by("organization__name", "id")
    )


def acting_organization(
    user: User, memberships: Iterable[Membership] | None = None
) -> Organization | None:
    """The organisation the user acts for: the one chosen, while still a member of it,
    otherwise the first by name; ``None`` for a user of no organisation (an operator)."""
    memberships = list(memberships_of(user) if memberships is None else memberships)
    if not memberships:
        return None
    if len(memberships) == 1:
        return memberships[0].organization  # nothing to choose: no query
    chosen = (
        OrganizationChoice.objects.filter(user_id=user.pk)
        .values_list("organization_id", flat=True)
        .first()
    )
    for membership in memberships:
        if membership.organization_id == chosen:
            return membership.organization
    return memberships[0].organization


def invitations(user: User) -> QuerySet[Invitation]:
    """The invitations the user manages (as an admin of either organisation)."""
    return Invitation.objects.visible_to(user).select_related(
        "organization", "invited_by_organization", "created_by", "accepted_by"
    )


def preferences_of(user: User) -> dict[str, dict[str, bool]]:
    """Every topic with the user's channels (the defaults where nothing was chosen)."""
    chosen = {
        row.topic: {"in_app": row.in_app, "email": row.email, "digest": row.digest}
        for row in NotificationPreference.objects.filter(user_id=user.pk)
    }
    return {topic: chosen.get(topic, dict(DEFAULT_CHANNELS)) for topic in TOPICS}


def preferences_by_user(user_ids: Iterable[int]) -> dict[tuple[int, str], dict[str, bool]]:
    """The choices of many people, keyed by (user id, topic); one query. A missing key
    means the defaults."""
    return {
        (row.user_id, row.topic): {"in_app": row.in_app, "email": row.email, "digest": row.digest}
        for row in NotificationPreference.objects.filter(user_id__in=set(user_ids))
    }


def tokens_of(user: User) -> QuerySet[Token]:
    """The API tokens the user owns (the token framework keeps one per user)."""
    return Token.objects.filter(user_id=user.pk)


def administered(user: User, kind: str | None = None) -> QuerySet[Organization]:
    """The organisations the user administers (every one, for staff)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    organizations = Organization.objects.all()
    if not user.is_staff:
        organizations = organizations.filter(id__in=member_org_ids(user, (Membership.Role.ADMIN,)))
    return organizations.filter(kind=kind) if kind else organizations


def invitable_organizations(user: User) -> QuerySet[Organization]:
    """The organisations the user may invite into: those they administer, and the
    customers of the providers they administer."""
    administered_ids = administered(user).values("id")
    served = customers_served_by(administered(user, Organization.Kind.PROVIDER))
    return Organization.objects.filter(
        Q(id__in=administered_ids) | Q(id__in=served.values("id"))
    ).order_by("name")


def members_of(organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username")
    )
