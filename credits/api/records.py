"""A statement line's drill-down in the API: the samples, incidents, lapses and tickets
behind it, as on its pages and through the same selectors (``credits.selectors.
line_records``, ``line_tickets``) and the same filter: a time range, clamped to the
line's period, and ``only`` what weighs against the provider. Scoped like its statement: any other
line is a 404, and so is a kind of record the line is not measured from."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from contracts.api.filters import UTCDateTimeField
from contracts.api.serializers import IncidentSerializer, ResponsibilityLapseSerializer
from contracts.api.serializers.measurements import MeasurementSerializer
from credits import selectors
from credits.models import StatementLine
from credits.selectors import line_records as records
from credits.views.records import LineRecordsForm, filtered_tickets
from engine.numbers import is_plain_integer
from slaportal.api.filtering import EMPTY_VALUE, StrictBooleanField
from slaportal.api.pagination import PortalPagination
from slaportal.api.viewsets import ScopedGenericViewSet

CURSOR = "after"
QUERY_NAMES = ("since", "until", "only", CURSOR)


class LineRecordsQuery(LineRecordsForm):
    """The pages' filter, read as the API reads query parameters: instants in ISO 8601
    (with their offset, or in the contract's time zone without one) and ``only`` true or
    false, anything else a 400. The range is clamped to the line's period: the records of
    the intersection, none when it is empty or ends before it starts; the pages refuse
    such a range beside the field, the schema cannot say a rule across two parameters."""

    since = UTCDateTimeField(required=False)
    until = UTCDateTimeField(required=False)
    only = StrictBooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        # The form's own cleaning, not the pages' refusal (LineRecordsForm.clean).
        cleaned = super(LineRecordsForm, self).clean()
        start, end = self.period.start_at, self.period.end_at
        cleaned["since"] = max(cleaned.get("since") or start, start)
        cleaned["until"] = min(cleaned.get("until") or end, end)
        return cleaned


class LineSampleSerializer(MeasurementSerializer):
    result = serializers.CharField(
        read_only=True,
        help_text="How the objective judges the sample: meets or fails (ratio, threshold), "
        "counted or not counted (count); empty when it does not judge it (no value).",
    )

    class Meta(MeasurementSerializer.Meta):
        fields = [*MeasurementSerializer.Meta.fields, "result"]
        read_only_fields = fields


class SamplePageSerializer(serializers.Serializer):
    next = serializers.URLField(
        allow_null=True,
        help_text="The next page (its 'after' cursor), null on the last: samples are paged "
        "by their time, never counted.",
    )
    results = LineSampleSerializer(many=True)


class LineTicketSerializer(serializers.Serializer):
    reference = serializers.CharField()
    priority = serializers.CharField()
    opened_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(
        allow_null=True, help_text="Answered or resolved; null when open at the period's end."
    )
    business_seconds = serializers.IntegerField(help_text="The clock, in service hours.")
    stopped_seconds = serializers.IntegerField(help_text="Stopped while waiting on the customer.")
    wall_seconds = serializers.IntegerField()
    within = serializers.BooleanField(help_text="Answered or resolved within the objective.")


RANGE_PARAMETERS = [
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        description="From this instant (inclusive, ISO 8601); before the line's period "
        "starts: its start.",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        description="Until this instant (exclusive, ISO 8601); after the line's period ends: "
        "its end. Neither: the whole period. A range outside the period, or ending before "
        "since, is empty: no records.",
    ),
]
PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", {"type": "integer", "minimum": 1}, description="A page number, from 1."
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": PortalPagination.max_page_size},
        description="Rows a page (default 50).",
    ),
]


def _only(description: str) -> OpenApiParameter:
    return OpenApiParameter("only", OpenApiTypes.BOOL, description=description)


class StatementLineRecordsViewSet(ScopedGenericViewSet):
    # Comments, not a docstring: the schema would show it on every operation.
    # Only the detail actions below: a line itself is read within its statement.

    model = StatementLine
    filter_backends: list[Any] = []

    @staticmethod
    def _line_id(pk: str | None) -> int:
        if pk is None or not is_plain_integer(pk):
            raise exceptions.NotFound()
        return int(pk)

    def _line(self, pk: str | None) -> StatementLine:
        try:
            return records.visible_line(self.request.user, self._line_id(pk))
        except StatementLine.DoesNotExist:
            raise exceptions.NotFound() from None

    def _chosen(self, line: StatementLine, kind: str) -> records.RecordFilter:
        """The filter of the query; a 400 with a message per parameter when it is wrong,
        a 404 when the line is not measured from these records."""
        if kind not in records.record_kinds(line):
            raise exceptions.NotFound("This line is not measured from these records.")
        params = self.request.query_params
        empty = {name: [EMPTY_VALUE] for name in QUERY_NAMES if "" in params.getlist(name)}
        if empty:
            raise exceptions.ValidationError(empty)
        # Instants without an offset, and the messages' bounds, in the contract's zone.
        with timezone.override(ZoneInfo(line.statement.contract.timezone)):
            form = LineRecordsQuery(params, period=records.line_period(line), kind=kind)
            if not form.is_valid():
                raise exceptions.ValidationError(form.errors)
            return form.chosen()

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            _only("true: only the samples that count against the objective."),
            OpenApiParameter(
                CURSOR,
                {"type": "string", "minLength": 1},
                description="The cursor of a next link: the samples after it. One this list "
                "cannot read is a 404, as a cursor of /measurements/: it names no page.",
            ),
            PAGE_PARAMETERS[1],
        ],
        responses=SamplePageSerializer,
        summary="The samples behind a line (ratio, threshold and count objectives), oldest "
        "first, a page at a time.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def samples(self, request: Request, pk: str | None = None) -> Response:
        line = self._line(pk)
        chosen = self._chosen(line, records.SAMPLES)
        size = PortalPagination().get_page_size(request)
        try:
            page = records.sample_page(
                records.line_samples(line, chosen), request.query_params.get(CURSOR), size
            )
        except ValueError:
            # Not a 400: the schema cannot tell a cursor from any other text (a link
            # names it), and DRF's cursor pages (/measurements/) answer a 404 too.
            raise exceptions.NotFound() from None
        for sample in page.samples:
            sample.result = records.sample_result(line, sample)
        following = None
        if page.next_cursor is not None:
            following = replace_query_param(request.build_absolute_uri(), CURSOR, page.next_cursor)
        return Response(
            {"next": following, "results": LineSampleSerializer(page.samples, many=True).data}
        )

    def _page(self, rows: Any, serializer: type[serializers.BaseSerializer]) -> Response:
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            _only("true: only the incidents the provider caused (those that count)."),
            *PAGE_PARAMETERS,
        ],
        responses=IncidentSerializer(many=True),
        summary="The incidents behind a line (uptime objectives) overlapping the range.",
    )
    @action(detail=True, methods=["get"])
    def incidents(self, request: Request, pk: str | None = None) -> Response:
        line = self._line(pk)
        chosen = self._chosen(line, records.INCIDENTS)
        return self._page(records.line_incidents(line, chosen), IncidentSerializer)

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            _only("true: only the lapses that relieve the provider (not withdrawn)."),
            *PAGE_PARAMETERS,
        ],
        responses=ResponsibilityLapseSerializer(many=True),
        summary="The customer's lapses of the responsibilities linked to a line's objective, "
        "overlapping the range.",
    )
    @action(detail=True, methods=["get"])
    def lapses(self, request: Request, pk: str | None = None) -> Response:
        line = self._line(pk)
        chosen = self._chosen(line, records.LAPSES)
        return self._page(records.line_lapses(line, chosen), ResponsibilityLapseSerializer)

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            _only("true: only the breached tickets."),
            *PAGE_PARAMETERS,
        ],
        responses=LineTicketSerializer(many=True),
        summary="The tickets a line counted (response and resolution time objectives), "
        "breached and longest first; a range keeps those opened in it.",
    )
    @action(detail=True, methods=["get"])
    def tickets(self, request: Request, pk: str | None = None) -> Response:
        try:
            detail = selectors.line_tickets(request.user, self._line_id(pk))
        except StatementLine.DoesNotExist:
            raise exceptions.NotFound() from None
        chosen = self._chosen(detail.line, records.TICKETS)
        return self._page(filtered_tickets(detail.tickets, chosen), LineTicketSerializer)
