"""The samples a provider reports for each metric of a contract service."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

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


class MeasurementRollup(models.Model):
    """The samples of one (contract service, key) in one UTC hour, added up: what
    settlement reads instead of the samples (PostgreSQL; kept by a trigger on the samples,
    in the transaction that writes them, whoever writes them).

    By the hour in UTC, not by the day in a contract's zone: the same rows serve every
    contract and every zone (a period starting at local midnight starts on a UTC hour in
    every zone with a whole-hour offset), the service hours of a calendar and the edges of
    relief, and a change of a contract's zone changes nothing kept. A part of an interval
    not made of whole hours (a half-hour zone, a lapse at 10:20) is read from the samples.
    Every figure is exact: counts, and the sum of values as a decimal."""

    # No database constraint: a per-row check would cost every rollup written (the samples
    # behind it are checked); Django still deletes them with their contract service.
    contract_service = models.ForeignKey(
        ContractService,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    key = models.SlugField(max_length=60, db_index=False)
    hour = models.DateTimeField()
    samples = models.BigIntegerField(default=0)
    judged = models.BigIntegerField(default=0, help_text=_("Samples that say ok or not."))
    ok_count = models.BigIntegerField(default=0)
    valued = models.BigIntegerField(default=0, help_text=_("Samples with a value."))
    # A sample without a value counts 1, as a count objective adds them.
    value_sum = models.DecimalField(max_digits=38, decimal_places=6, default=0)
    # Bounds of the values (they may only widen when samples are deleted): a threshold
    # objective whose threshold no kept count answers decides a whole hour from them.
    value_min = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    value_max = models.DecimalField(max_digits=20, decimal_places=6, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key", "hour"], name="measurement_rollup_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.hour:%Y-%m-%d %H:00}: {self.samples} samples"


class ThresholdRollup(models.Model):
    """How many valued samples of one hour met one threshold: kept for every threshold a
    threshold objective of the provider names for the key. ``complete`` is false when the
    hour held samples before the threshold was known: its counts then miss them, and the
    hour is decided from the bounds or the samples."""

    # No database constraint: a per-row check would cost every rollup written (the samples
    # behind it are checked); Django still deletes them with their contract service.
    contract_service = models.ForeignKey(
        ContractService,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    key = models.SlugField(max_length=60, db_index=False)
    hour = models.DateTimeField()
    comparator = models.CharField(max_length=3)
    threshold = models.DecimalField(max_digits=20, decimal_places=6)
    valued = models.BigIntegerField(default=0)
    meeting = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key", "hour", "comparator", "threshold"],
                name="threshold_rollup_hour",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.comparator} {self.threshold} @ {self.hour:%Y-%m-%d %H:00}"
