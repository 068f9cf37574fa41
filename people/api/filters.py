"""Filters of the people API: ids as the contracts API filters them (an id outside the
scope matches nothing, it is not "not a valid choice")."""

from __future__ import annotations

import django_filters as filters

from contracts.api.filters import by_id
from people.models import Invitation


class InvitationFilter(filters.FilterSet):
    organization = by_id("organization_id", "The organisation invited into.")
    status = filters.ChoiceFilter(
        choices=Invitation.Status.choices,
        help_text="pending includes the expired ones (their state says expired).",
    )

    class Meta:
        model = Invitation
        fields = ["organization", "status"]
