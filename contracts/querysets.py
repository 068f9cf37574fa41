"""The one scoping entry point per tenant-owned model, and who may write for whom.

Every view, viewset, form and export starts from ``visible_to`` and ``editable_by``, so
that "a user sees only what their organisation is party to" is decided in one place.
Staff (operators) see all. Customers never see draft contracts, nor anything hanging
off them.

Who may write for an organisation is decided here too, once (SPEC §3, §5): staff for
every organisation; otherwise its admins and editors (viewers read only). Data that is
the provider's (its catalogue, contracts, objectives, resolving disputes) is written
only for an organisation that is a provider: ``kind="provider"``. Data both parties
keep (a customer's disputes, lapses) is written by either party's admins and editors.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

EDIT_ROLES = ("admin", "editor")
# The status of a lapse its provider withdrew: it relieves nothing (settlement reads
# lapses through ``relieving()``; the SQL of the ticket clocks names it too).
WITHDRAWN_LAPSE = "withdrawn"


def _model(name: str) -> type[models.Model]:
    # The models module builds its managers from this one: look the models up by name
    # once the app registry is ready, rather than importing them in a circle.
    return apps.get_model("contracts", name)


def is_anonymous(user: User | None) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def member_org_ids(user: User, roles: tuple[str, ...] | None = None) -> models.QuerySet:
    """The ids of the user's organisations, as a subquery (no query runs here)."""
    memberships = _model("Membership").objects.filter(user_id=user.pk)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("organization_id")


def organizations_of(user: User | None, kind: str | None = None) -> models.QuerySet:
    """The organisations the user belongs to, in any role (every one, for staff); with
    ``kind``, only those of that kind. What the user reads as that organisation's side."""
    organizations = _model("Organization").objects.all()
    if is_anonymous(user):
        return organizations.none()
    if not user.is_staff:
        organizations = organizations.filter(id__in=member_org_ids(user))
    return organizations.filter(kind=kind) if kind else organizations


def organizations_edited_by(user: User | None, kind: str | None = None) -> models.QuerySet:
    """The organisations the user may write for: every one for staff, otherwise those in
    which the user is an admin or an editor. With ``kind="provider"``, only providers:
    a provider's catalogue, contracts and objectives belong to a provider, whoever
    writes them (staff included)."""
    organizations = _model("Organization").objects.all()
    if is_anonymous(user):
        return organizations.none()
    if not user.is_staff:
        organizations = organizations.filter(id__in=member_org_ids(user, EDIT_ROLES))
    return organizations.filter(kind=kind) if kind else organizations


def may_edit(
    user: User | None,
    organization: models.Model | int,
    *more: models.Model | int,
    kind: str | None = None,
) -> bool:
    """Whether the user may write for the organisation (or for any of ``more``), by the
    rule of ``organizations_edited_by``. One query; none for staff unless ``kind`` asks
    whether the organisation is of that kind."""
    if is_anonymous(user):
        return False
    if user.is_staff and kind is None:
        return True
    ids = [getattr(each, "pk", each) for each in (organization, *more)]
    return organizations_edited_by(user, kind).filter(pk__in=ids).exists()


def provider_ids_edited_by(user: User) -> models.QuerySet:
    """The ids of the providers the user writes for, as a subquery (no query runs here)."""
    provider = _model("Organization").Kind.PROVIDER
    return organizations_edited_by(user, provider).values("id")


def customers_served_by(providers: models.QuerySet | list) -> models.QuerySet:
    """The customers the providers serve: those they contract with, and those their
    invitations brought to the portal (before their first contract)."""
    organization = _model("Organization")
    contracts = _model("Contract").objects.filter(provider__in=providers)
    return organization.objects.filter(kind=organization.Kind.CUSTOMER).filter(
        Q(id__in=contracts.values("customer_id")) | Q(introduced_by__in=providers)
    )


def visible_contract_ids(user: User) -> models.QuerySet:
    return _model("Contract").objects.visible_to(user).values("id")


def editable_contract_ids(user: User) -> models.QuerySet:
    return _model("Contract").objects.editable_by(user).values("id")


class ScopedQuerySet(models.QuerySet, metaclass=ABCMeta):
    """Subclasses say how a row reaches a contract or a provider."""

    def visible_to(self, user: User) -> ScopedQuerySet:
        if is_anonymous(user):
            return self.none()
        if user.is_staff:
            return self.all()
        # Every scope is an IN (subquery): no join, so no duplicates and no DISTINCT.
        return self.filter(self._visible_q(user))

    def editable_by(self, user: User) -> ScopedQuerySet:
        if is_anonymous(user):
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(self._editable_q(user))

    @abstractmethod
    def _visible_q(self, user: User) -> Q:
        """The rows the user's organisations are party to."""

    @abstractmethod
    def _editable_q(self, user: User) -> Q:
        """The rows the user may change."""


class ContractScopedQuerySet(ScopedQuerySet):
    contract_path = "contract"

    def _visible_q(self, user: User) -> Q:
        return Q(**{f"{self.contract_path}__in": visible_contract_ids(user)})

    def _editable_q(self, user: User) -> Q:
        return Q(**{f"{self.contract_path}__in": editable_contract_ids(user)})


class OrganizationQuerySet(ScopedQuerySet):
    def _visible_q(self, user: User) -> Q:
        contracts = _model("Contract").objects.visible_to(user)
        return (
            Q(id__in=member_org_ids(user))
            | Q(id__in=contracts.values("provider_id"))
            | Q(id__in=contracts.values("customer_id"))
            | Q(introduced_by__in=member_org_ids(user))
        )

    def _editable_q(self, user: User) -> Q:
        return Q(id__in=member_org_ids(user, ("admin",)))


class MembershipQuerySet(ScopedQuerySet):
    def _visible_q(self, user: User) -> Q:
        return Q(organization_id__in=member_org_ids(user))

    def _editable_q(self, user: User) -> Q:
        return Q(organization_id__in=member_org_ids(user, ("admin",)))


class ServiceQuerySet(ScopedQuerySet):
    def _visible_q(self, user: User) -> Q:
        in_my_contracts = (
            _model("ContractService")
            .objects.filter(contract_id__in=visible_contract_ids(user))
            .values("service_id")
        )
        return Q(provider_id__in=member_org_ids(user)) | Q(id__in=in_my_contracts)

    def _editable_q(self, user: User) -> Q:
        return Q(provider_id__in=provider_ids_edited_by(user))


class ContractQuerySet(ScopedQuerySet):
    def _visible_q(self, user: User) -> Q:
        return Q(provider_id__in=member_org_ids(user)) | (
            Q(customer_id__in=member_org_ids(user)) & ~Q(status="draft")
        )

    def _editable_q(self, user: User) -> Q:
        return Q(provider_id__in=provider_ids_edited_by(user))

    def active(self) -> ContractQuerySet:
        return self.filter(status="active")


class ContractServiceQuerySet(ContractScopedQuerySet):
    pass


class ServiceLevelQuerySet(ScopedQuerySet):
    """Provider members see all their objectives; customers see those that apply to them."""

    def _visible_q(self, user: User) -> Q:
        contracts = _model("Contract").objects.visible_to(user)
        services = _model("ContractService").objects.filter(contract_id__in=contracts.values("id"))
        return (
            Q(provider_id__in=member_org_ids(user))
            | Q(contract_id__in=contracts.values("id"))
            | Q(level="service", service_id__in=services.values("service_id"))
            | Q(level="corporate", provider_id__in=contracts.values("provider_id"))
        )

    def _editable_q(self, user: User) -> Q:
        return Q(provider_id__in=provider_ids_edited_by(user))


class ResponsibilityQuerySet(ContractScopedQuerySet):
    def lapses_recordable_by(self, user: User) -> ResponsibilityQuerySet:
        """The responsibilities the user may record a lapse of: those of contracts the
        user sees, for either party the user writes for (the customer records its own
        lapses, the provider the customer's)."""
        if is_anonymous(user):
            return self.none()
        if user.is_staff:
            return self.all()
        writes_for = organizations_edited_by(user).values("id")
        contracts = (
            _model("Contract")
            .objects.visible_to(user)
            .filter(Q(provider_id__in=writes_for) | Q(customer_id__in=writes_for))
        )
        return self.filter(contract_id__in=contracts.values("id"))


class ResponsibilityLapseQuerySet(ContractScopedQuerySet):
    contract_path = "responsibility__contract"

    def relieving(self) -> ResponsibilityLapseQuerySet:
        """The lapses that relieve the provider: all but those it withdrew after the
        customer contested them."""
        return self.exclude(status=WITHDRAWN_LAPSE)


class MaintenanceWindowQuerySet(ContractScopedQuerySet):
    pass


class IncidentQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"


class MeasurementQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"
