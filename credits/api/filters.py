"""Filters of the credits API; ids are matched within the caller's scope only (see
``contracts.api.filters``)."""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from contracts.api.filters import EMPTY_WHEN_INVERTED, EmptyWhenRangeInverted, IdFilter, by_id
from contracts.forms.contract_list import ANY_DISPUTE, OPEN_DISPUTE
from credits.forms import PeriodOverlapMethods
from credits.models import Dispute, Notification, Statement
from slaportal.api.filtering import StrictBooleanFilter

NO_DISPUTE = "none"


class StatementFilter(EmptyWhenRangeInverted, PeriodOverlapMethods, filters.FilterSet):
    contract = by_id("contract_id")
    period_start = filters.DateFilter()
    period_start_after = filters.DateFilter(
        field_name="period_start", lookup_expr="gte", help_text="Inclusive."
    )
    period_start_before = filters.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Inclusive."
    )
    revision = IdFilter(help_text="A revision number.")
    latest = StrictBooleanFilter(
        method="filter_latest",
        help_text="true: only the latest revision of each period; false: only superseded ones.",
    )

    period_from = filters.DateFilter(
        method="filter_period_from",
        help_text="Periods ending on or after this day (inclusive): a weekly, monthly or "
        "quarterly period is in the range if any of its days is.",
    )
    period_to = filters.DateFilter(
        method="filter_period_to",
        help_text="Periods starting on or before this day (inclusive)." + EMPTY_WHEN_INVERTED,
    )
    with_credit = StrictBooleanFilter(
        method="filter_with_credit",
        help_text="true: only statements with a payable credit (credit_total above 0); "
        "false: only those without.",
    )
    breached = StrictBooleanFilter(
        method="filter_breached",
        help_text="true: only statements where an objective missed its target; false: "
        "only those where none did.",
    )
    disputed = filters.ChoiceFilter(
        method="filter_disputed",
        choices=[
            (OPEN_DISPUTE, "open"),
            (ANY_DISPUTE, "any"),
            (NO_DISPUTE, "none"),
        ],
        help_text="open: a line has an open dispute; any: a line has a dispute, open or "
        "resolved; none: no line was ever disputed.",
    )

    class Meta:
        model = Statement
        fields = [
            "contract",
            "period_start",
            "period_start_after",
            "period_start_before",
            "revision",
            "latest",
            "period_from",
            "period_to",
            "with_credit",
            "breached",
            "disputed",
        ]

    def filter_with_credit(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.with_credit() if value else queryset.without_credit()

    def filter_breached(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.breached() if value else queryset.not_breached()

    def filter_disputed(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == NO_DISPUTE:
            return queryset.undisputed()
        return queryset.disputed(open_only=value == OPEN_DISPUTE)

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_latest(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.latest_revisions() if value else queryset.superseded()


class DisputeFilter(filters.FilterSet):
    line = by_id("line_id")
    statement = by_id("line__statement_id")
    contract = by_id("line__statement__contract_id")
    status = filters.ChoiceFilter(choices=Dispute.Status.choices)

    class Meta:
        model = Dispute
        fields = ["line", "statement", "contract", "status"]


class NotificationFilter(filters.FilterSet):
    read = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull", exclude=True)
    event = filters.ChoiceFilter(choices=Notification.Event.choices)

    class Meta:
        model = Notification
        fields = ["read", "event"]
