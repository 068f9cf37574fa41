"""Service levels: the objectives a provider promises, at four levels of a hierarchy."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

import engine
from contracts.models.calendars import ServiceCalendar
from contracts.models.contracts import Contract, Service
from contracts.models.parties import Organization
from contracts.querysets import ServiceLevelQuerySet


class ServiceLevel(models.Model):
    """An objective, at one level of the hierarchy; the most specific one per key wins."""

    class Level(models.TextChoices):
        CORPORATE = "corporate", _("Corporate (every service of the provider)")
        SERVICE = "service", _("Service (one service, every contract)")
        CUSTOMER = "customer", _("Customer (every service of one contract)")
        CONTRACT_SERVICE = "contract_service", _("Contract service (one service of one contract)")

    class Indicator(models.TextChoices):
        UPTIME = "uptime", _("Uptime (percent of scheduled time)")
        RATIO = "ratio", _("Ratio (percent of samples ok)")
        THRESHOLD = "threshold", _("Threshold (percent of samples meeting a threshold)")
        COUNT = "count", _("Count (sum of sample values)")
        RESPONSE_TIME = "response_time", _("Response time (percent of tickets answered in time)")
        RESOLUTION_TIME = (
            "resolution_time",
            _("Resolution time (percent of tickets resolved in time)"),
        )

    TICKET_INDICATORS = ("response_time", "resolution_time")

    class Comparator(models.TextChoices):
        GTE = "gte", _("at least")
        LTE = "lte", _("at most")

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
    key = models.SlugField(max_length=60, help_text=_("Names the metric, e.g. availability."))
    name = models.CharField(max_length=200)
    indicator = models.CharField(max_length=20, choices=Indicator.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default="gte")
    target = models.DecimalField(max_digits=14, decimal_places=4)
    threshold = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    threshold_comparator = models.CharField(
        max_length=3, choices=Comparator.choices, null=True, blank=True
    )
    enabled = models.BooleanField(
        default=True, help_text=_("Off removes an inherited objective of the same key.")
    )
    credit_rule = models.JSONField(null=True, blank=True)
    calendar = models.ForeignKey(
        ServiceCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_levels",
        help_text=_("Time counts only inside its service hours; empty for around the clock."),
    )
    priority = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("Ticket objectives: the priority measured, e.g. P1; empty for every one."),
    )
    # Chronic failure (SPEC §6): this many breaches within ``chronic_window`` consecutive
    # periods give the customer a right to terminate; both empty: not agreed.
    chronic_breaches = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Chronic failure: this many breaches within the window; empty for none."),
    )
    chronic_window = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Chronic failure: the window, in consecutive settlement periods."),
    )

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
                condition=~Q(indicator__in=["response_time", "resolution_time"])
                | (
                    Q(threshold__isnull=False, threshold__gt=0)
                    & (Q(threshold_comparator__isnull=True) | Q(threshold_comparator="lte"))
                ),
                name="service_level_ticket_threshold_set",
                violation_error_message="A ticket objective needs a threshold in minutes.",
            ),
            models.CheckConstraint(
                condition=Q(priority="") | Q(indicator__in=["response_time", "resolution_time"]),
                name="service_level_priority_for_tickets",
                violation_error_message="Only ticket objectives have a priority.",
            ),
            models.CheckConstraint(
                condition=Q(indicator__in=list(engine.INDICATORS)),
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
            errors["contract"] = gettext("The contract belongs to another provider.")
        if self.service_id and self.service.provider_id != self.provider_id:
            errors["service"] = gettext("The service is offered by another provider.")
        needs = {
            "corporate": (False, False),
            "service": (False, True),
            "customer": (True, False),
            "contract_service": (True, True),
        }.get(self.level)
        if needs:
            level = {
                "corporate": pgettext("objective level", "corporate"),
                "service": pgettext("objective level", "service"),
                "customer": pgettext("objective level", "customer"),
                "contract_service": pgettext("objective level", "contract-service"),
            }[self.level]
            missing = {
                "contract": gettext("A %(level)s objective names a contract."),
                "service": gettext("A %(level)s objective names a service."),
            }
            extra = {
                "contract": gettext("A %(level)s objective has no contract."),
                "service": gettext("A %(level)s objective has no service."),
            }
            for field, needed in zip(("contract", "service"), needs, strict=True):
                present = getattr(self, f"{field}_id") is not None
                if needed and not present:
                    errors[field] = missing[field] % {"level": level}
                elif present and not needed:
                    errors[field] = extra[field] % {"level": level}
        if (
            self.level == self.Level.CONTRACT_SERVICE
            and self.contract_id
            and self.service_id
            and "service" not in errors
            and not self.contract.services.filter(service_id=self.service_id).exists()
        ):
            errors["service"] = gettext("The contract does not include this service.")
        if self.indicator == self.Indicator.THRESHOLD:
            if self.threshold is None:
                errors["threshold"] = gettext("A threshold objective needs a threshold.")
            if not self.threshold_comparator:
                errors["threshold_comparator"] = gettext(
                    "Say whether samples must be at least or at most."
                )
        elif self.indicator in self.TICKET_INDICATORS:
            if self.threshold is None or self.threshold <= 0:
                errors["threshold"] = gettext(
                    "A ticket objective needs a threshold in minutes above 0."
                )
            if self.threshold_comparator not in (None, "", self.Comparator.LTE):
                errors["threshold_comparator"] = gettext(
                    "A ticket's clock is always at most the threshold."
                )
        elif self.threshold is not None or self.threshold_comparator:
            errors["threshold"] = gettext("Only threshold and ticket objectives have a threshold.")
        if self.priority and self.indicator not in self.TICKET_INDICATORS:
            errors["priority"] = gettext(
                "Only ticket objectives (response or resolution time) have one."
            )
        elif self.priority and self.contract_id:
            # The contract refuses tickets of any other priority, so such an objective
            # would never count a ticket.
            known = self.contract.ticket_priorities
            if isinstance(known, list) and self.priority not in known:
                errors["priority"] = gettext(
                    "%(priority)s is not a ticket priority of %(contract)s (%(known)s)."
                ) % {
                    "priority": repr(self.priority),
                    "contract": self.contract.reference,
                    "known": ", ".join(map(str, known)),
                }
        if self.calendar_id and self.provider_id and self.calendar.provider_id != self.provider_id:
            errors["calendar"] = gettext("The calendar belongs to another provider.")
        if self.target is not None:
            if self.indicator != self.Indicator.COUNT and not (0 <= self.target <= 100):
                errors["target"] = gettext("A percentage target lies between 0 and 100.")
            if self.indicator == self.Indicator.COUNT and self.target < 0:
                errors["target"] = gettext("A count target cannot be negative.")
        try:
            # The engine states the rule (both or neither, breaches within the window).
            self.as_objective()
        except engine.ObjectiveError as exc:
            if exc.field in ("chronic_breaches", "chronic_window"):
                errors[exc.field] = str(exc)[:1].upper() + str(exc)[1:] + "."
        except (engine.ParameterError, TypeError, ValueError):
            pass  # the other fields have their own messages
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
                            gettext(
                                "A pool rule shares a contract's at-risk amount; set it at "
                                "the customer or contract-service level."
                            ),
                            code="kind",
                        )
                    elif self.contract_id and self.contract.credit_cap_percent is None:
                        errors["credit_rule"] = ValidationError(
                            gettext(
                                "A pool rule needs a contract with an at-risk amount "
                                "(credit cap percent)."
                            ),
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
            chronic_breaches=self.chronic_breaches,
            chronic_window=self.chronic_window,
        )

    def describe(self, *, service_name: str, period_name: str) -> str:
        """The one plain-language sentence for this objective and its credit rule, with
        its calendar's service hours and its ticket priority when it has them."""
        objective = dataclasses.replace(self.as_objective(), priority=self.priority or None)
        closed_days_text = None
        if self.calendar_id is not None:
            # The sentence says the hours and where closed days come from, not each day.
            hours = engine.ServiceCalendar(
                timezone=self.calendar.timezone, hours=self.calendar.hours
            )
            objective = dataclasses.replace(objective, calendar=hours)
            closed_days_text = self.calendar.holidays_text or None
        return engine.describe_objective(
            objective,
            service_name=service_name,
            period_name=period_name,
            currency=self.contract.currency if self.contract_id else None,
            closed_days_text=closed_days_text,
        )
