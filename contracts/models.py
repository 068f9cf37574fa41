"""Organisations, contracts, service levels, responsibilities and measurements.

The invariants that a database can hold live here as constraints; the ones it cannot
(a contract's provider must be a provider, a credit rule must be well-formed) live in
``clean()``, which every interface reaches through ``full_clean()``.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

import engine
from contracts.querysets import (
    ContractQuerySet,
    ContractServiceQuerySet,
    IncidentQuerySet,
    MaintenanceWindowQuerySet,
    MeasurementQuerySet,
    MembershipQuerySet,
    OrganizationQuerySet,
    ResponsibilityLapseQuerySet,
    ResponsibilityQuerySet,
    ServiceLevelQuerySet,
    ServiceQuerySet,
)

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


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

    def clean(self) -> None:
        if self.webhook_url and not self.webhook_secret:
            raise ValidationError({"webhook_secret": "A webhook needs a secret to sign with."})


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


class Service(models.Model):
    provider = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="services")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    objects = ServiceQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["provider__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="service_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.provider_id and self.provider.kind != Organization.Kind.PROVIDER:
            raise ValidationError({"provider": "Services are offered by providers only."})


class Contract(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    class Period(models.TextChoices):
        WEEK = "week", "Week (ISO, Monday–Sunday)"
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts_as_provider"
    )
    customer = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts_as_customer"
    )
    reference = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Last day, inclusive.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    settlement_period = models.CharField(max_length=8, choices=Period.choices)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name.")
    credit_cap_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
        help_text="At-risk amount as a percentage of the period's fees; empty for no cap.",
    )
    settlement_delay_days = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(90)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContractQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["provider__name", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "reference"], name="contract_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="contract_end_after_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=Q(credit_cap_percent__isnull=True)
                | Q(credit_cap_percent__gte=0, credit_cap_percent__lte=100),
                name="contract_cap_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "suspended", "terminated"]),
                name="contract_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(settlement_period__in=["week", "month", "quarter"]),
                name="contract_period_valid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="contract_currency_format"
            ),
            models.CheckConstraint(
                condition=~Q(provider=models.F("customer")), name="contract_parties_differ"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.provider_id and self.provider.kind != Organization.Kind.PROVIDER:
            errors["provider"] = "The provider of a contract must be a provider organisation."
        if self.customer_id and self.customer.kind != Organization.Kind.CUSTOMER:
            errors["customer"] = "The customer of a contract must be a customer organisation."
        if self.currency and not engine.is_currency(self.currency):
            errors["currency"] = f"{self.currency!r} is not an ISO 4217 currency code."
        if self.timezone and self.timezone not in _timezones():
            errors["timezone"] = f"{self.timezone!r} is not an IANA time zone name."
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "The end date cannot be before the start date."
        if self.pk and (self.provider_id or self.customer_id):
            stored = (
                Contract.objects.filter(pk=self.pk).values("provider_id", "customer_id").first()
            )
            if (
                stored
                and (
                    stored["provider_id"] != self.provider_id
                    or stored["customer_id"] != self.customer_id
                )
                and self.statements.exists()
            ):
                # The issued statements belong to the parties they were issued to.
                errors["customer"] = "The parties of a contract with statements cannot change."
        if errors:
            raise ValidationError(errors)

    @property
    def at_risk_applies(self) -> bool:
        return self.credit_cap_percent is not None


class ContractService(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="services")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="contract_services")
    fee = models.DecimalField(
        max_digits=16,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Fee per settlement period, in the contract's currency.",
    )

    objects = ContractServiceQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["contract_id", "service__code"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "service"], name="contract_service_unique"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="contract_service_fee_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service.name} in {self.contract.reference}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (
            self.contract_id
            and self.service_id
            and self.service.provider_id != self.contract.provider_id
        ):
            errors["service"] = "The service is not offered by the contract's provider."
        if self.contract_id and self.fee is not None:
            places = engine.minor_units(self.contract.currency)
            if self.fee != self.fee.quantize(Decimal(1).scaleb(-places)):
                errors["fee"] = f"{self.contract.currency} fees have at most {places} decimals."
        if errors:
            raise ValidationError(errors)


class ServiceLevel(models.Model):
    """An objective, at one level of the hierarchy; the most specific one per key wins."""

    class Level(models.TextChoices):
        CORPORATE = "corporate", "Corporate (every service of the provider)"
        SERVICE = "service", "Service (one service, every contract)"
        CUSTOMER = "customer", "Customer (every service of one contract)"
        CONTRACT_SERVICE = "contract_service", "Contract service (one service of one contract)"

    class Indicator(models.TextChoices):
        UPTIME = "uptime", "Uptime (percent of scheduled time)"
        RATIO = "ratio", "Ratio (percent of samples ok)"
        THRESHOLD = "threshold", "Threshold (percent of samples meeting a threshold)"
        COUNT = "count", "Count (sum of sample values)"

    class Comparator(models.TextChoices):
        GTE = "gte", "at least"
        LTE = "lte", "at most"

    level = models.CharField(max_length=20, choices=Level.choices)
    provider = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_levels"
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, null=True, blank=True, related_name="service_levels"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="service_levels"
    )
    key = models.SlugField(max_length=60, help_text="Names the metric, e.g. availability.")
    name = models.CharField(max_length=200)
    indicator = models.CharField(max_length=10, choices=Indicator.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default="gte")
    target = models.DecimalField(max_digits=14, decimal_places=4)
    threshold = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    threshold_comparator = models.CharField(
        max_length=3, choices=Comparator.choices, null=True, blank=True
    )
    enabled = models.BooleanField(
        default=True, help_text="Off removes an inherited objective of the same key."
    )
    credit_rule = models.JSONField(null=True, blank=True)

    objects = ServiceLevelQuerySet.as_manager()
    history = HistoricalRecords()

    LEVEL_ORDER = {"contract_service": 0, "customer": 1, "service": 2, "corporate": 3}

    class Meta:
        ordering = ["provider_id", "key", "level"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level="corporate", contract__isnull=True, service__isnull=True)
                    | Q(level="service", contract__isnull=True, service__isnull=False)
                    | Q(level="customer", contract__isnull=False, service__isnull=True)
                    | Q(level="contract_service", contract__isnull=False, service__isnull=False)
                ),
                name="service_level_scope_matches_level",
                violation_error_message="The fields set do not match the level.",
            ),
            models.UniqueConstraint(
                fields=["provider", "key"],
                condition=Q(level="corporate"),
                name="service_level_unique_corporate",
            ),
            models.UniqueConstraint(
                fields=["service", "key"],
                condition=Q(level="service"),
                name="service_level_unique_service",
            ),
            models.UniqueConstraint(
                fields=["contract", "key"],
                condition=Q(level="customer"),
                name="service_level_unique_customer",
            ),
            models.UniqueConstraint(
                fields=["contract", "service", "key"],
                condition=Q(level="contract_service"),
                name="service_level_unique_contract_service",
            ),
            models.CheckConstraint(
                condition=Q(indicator="count") | Q(target__gte=0, target__lte=100),
                name="service_level_percent_target_range",
                violation_error_message="A percentage target lies between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(indicator="count", target__gte=0) | ~Q(indicator="count"),
                name="service_level_count_target_positive",
            ),
            models.CheckConstraint(
                condition=~Q(indicator="threshold")
                | Q(threshold__isnull=False, threshold_comparator__isnull=False),
                name="service_level_threshold_set",
                violation_error_message="A threshold objective needs a threshold and comparator.",
            ),
            models.CheckConstraint(
                condition=Q(indicator__in=["uptime", "ratio", "threshold", "count"]),
                name="service_level_indicator_valid",
            ),
            models.CheckConstraint(
                condition=Q(comparator__in=["gte", "lte"]), name="service_level_comparator_valid"
            ),
            models.CheckConstraint(
                condition=Q(level__in=["corporate", "service", "customer", "contract_service"]),
                name="service_level_level_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display().split(' (')[0].lower()})"

    def clean_fields(self, exclude: Any = None) -> None:
        # A client may omit the provider where the contract or service implies it.
        if not self.provider_id:
            if self.contract_id:
                self.provider_id = self.contract.provider_id
            elif self.service_id:
                self.provider_id = self.service.provider_id
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.contract_id and self.contract.provider_id != self.provider_id:
            errors["contract"] = "The contract belongs to another provider."
        if self.service_id and self.service.provider_id != self.provider_id:
            errors["service"] = "The service is offered by another provider."
        needs = {
            "corporate": (False, False),
            "service": (False, True),
            "customer": (True, False),
            "contract_service": (True, True),
        }.get(self.level)
        if needs:
            for field, needed in zip(("contract", "service"), needs, strict=True):
                present = getattr(self, f"{field}_id") is not None
                if needed and not present:
                    errors[field] = f"A {self.level.replace('_', '-')} objective names a {field}."
                elif present and not needed:
                    errors[field] = f"A {self.level.replace('_', '-')} objective has no {field}."
        if (
            self.level == self.Level.CONTRACT_SERVICE
            and self.contract_id
            and self.service_id
            and "service" not in errors
            and not self.contract.services.filter(service_id=self.service_id).exists()
        ):
            errors["service"] = "The contract does not include this service."
        if self.indicator == self.Indicator.THRESHOLD:
            if self.threshold is None:
                errors["threshold"] = "A threshold objective needs a threshold."
            if not self.threshold_comparator:
                errors["threshold_comparator"] = "Say whether samples must be at least or at most."
        elif self.threshold is not None or self.threshold_comparator:
            errors["threshold"] = "Only threshold objectives have a threshold."
        if self.target is not None:
            if self.indicator != self.Indicator.COUNT and not (0 <= self.target <= 100):
                errors["target"] = "A percentage target lies between 0 and 100."
            if self.indicator == self.Indicator.COUNT and self.target < 0:
                errors["target"] = "A count target cannot be negative."
        if self.credit_rule is not None:
            try:
                rule = engine.parse_rule(self.credit_rule)
                if rule is not None and self.comparator:
                    engine.validate_rule_for(rule, self.comparator)
            except engine.ParameterError as exc:
                # The code names the rule parameter, so the API can nest the message under it.
                errors["credit_rule"] = ValidationError(str(exc), code=exc.field)
            else:
                if isinstance(rule, engine.PoolRule):
                    if self.level in (self.Level.CORPORATE, self.Level.SERVICE):
                        errors["credit_rule"] = ValidationError(
                            "A pool rule shares a contract's at-risk amount; set it at "
                            "the customer or contract-service level.",
                            code="kind",
                        )
                    elif self.contract_id and self.contract.credit_cap_percent is None:
                        errors["credit_rule"] = ValidationError(
                            "A pool rule needs a contract with an at-risk amount "
                            "(credit cap percent).",
                            code="kind",
                        )
        if errors:
            raise ValidationError(errors)

    @property
    def rule(self) -> engine.CreditRule | None:
        return engine.parse_rule(self.credit_rule)

    def as_objective(self) -> engine.Objective:
        return engine.Objective(
            key=self.key,
            name=self.name,
            indicator=self.indicator,
            comparator=self.comparator,
            target=self.target,
            rule=self.rule,
            threshold=self.threshold,
            threshold_comparator=self.threshold_comparator,
        )

    def describe(self, *, service_name: str, period_name: str) -> str:
        """The one plain-language sentence for this objective and its credit rule."""
        return engine.describe_objective(
            self.as_objective(),
            service_name=service_name,
            period_name=period_name,
            currency=self.contract.currency if self.contract_id else None,
        )


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
        help_text="Empty for every service of the contract.",
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
        errors: dict[str, str] = {}
        if self.start and self.end and self.end <= self.start:
            errors["end"] = "The end must be after the start."
        if self.contract_service_id and self.contract_service.contract_id != self.contract_id:
            errors["contract_service"] = "The service belongs to another contract."
        if errors:
            raise ValidationError(errors)


class Incident(models.Model):
    class Cause(models.TextChoices):
        PROVIDER = "provider", "Provider"
        CUSTOMER = "customer", "Customer"
        MAINTENANCE = "maintenance", "Maintenance"
        FORCE_MAJEURE = "force_majeure", "Force majeure"
        THIRD_PARTY = "third_party", "Third party"

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
        if self.started_at and self.ended_at and self.ended_at <= self.started_at:
            raise ValidationError({"ended_at": "The end must be after the start."})


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
