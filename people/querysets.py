"""Who sees and manages invitations: the admins of the organisation invited into, and
of the organisation that sent the invitation (a provider inviting its customer's first
admin). Everyone else, other members included, finds none: an invitation names a
person's e-mail and the role they were offered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from contracts.querysets import ScopedQuerySet, member_org_ids

if TYPE_CHECKING:
    from contracts.querysets import User


class InvitationQuerySet(ScopedQuerySet):
    def _visible_q(self, user: User) -> Q:
        administered = member_org_ids(user, ("admin",))
        return Q(organization_id__in=administered) | Q(invited_by_organization_id__in=administered)

    def _editable_q(self, user: User) -> Q:
        return self._visible_q(user)

    def pending(self) -> InvitationQuerySet:
        """Neither accepted nor revoked, and not expired."""
        return self.filter(status="pending", expires_at__gt=timezone.now())


class WebhookQuerySet(ScopedQuerySet):
    """An organisation's webhooks are its admins' business only: their URLs reach its
    tools, and other members (and counterparties) find none."""

    def _visible_q(self, user: User) -> Q:
        return Q(organization_id__in=member_org_ids(user, ("admin",)))

    def _editable_q(self, user: User) -> Q:
        return self._visible_q(user)
