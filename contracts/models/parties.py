"""The organisations that sign contracts, and the people who act for them."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.querysets import MembershipQuerySet, OrganizationQuerySet


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    # Debian's zoneinfo holds "localtime", the server's own zone: not an IANA name, and a
    # contract or calendar in it would change its hours whenever the server moved.
    # "Factory" is tzdata's placeholder for an unset zone ("-00"), not a place's clock.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "Factory"}


def validate_timezone(value: str) -> None:
    """An IANA zone name, as contracts and organisations take (``Europe/Berlin``)."""
    if value not in _timezones():
        raise ValidationError(
            _("%(zone)s is not an IANA time zone such as Europe/Berlin.") % {"zone": repr(value)}
        )


class Organization(models.Model):
    class Kind(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        CUSTOMER = "customer", _("Customer")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The provider whose invitation brought this customer to the portal: it serves the
    # customer (sees it, may contract with it) before their first contract exists.
    introduced_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="introduced",
        limit_choices_to={"kind": "provider"},
    )
    # The zone the organisation's members read times in (pages, the inbox); a contract's
    # periods keep the contract's own zone.
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text=_("IANA time zone in which members see times, e.g. Europe/Berlin."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["provider", "customer"]), name="organization_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        EDITOR = "editor", _("Editor")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    objects = MembershipQuerySet.as_manager()
    # Who joined, changed role or left, when and by whose hand.
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["admin", "editor", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.ADMIN, self.Role.EDITOR)

    def clean(self) -> None:
        # Demoting the last admin would leave nobody to invite, set webhooks or choose
        # who else administers: the organisation keeps one.
        if self.pk is None or self.role == self.Role.ADMIN:
            return
        stored = Membership.objects.filter(pk=self.pk).only("pk", "role", "organization_id")
        lost = organizations_losing_their_last_admin(stored)
        if lost:
            raise ValidationError({"role": last_admin_message(lost)})


def organizations_losing_their_last_admin(
    memberships: Iterable[Membership],
) -> list[Organization]:
    """The organisations that would have no admin who can act (an active user) left if
    these memberships, as stored, stopped being admins (demoted, removed, their people
    deactivated). An organisation whose admins are all inactive already loses nothing.
    Callers that go on to write lock the organisations first (``lock_admins_of``)."""
    leaving = [m for m in memberships if m.role == Membership.Role.ADMIN]
    if not leaving:
        return []
    leaving_ids = [m.pk for m in leaving]
    acting = Membership.objects.filter(
        organization_id__in={m.organization_id for m in leaving},
        role=Membership.Role.ADMIN,
        user__is_active=True,
    )
    losing = set(acting.filter(pk__in=leaving_ids).values_list("organization_id", flat=True))
    keeping = set(acting.exclude(pk__in=leaving_ids).values_list("organization_id", flat=True))
    return list(Organization.objects.filter(pk__in=losing - keeping).order_by("name"))


def lock_admins_of(organization_ids: Iterable[int]) -> None:
    """Serialise changes of who administers these organisations until the transaction
    ends: two admins demoting each other at once must not both succeed."""
    ids = sorted(set(organization_ids))
    if ids:
        list(Organization.objects.select_for_update().filter(pk__in=ids).values_list("pk"))


def last_admin_message(organizations: Iterable[Organization]) -> str:
    names = ", ".join(org.name for org in organizations)
    return (
        f"{names} must keep an admin: make another member an admin first "
        "(an organisation cannot lose its last admin)."
    )
