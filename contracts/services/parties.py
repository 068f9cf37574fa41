"""Writes of organisations and of their members' roles."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.models import Membership, Organization
from contracts.models.parties import (
    last_admin_message,
    lock_admins_of,
    organizations_losing_their_last_admin,
)


def save_organization(*, organization: Organization) -> Organization:
    """Validate and store an organisation (a provider or a customer)."""
    with transaction.atomic():
        organization.full_clean()
        organization.save()
    return organization


def delete_organization(*, organization: Organization) -> None:
    """Delete an organisation; one with services or contracts is protected."""
    with transaction.atomic():
        organization.delete()


def save_membership(*, membership: Membership) -> Membership:
    """Validate and store a user's role in an organisation; an organisation's last admin
    is not demoted (``Membership.clean``), checked again under a lock."""
    with transaction.atomic():
        lock_admins_of([membership.organization_id])
        membership.full_clean()
        membership.save()
    return membership


def delete_membership(*, membership: Membership, user: AbstractBaseUser | None = None) -> None:
    """End a membership (``user``: whose hand, for the history); the organisation's last
    admin is not removed (a ``ValidationError``, nothing changed)."""
    with transaction.atomic():
        lock_admins_of([membership.organization_id])
        # As stored (the history records what was removed, not a stale copy).
        stored = Membership.objects.get(pk=membership.pk)
        lost = organizations_losing_their_last_admin([stored])
        if lost:
            raise ValidationError(last_admin_message(lost))
        if user is not None:
            # Otherwise the history takes the request's user (simple_history's middleware).
            stored._history_user = user
        stored.delete()
