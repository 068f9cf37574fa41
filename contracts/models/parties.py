"""The organisations that sign contracts, and the people who act for them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from contracts.querysets import MembershipQuerySet, OrganizationQuerySet
from contracts.webhook_targets import url_refusal


class Organization(models.Model):
    class Kind(models.TextChoices):
        PROVIDER = "provider", "Provider"
        CUSTOMER = "customer", "Customer"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    webhook_url = models.URLField(blank=True, help_text="Receives signed JSON events.")
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="Key of the X-SLA-Signature HMAC."
    )

    class WebhookFormat(models.TextChoices):
        JSON = "json", "Signed JSON"
        SLACK = "slack", "Slack (incoming webhook)"
        TEAMS = "teams", "Microsoft Teams (incoming webhook)"

    # Chat tools read their own shapes; every format is signed all the same.
    webhook_format = models.CharField(
        max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.JSON
    )
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
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["provider", "customer"]), name="organization_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(webhook_format__in=["json", "slack", "teams"]),
                name="organization_webhook_format_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.webhook_url:
            # Refused when typed, with its reason, rather than at the first delivery.
            refusal = url_refusal(self.webhook_url)
            if refusal:
                errors["webhook_url"] = refusal
            if not self.webhook_secret:
                errors["webhook_secret"] = "A webhook needs a secret to sign with."
        if errors:
            raise ValidationError(errors)


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

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
