"""Filters of the credits API; ids are matched within the caller's scope only (see
``contracts.api.filters``)."""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from contracts.api.filters import IdFilter, by_id
from credits.models import Dispute, Notification, Statement


class StatementFilter(filters.FilterSet):
    contract = by_id("contract_id")
    period_start = filters.DateFilter()
    period_start_after = filters.DateFilter(
        field_name="period_start", lookup_expr="gte", help_text="Inclusive."
    )
    period_start_before = filters.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Inclusive."
    )
    revision = IdFilter(help_text="A revision number.")
    latest = filters.BooleanFilter(
        method="filter_latest",
        help_text="true: only the latest revision of each period; false: only superseded ones.",
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
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_latest(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
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
    read = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", exclude=True)
    event = filters.ChoiceFilter(choices=Notification.Event.choices)

    class Meta:
        model = Notification
        fields = ["read", "event"]
