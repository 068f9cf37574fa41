"""Scoping of integration data: an integration belongs to one provider organisation.

Its members see it (viewers included: they read what arrived and what was refused); its
admins and editors change it. A customer never sees a provider's integrations, only the
incidents, samples and tickets they produced, through the contracts' own scoping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from contracts.querysets import ScopedQuerySet, member_org_ids, provider_ids_edited_by

if TYPE_CHECKING:
    from contracts.querysets import User


class OrganizationScopedQuerySet(ScopedQuerySet):
    organization_path = "organization"

    def _visible_q(self, user: User) -> Q:
        return Q(**{f"{self.organization_path}__in": member_org_ids(user)})

    def _editable_q(self, user: User) -> Q:
        return Q(**{f"{self.organization_path}__in": provider_ids_edited_by(user)})


class ReceiverQuerySet(OrganizationScopedQuerySet):
    pass


class AlertMappingQuerySet(OrganizationScopedQuerySet):
    organization_path = "receiver__organization"


class PrometheusSourceQuerySet(OrganizationScopedQuerySet):
    pass


class PrometheusPullQuerySet(OrganizationScopedQuerySet):
    organization_path = "source__organization"


class IntegrationEventQuerySet(OrganizationScopedQuerySet):
    pass
