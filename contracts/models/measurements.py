"""The samples a provider reports for each metric of a contract service."""

from __future__ import annotations

from django.db import models

from contracts.models.contracts import ContractService
from contracts.querysets import MeasurementQuerySet


class Measurement(models.Model):
    """One sample of one metric of one contract service. The large table."""

    id = models.BigAutoField(primary_key=True)
    # One index only (below): each more slows every sample written, and the composite
    # index serves lookups by contract service alone as well.
    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="measurements", db_index=False
    )
    key = models.SlugField(max_length=60, db_index=False)
    observed_at = models.DateTimeField()
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    ok = models.BooleanField(null=True, blank=True)

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        ordering = ["-observed_at"]
        indexes = [
            # Settlement aggregates one contract service, one key, one period at a time:
            # with the figures it reads included, the index alone answers (index-only scan).
            models.Index(
                fields=["contract_service", "key", "observed_at"],
                include=["value", "ok"],
                name="measurement_cs_key_time_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.observed_at:%Y-%m-%d %H:%M}"
