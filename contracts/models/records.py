"""What happened to a contract's services: planned maintenance and incidents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.dates import dates_out_of_range
from contracts.models.contracts import Contract, ContractService
from contracts.querysets import IncidentQuerySet, MaintenanceWindowQuerySet


class MaintenanceWindow(models.Model):
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    contract_service = models.ForeignKey(
        ContractService,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_windows",
        help_text=_("Empty for every service of the contract."),
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    description = models.CharField(max_length=300, blank=True)

    objects = MaintenanceWindowQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="maintenance_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
        ]

    def __str__(self) -> str:
        return f"Maintenance {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        errors = dates_out_of_range(self, "start", "end")
        if self.start and self.end and self.end <= self.start:
            errors["end"] = gettext("The end must be after the start.")
        if self.contract_service_id and self.contract_service.contract_id != self.contract_id:
            errors["contract_service"] = gettext("The service belongs to another contract.")
        if errors:
            raise ValidationError(errors)


class Incident(models.Model):
    class Cause(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        CUSTOMER = "customer", _("Customer")
        MAINTENANCE = "maintenance", _("Maintenance")
        FORCE_MAJEURE = "force_majeure", _("Force majeure")
        THIRD_PARTY = "third_party", _("Third party")

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="incidents"
    )
    key = models.SlugField(max_length=60, default="availability")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.PROVIDER)
    description = models.TextField(blank=True)

    objects = IncidentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["contract_service", "key", "started_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=models.F("started_at")),
                name="incident_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(
                    cause__in=[
                        "provider",
                        "customer",
                        "maintenance",
                        "force_majeure",
                        "third_party",
                    ]
                ),
                name="incident_cause_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()} incident {self.started_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        errors = dates_out_of_range(self, "started_at", "ended_at")
        if self.started_at and self.ended_at and self.ended_at <= self.started_at:
            errors["ended_at"] = gettext("The end must be after the start.")
        if errors:
            raise ValidationError(errors)
