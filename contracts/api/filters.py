"""Filters of the contracts API.

Foreign keys are filtered by id with :class:`IdFilter`, never ``ModelChoiceFilter``: the
list is already scoped, so an id outside the scope simply matches nothing, where a
choice filter would answer "not a valid choice" for a missing id and an empty list for
an existing one — telling an outsider which ids exist. An id is a whole number in digits
0-9, documented as an integer: anything else is a 400 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters as filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from contracts.forms.contract_list import ContractStatementFilter, inverted_range
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
    Ticket,
)
from contracts.selectors import search_contracts, with_credits
from slaportal.api.filtering import IdFilter, StrictBooleanFilter


def by_id(field_name: str, help_text: str = "") -> IdFilter:
    return IdFilter(field_name=field_name, help_text=help_text or None)


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC: Python takes offsets up to
    ±23:59, PostgreSQL refuses those beyond ±15:59 with an error."""

    def to_python(self, value: Any) -> datetime | None:
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date-time within the years 1 to 9999.") from None


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


def at_or_after(field_name: str, **extra: str) -> filters.IsoDateTimeFilter:
    return UTCDateTimeFilter(field_name=field_name, lookup_expr="gte", **extra)


def before(field_name: str, **extra: str) -> filters.IsoDateTimeFilter:
    return UTCDateTimeFilter(field_name=field_name, lookup_expr="lt", **extra)


class OrganizationFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Organization.Kind.choices)
    slug = filters.CharFilter()

    class Meta:
        model = Organization
        fields = ["kind", "slug"]


class MembershipFilter(filters.FilterSet):
    organization = by_id("organization_id")
    role = filters.ChoiceFilter(choices=Membership.Role.choices)

    class Meta:
        model = Membership
        fields = ["organization", "role"]


class ServiceFilter(filters.FilterSet):
    provider = by_id("provider_id")
    code = filters.CharFilter()

    class Meta:
        model = Service
        fields = ["provider", "code"]


class EmptyWhenRangeInverted:
    """A FilterSet's ``period_from`` and ``period_to`` as the API reads them: a range
    ending before it starts is empty and matches nothing (200, no results, no totals),
    as the ``*_after``/``*_before`` pairs; the pages refuse it beside the field
    (``PeriodRangeForm``), the schema cannot say the rule across two parameters."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if inverted_range(self.form.cleaned_data):
            return queryset.none()
        return super().filter_queryset(queryset)


EMPTY_WHEN_INVERTED = " Before period_from: an empty range, nothing matches."


class ContractFilter(EmptyWhenRangeInverted, ContractStatementFilter):
    """The contract list page's filters (its search, and the statements' credits, breaches
    and disputes in a range of periods: the same filter definitions and methods), read as
    the API reads query parameters. The queryset carries the page's ``credits``: of the
    periods overlapping the range, or of this year's without one."""

    provider = by_id("provider_id")
    customer = by_id("customer_id")
    status = filters.ChoiceFilter(choices=Contract.Status.choices)
    settlement_period = filters.ChoiceFilter(choices=Contract.Period.choices)
    reference = filters.CharFilter()
    q = filters.CharFilter(
        method="filter_search",
        help_text="Contracts whose reference, title or customer's name contains this text "
        "(any case), as the contract list's search.",
    )
    # The page's check boxes read any word as ticked: here a boolean is true or false.
    with_credit = StrictBooleanFilter(
        method="filter_with_credit",
        help_text="true: only contracts with a payable credit in the range's periods (this "
        "year's without a range); false: only those without.",
    )
    period_to = filters.DateFilter(
        method="filter_nothing",
        help_text="Credits, breaches and disputes of the periods starting on or before this "
        "day (inclusive)." + EMPTY_WHEN_INVERTED,
    )
    breached = StrictBooleanFilter(
        method="filter_breached",
        help_text="true: only contracts where an objective missed its target in a period of "
        "the range (the latest revision); false: only those where none did.",
    )

    class Meta:
        model = Contract
        fields = [
            "provider",
            "customer",
            "status",
            "settlement_period",
            "reference",
            "q",
            "period_from",
            "period_to",
            "with_credit",
            "breached",
            "disputed",
        ]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        start, end = self.period_range
        year = timezone.localdate().year
        return super().filter_queryset(with_credits(queryset, start=start, end=end, year=year))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_contracts(queryset, value.strip())

    def filter_with_credit(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value:
            return super().filter_with_credit(queryset, name, value)
        return queryset.exclude(credits__gt=0)

    def filter_breached(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        breached = super().filter_breached(queryset, name, True)
        return breached if value else queryset.exclude(pk__in=breached.values("pk"))


class ContractServiceFilter(filters.FilterSet):
    contract = by_id("contract_id")
    service = by_id("service_id")

    class Meta:
        model = ContractService
        fields = ["contract", "service"]


class ServiceLevelFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=ServiceLevel.Level.choices)
    provider = by_id("provider_id")
    contract = by_id("contract_id")
    service = by_id("service_id")
    key = filters.CharFilter()
    indicator = filters.ChoiceFilter(choices=ServiceLevel.Indicator.choices)
    enabled = StrictBooleanFilter()

    class Meta:
        model = ServiceLevel
        fields = ["level", "provider", "contract", "service", "key", "indicator", "enabled"]


class ResponsibilityFilter(filters.FilterSet):
    contract = by_id("contract_id")
    service_level = by_id("service_levels", "Responsibilities that affect this objective.")

    class Meta:
        model = Responsibility
        fields = ["contract", "service_level"]


class ResponsibilityLapseFilter(filters.FilterSet):
    responsibility = by_id("responsibility_id")
    contract = by_id("responsibility__contract_id")
    start_after = at_or_after("start")
    start_before = before("start")

    class Meta:
        model = ResponsibilityLapse
        fields = ["responsibility", "contract", "start_after", "start_before"]


class MaintenanceWindowFilter(filters.FilterSet):
    contract = by_id("contract_id")
    contract_service = by_id("contract_service_id")
    start_after = at_or_after("start")
    start_before = before("start")

    class Meta:
        model = MaintenanceWindow
        fields = ["contract", "contract_service", "start_after", "start_before"]


class IncidentFilter(filters.FilterSet):
    contract = by_id("contract_service__contract_id")
    contract_service = by_id("contract_service_id")
    key = filters.CharFilter()
    cause = filters.ChoiceFilter(choices=Incident.Cause.choices)
    started_after = at_or_after("started_at")
    started_before = before("started_at")

    class Meta:
        model = Incident
        fields = ["contract", "contract_service", "key", "cause", "started_after", "started_before"]


class MeasurementFilter(filters.FilterSet):
    contract_service = by_id("contract_service_id")
    key = filters.CharFilter()
    observed_after = at_or_after("observed_at", help_text="Inclusive, ISO 8601.")
    observed_before = before("observed_at", help_text="Exclusive, ISO 8601.")

    class Meta:
        model = Measurement
        fields = ["contract_service", "key", "observed_after", "observed_before"]


class TicketFilter(filters.FilterSet):
    contract = by_id("contract_service__contract_id")
    contract_service = by_id("contract_service_id")
    priority = filters.CharFilter()
    opened_after = at_or_after("opened_at", help_text="Inclusive, ISO 8601.")
    opened_before = before("opened_at", help_text="Exclusive, ISO 8601.")
    open = StrictBooleanFilter(
        field_name="resolved_at",
        lookup_expr="isnull",
        help_text="true: not resolved yet; false: resolved.",
    )

    class Meta:
        model = Ticket
        fields = [
            "contract",
            "contract_service",
            "priority",
            "opened_after",
            "opened_before",
            "open",
        ]
