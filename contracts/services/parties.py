"""Writes of organisations and of their members' roles."""

from __future__ import annotations

from django.db import transaction

from contracts.models import Membership, Organization


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
    """Validate and store a user's role in an organisation."""
    with transaction.atomic():
        membership.full_clean()
        membership.save()
    return membership


def delete_membership(*, membership: Membership) -> None:
    with transaction.atomic():
        membership.delete()
