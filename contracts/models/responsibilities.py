"""The customer's obligations under a contract, and the times it failed them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.dates import dates_out_of_range
from contracts.models.contracts import Contract
from contracts.models.objectives import ServiceLevel
from contracts.querysets import ResponsibilityLapseQuerySet, ResponsibilityQuerySet


class Responsibility(models.Model):
    """An obligation of the customer; failing it relieves the provider (SPEC §3)."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="responsibilities"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    service_levels = models.ManyToManyField(
        ServiceLevel, blank=True, related_name="responsibilities"
    )

    objects = ResponsibilityQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[service_levels])

    class Meta:
        ordering = ["contract_id", "title"]
        verbose_name_plural = "responsibilities"

    def __str__(self) -> str:
        return self.title


class ResponsibilityLapse(models.Model):
    """An interval in which the customer did not meet a responsibility.

    Either party records one. The customer may contest a lapse the provider recorded,
    with a reason; the provider then keeps it or withdraws it. A withdrawn lapse relieves
    nothing, and is kept so that both parties can see what was said.
    """

    class Party(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        CUSTOMER = "customer", _("Customer")

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        CONTESTED = "contested", _("Contested")
        KEPT = "kept", _("Kept after contest")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    responsibility = models.ForeignKey(
        Responsibility, on_delete=models.CASCADE, related_name="lapses"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Which side recorded it: only the customer contests, and only the provider's lapses.
    recorded_for = models.CharField(max_length=10, choices=Party.choices, default=Party.PROVIDER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDED)
    contest_reason = models.TextField(blank=True)
    contested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    contested_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ResponsibilityLapseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="lapse_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["recorded", "contested", "kept", "withdrawn"]),
                name="lapse_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(recorded_for__in=["provider", "customer"]),
                name="lapse_recorded_for_valid",
            ),
            # A contest always says why, and its outcome always says how it was decided.
            models.CheckConstraint(
                condition=Q(status="recorded")
                | (~Q(contest_reason="") & Q(contested_at__isnull=False)),
                name="lapse_contest_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["recorded", "contested"])
                | (~Q(resolution="") & Q(resolved_at__isnull=False)),
                name="lapse_outcome_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.responsibility}: {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"

    @property
    def relieves(self) -> bool:
        """Whether the lapse takes time out of the credits: all but a withdrawn one."""
        return self.status != self.Status.WITHDRAWN

    def clean(self) -> None:
        errors = dates_out_of_range(self, "start", "end")
        if self.start and self.end and self.end <= self.start:
            errors["end"] = "The end must be after the start."
        if errors:
            raise ValidationError(errors)
