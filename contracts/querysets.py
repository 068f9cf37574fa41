"""The one scoping entry point per tenant-owned model: ``visible_to`` and ``editable_by``.

Every view, viewset, form and export starts from these, so that "a user sees only what
their organisation is party to" is decided in one place. Staff (operators) see all.
Customers never see draft contracts, nor anything hanging off them.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

EDIT_ROLES = ("admin", "editor")


def is_anonymous(user: Any) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def member_org_ids(user: Any, roles: tuple[str, ...] | None = None) -> models.QuerySet:
    """The ids of the user's organisations, as a subquery (no query runs here)."""
    from contracts.models import Membership

    memberships = Membership.objects.filter(user_id=user.pk)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("organization_id")


def edits_for(user: Any, *organization_ids: int) -> bool:
    """Whether the user may write on behalf of (any of) the organisations: staff, or one
    of their admins or editors (viewers read only). One query, none for staff."""
    if is_anonymous(user):
        return False
    if user.is_staff:
        return True
    return member_org_ids(user, EDIT_ROLES).filter(organization_id__in=organization_ids).exists()


def visible_contract_ids(user: Any) -> models.QuerySet:
    from contracts.models import Contract

    return Contract.objects.visible_to(user).values("id")


def editable_contract_ids(user: Any) -> models.QuerySet:
    from contracts.models import Contract

    return Contract.objects.editable_by(user).values("id")


class ScopedQuerySet(models.QuerySet, metaclass=ABCMeta):
    """Subclasses say how a row reaches a contract or a provider."""

    def visible_to(self, user: Any) -> ScopedQuerySet:
        if is_anonymous(user):
            return self.none()
        if user.is_staff:
            return self.all()
        # Every scope is an IN (subquery): no join, so no duplicates and no DISTINCT.
        return self.filter(self._visible_q(user))

    def editable_by(self, user: Any) -> ScopedQuerySet:
        if is_anonymous(user):
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(self._editable_q(user))

    @abstractmethod
    def _visible_q(self, user: Any) -> Q:
        """The rows the user's organisations are party to."""

    @abstractmethod
    def _editable_q(self, user: Any) -> Q:
        """The rows the user may change."""


class ContractScopedQuerySet(ScopedQuerySet):
    contract_path = "contract"

    def _visible_q(self, user: Any) -> Q:
        return Q(**{f"{self.contract_path}__in": visible_contract_ids(user)})

    def _editable_q(self, user: Any) -> Q:
        return Q(**{f"{self.contract_path}__in": editable_contract_ids(user)})


class OrganizationQuerySet(ScopedQuerySet):
    def _visible_q(self, user: Any) -> Q:
        from contracts.models import Contract

        contracts = Contract.objects.visible_to(user)
        return (
            Q(id__in=member_org_ids(user))
            | Q(id__in=contracts.values("provider_id"))
            | Q(id__in=contracts.values("customer_id"))
        )

    def _editable_q(self, user: Any) -> Q:
        return Q(id__in=member_org_ids(user, ("admin",)))


class MembershipQuerySet(ScopedQuerySet):
    def _visible_q(self, user: Any) -> Q:
        return Q(organization_id__in=member_org_ids(user))

    def _editable_q(self, user: Any) -> Q:
        return Q(organization_id__in=member_org_ids(user, ("admin",)))


class ServiceQuerySet(ScopedQuerySet):
    def _visible_q(self, user: Any) -> Q:
        from contracts.models import ContractService

        in_my_contracts = ContractService.objects.filter(
            contract_id__in=visible_contract_ids(user)
        ).values("service_id")
        return Q(provider_id__in=member_org_ids(user)) | Q(id__in=in_my_contracts)

    def _editable_q(self, user: Any) -> Q:
        return Q(provider_id__in=member_org_ids(user, EDIT_ROLES))


class ContractQuerySet(ScopedQuerySet):
    def _visible_q(self, user: Any) -> Q:
        return Q(provider_id__in=member_org_ids(user)) | (
            Q(customer_id__in=member_org_ids(user)) & ~Q(status="draft")
        )

    def _editable_q(self, user: Any) -> Q:
        return Q(provider_id__in=member_org_ids(user, EDIT_ROLES))

    def active(self) -> ContractQuerySet:
        return self.filter(status="active")


class ContractServiceQuerySet(ContractScopedQuerySet):
    pass


class ServiceLevelQuerySet(ScopedQuerySet):
    """Provider members see all their objectives; customers see those that apply to them."""

    def _visible_q(self, user: Any) -> Q:
        from contracts.models import Contract, ContractService

        contracts = Contract.objects.visible_to(user)
        services = ContractService.objects.filter(contract_id__in=contracts.values("id"))
        return (
            Q(provider_id__in=member_org_ids(user))
            | Q(contract_id__in=contracts.values("id"))
            | Q(level="service", service_id__in=services.values("service_id"))
            | Q(level="corporate", provider_id__in=contracts.values("provider_id"))
        )

    def _editable_q(self, user: Any) -> Q:
        return Q(provider_id__in=member_org_ids(user, EDIT_ROLES))


class ResponsibilityQuerySet(ContractScopedQuerySet):
    pass


class ResponsibilityLapseQuerySet(ContractScopedQuerySet):
    contract_path = "responsibility__contract"


class MaintenanceWindowQuerySet(ContractScopedQuerySet):
    pass


class IncidentQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"


class MeasurementQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"
