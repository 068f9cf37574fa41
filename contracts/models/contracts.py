"""What providers offer (services) and sell to customers (contracts and their services)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

import engine
from contracts.dates import dates_out_of_range
from contracts.models.parties import Organization, _timezones
from contracts.querysets import ContractQuerySet, ContractServiceQuerySet, ServiceQuerySet

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def default_ticket_priorities() -> list[str]:
    return ["P1", "P2", "P3", "P4"]


def _is_priority_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and all(
            isinstance(code, str) and 0 < len(code.strip()) == len(code) <= 20 for code in value
        )
        and len(set(value)) == len(value)
    )


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
            raise ValidationError({"provider": gettext("Services are offered by providers only.")})


class Contract(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class Period(models.TextChoices):
        WEEK = "week", _("Week (ISO, Monday–Sunday)")
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts_as_provider"
    )
    customer = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts_as_customer"
    )
    reference = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, help_text=_("ISO 4217 code, e.g. EUR."))
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text=_("Last day, inclusive."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    settlement_period = models.CharField(max_length=8, choices=Period.choices)
    timezone = models.CharField(max_length=64, default="UTC", help_text=_("IANA name."))
    credit_cap_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
        help_text=_("At-risk amount as a percentage of the period's fees; empty for no cap."),
    )
    minimum_credit = models.DecimalField(
        max_digits=16,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("A statement whose credits add up to less pays 0; 0: no minimum."),
    )
    settlement_delay_days = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(90)]
    )
    claim_window_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(366)],
        help_text=_(
            "Days after a period ends in which the customer may claim an outage the "
            "provider did not record; 0: no claims."
        ),
    )
    ticket_priorities = models.JSONField(
        default=default_ticket_priorities,
        help_text=_(
            "The priority codes of the contract's tickets, e.g. P1 to P4; a ticket of "
            "another priority is refused."
        ),
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
            models.CheckConstraint(
                condition=Q(minimum_credit__gte=0), name="contract_minimum_credit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.provider_id and self.provider.kind != Organization.Kind.PROVIDER:
            errors["provider"] = gettext(
                "The provider of a contract must be a provider organisation."
            )
        if self.customer_id and self.customer.kind != Organization.Kind.CUSTOMER:
            errors["customer"] = gettext(
                "The customer of a contract must be a customer organisation."
            )
        if self.currency and not engine.is_currency(self.currency):
            errors["currency"] = gettext("%(currency)s is not an ISO 4217 currency code.") % {
                "currency": repr(self.currency)
            }
        if self.timezone and self.timezone not in _timezones():
            errors["timezone"] = gettext("%(zone)s is not an IANA time zone name.") % {
                "zone": repr(self.timezone)
            }
        if self.minimum_credit and engine.is_currency(self.currency):
            places = engine.minor_units(self.currency)
            if self.minimum_credit != self.minimum_credit.quantize(Decimal(1).scaleb(-places)):
                errors["minimum_credit"] = ngettext(
                    "%(currency)s has at most %(places)s decimal.",
                    "%(currency)s has at most %(places)s decimals.",
                    places,
                ) % {"currency": self.currency, "places": places}
        errors.update(dates_out_of_range(self, "start_date", "end_date"))
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = gettext("The end date cannot be before the start date.")
        if not _is_priority_list(self.ticket_priorities):
            errors["ticket_priorities"] = gettext(
                'A list of distinct short codes, e.g. ["P1", "P2", "P3", "P4"].'
            )
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
                errors["customer"] = gettext(
                    "The parties of a contract with statements cannot change."
                )
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
        help_text=_("Fee per settlement period, in the contract's currency."),
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
            errors["service"] = gettext("The service is not offered by the contract's provider.")
        if self.contract_id and self.fee is not None:
            places = engine.minor_units(self.contract.currency)
            if self.fee != self.fee.quantize(Decimal(1).scaleb(-places)):
                errors["fee"] = ngettext(
                    "%(currency)s fees have at most %(places)s decimal.",
                    "%(currency)s fees have at most %(places)s decimals.",
                    places,
                ) % {"currency": self.contract.currency, "places": places}
        if errors:
            raise ValidationError(errors)
