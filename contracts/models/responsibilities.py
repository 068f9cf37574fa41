"""The customer's obligations under a contract, and the times it failed them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

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
        ]

    def __str__(self) -> str:
        return f"{self.responsibility}: {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
