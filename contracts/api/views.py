"""Viewsets of the contracts API. Thin: scoping lives in the base viewset and the
querysets, rules in the models and services."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from contracts import services
from contracts.api import filters, serializers
from contracts.api.serializers.calendars import (
    CalendarClosureSerializer,
    IcsImportedSerializer,
    IcsImportSerializer,
    ServiceCalendarSerializer,
    TimelineDaySerializer,
    TimelineQuerySerializer,
    timeline_json,
)
from contracts.api.serializers.terms import TermsChangeSerializer
from contracts.models import (
    CalendarClosure,
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
    ServiceCalendar,
    ServiceLevel,
    Ticket,
    TicketEvent,
)
from contracts.models.terms import terms_timeline
from contracts.selectors import calendar_timeline, contract_totals, effective_service_levels
from contracts.services import (
    MAX_BATCH,
    BatchRejected,
    record_measurements,
    record_tickets,
    remove_contract_service,
)
from slaportal.api.errors import Conflict, api_errors
from slaportal.api.pagination import StrictPageSize
from slaportal.api.parsers import SafeJSONParser
from slaportal.api.viewsets import ScopedGenericViewSet, ScopedViewSet


class OrganizationViewSet(ScopedViewSet):
    """Organisations: operators create them; admins of one edit its name and webhook."""

    model = Organization
    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    create_policy = "staff"
    protected_message = "The organisation has services or contracts; it cannot be deleted."

    def can_delete(self, request: Request, obj: models.Model) -> bool:
        return request.user.is_staff


class MembershipViewSet(ScopedViewSet):
    """Members: creating one creates the user; operators and the organisation's admins."""

    model = Membership
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilter
    create_policy = "org_admin"
    list_select_related = ("user",)

    def perform_destroy(self, instance: models.Model) -> None:
        # Through the service: an organisation's last admin is not removed (a 400).
        services.delete_membership(membership=instance, user=self.request.user)


class ServiceViewSet(ScopedViewSet):
    """Services a provider offers: `code` is unique per provider."""

    model = Service
    serializer_class = serializers.ServiceSerializer
    filterset_class = filters.ServiceFilter
    protected_message = "The service is part of a contract; remove it from the contracts first."


class ContractViewSet(ScopedViewSet):
    """Contracts. Customers never see drafts; a contract with statements is terminated,
    never deleted."""

    model = Contract
    serializer_class = serializers.ContractSerializer
    filterset_class = filters.ContractFilter
    protected_message = (
        "The contract has statements, which are kept for good: terminate it instead "
        '(PATCH {"status": "terminated"}).'
    )

    @extend_schema(
        responses=serializers.ContractTotalsSerializer(many=True),
        summary="The totals of the filtered contracts per currency, over every page: how "
        "many, and their credits (the contract list's totals row).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def totals(self, request: Request) -> Response:
        contracts = self.filter_queryset(self.get_queryset())
        return Response(
            serializers.ContractTotalsSerializer(contract_totals(contracts), many=True).data
        )

    @extend_schema(
        responses=serializers.EffectiveContractServiceSerializer(many=True),
        summary="The objectives in force for each service of the contract, with their source.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="effective-service-levels",
        filter_backends=[],
        pagination_class=None,
    )
    def effective_service_levels(self, request: Request, pk: str | None = None) -> Response:
        contract = self.get_object()
        entries = serializers.effective_service_levels_json(effective_service_levels(contract))
        data = serializers.EffectiveContractServiceSerializer(entries, many=True).data
        return Response(data)

    @extend_schema(
        responses=TermsChangeSerializer(many=True),
        summary="The timeline of the contract's terms: every amendment and correction of its "
        "fees and objectives, oldest first, with who made it.",
    )
    @action(
        detail=True, methods=["get"], url_path="terms", filter_backends=[], pagination_class=None
    )
    def terms(self, request: Request, pk: str | None = None) -> Response:
        contract = self.get_object()
        changes = terms_timeline(contract)
        return Response(TermsChangeSerializer(changes, many=True).data)


class ContractServiceViewSet(ScopedViewSet):
    """A service within a contract and its fee per settlement period."""

    model = ContractService
    serializer_class = serializers.ContractServiceSerializer
    filterset_class = filters.ContractServiceFilter
    list_select_related = ("contract", "service")
    protected_message = (
        "The service appears on issued statements, which are kept for good; it stays on "
        "the contract."
    )

    def perform_destroy(self, instance: models.Model) -> None:
        # The service also removes the objectives set for this service of this contract;
        # lines of issued statements point at those, so a billed service stays.
        if instance.statement_lines.exists():
            raise Conflict(self.protected_message)
        try:
            remove_contract_service(contract_service=instance)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None


class ServiceLevelViewSet(ScopedViewSet):
    """Objectives at the corporate, service, customer or contract-service level, with
    their credit rule (`{"kind", …}` or null) and a plain-language `description`."""

    model = ServiceLevel
    serializer_class = serializers.ServiceLevelSerializer
    filterset_class = filters.ServiceLevelFilter
    list_select_related = ("contract", "service")

    def perform_destroy(self, instance: models.Model) -> None:
        # Issued statement lines point at the objective they applied, and the database
        # refuses to touch them; a used objective is switched off, not deleted.
        if instance.statement_lines.exists():
            raise Conflict(
                "The objective was applied in issued statements, which are kept for good: "
                'switch it off (PATCH {"enabled": false}) or change it instead.'
            )
        super().perform_destroy(instance)


class ResponsibilityViewSet(ScopedViewSet):
    """Obligations of the customer and the objectives they affect."""

    model = Responsibility
    serializer_class = serializers.ResponsibilitySerializer
    filterset_class = filters.ResponsibilityFilter
    list_prefetch_related = (
        models.Prefetch("service_levels", queryset=ServiceLevel.objects.only("id")),
    )


class ResponsibilityLapseViewSet(ScopedViewSet):
    """Intervals in which the customer did not meet an obligation: relief for the
    provider on the affected objectives. Either party's editors record one (the customer
    its own); the customer contests the provider's, the provider keeps or withdraws it.
    Both parties are notified of each step."""

    model = ResponsibilityLapse
    serializer_class = serializers.ResponsibilityLapseSerializer
    filterset_class = filters.ResponsibilityLapseFilter
    create_policy = "party_editor"

    def _lapse_step(self, request: Request, serializer_class: type, step: Any) -> Response:
        lapse = self.get_object()  # 404 outside the caller's scope, before anything else
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            lapse = step(lapse, **body.validated_data)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(api_errors(exc)) from None
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response(self.get_serializer(lapse).data)

    @extend_schema(
        request=serializers.LapseContestSerializer,
        responses={200: serializers.ResponsibilityLapseSerializer},
        summary="The customer contests a lapse the provider recorded, with a reason.",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def contest(self, request: Request, pk: str | None = None) -> Response:
        return self._lapse_step(
            request,
            serializers.LapseContestSerializer,
            lambda lapse, reason: services.contest_lapse(
                lapse=lapse, user=request.user, reason=reason
            ),
        )

    @extend_schema(
        request=serializers.LapseDecisionSerializer,
        responses={200: serializers.ResponsibilityLapseSerializer},
        summary="The provider keeps or withdraws a contested lapse, with its reason.",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        return self._lapse_step(
            request,
            serializers.LapseDecisionSerializer,
            lambda lapse, outcome, resolution: services.resolve_lapse_contest(
                lapse=lapse, user=request.user, outcome=outcome, resolution=resolution
            ),
        )


class MaintenanceWindowViewSet(ScopedViewSet):
    """Maintenance windows: excluded from scheduled time."""

    model = MaintenanceWindow
    serializer_class = serializers.MaintenanceWindowSerializer
    filterset_class = filters.MaintenanceWindowFilter


class IncidentViewSet(ScopedViewSet):
    """Incidents; only those caused by the provider count against uptime."""

    model = Incident
    serializer_class = serializers.IncidentSerializer
    filterset_class = filters.IncidentFilter


# --------------------------------------------------------------------------- calendars


@extend_schema_view(
    destroy=extend_schema(
        summary="Delete a calendar and its closures; one that objectives use answers 409."
    ),
)
class ServiceCalendarViewSet(ScopedViewSet):
    """Service calendars of a provider: weekly hours in a timezone, public holidays of a
    country (and subdivision), closed days and intervals. Customers read the calendars of
    the objectives that apply to them; the provider's editors write."""

    model = ServiceCalendar
    serializer_class = ServiceCalendarSerializer
    filterset_fields = ("provider",)

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().order_by("provider_id", "name", "pk")

    def perform_destroy(self, instance: models.Model) -> None:
        try:
            services.delete_calendar(calendar=instance)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None

    @extend_schema(
        methods=["GET"],
        responses=CalendarClosureSerializer(many=True),
        summary="The calendar's closures, by day and start.",
    )
    @extend_schema(
        methods=["POST"],
        request=CalendarClosureSerializer,
        responses={201: CalendarClosureSerializer},
        summary="Close a whole local day, or an interval (start and end), by hand.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=None,
        serializer_class=CalendarClosureSerializer,
    )
    def closures(self, request: Request, pk: str | None = None) -> Response:
        calendar = self.get_object()
        if request.method == "GET":
            closures = calendar.closures.order_by("day", "start", "pk")
            return Response(CalendarClosureSerializer(closures, many=True).data)
        serializer = CalendarClosureSerializer(
            data=request.data, context={**self.get_serializer_context(), "calendar": calendar}
        )
        serializer.is_valid(raise_exception=True)
        closure = serializer.save()
        data = CalendarClosureSerializer(closure).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": IcsImportSerializer},
        responses={200: IcsImportedSerializer},
        summary="Close the calendar on the events of an iCalendar (.ics) file.",
        description="All-day events close their local days, timed events their interval; "
        "recurring events are expanded from January two years ago to December in two "
        "years. Importing the same file again changes nothing: each closure keeps its "
        "event's UID and recurrence; a cancelled event removes its closure; with "
        "`replace` the closures of earlier imports that the file no longer holds go too. "
        "A file that is not iCalendar answers 400 on `file`, and nothing is stored.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-ics",
        parser_classes=[MultiPartParser],
        serializer_class=IcsImportSerializer,
        filter_backends=[],
        pagination_class=None,
    )
    def import_ics(self, request: Request, pk: str | None = None) -> Response:
        calendar = self.get_object()
        upload = IcsImportSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        result = services.import_ics(
            calendar=calendar,
            content=upload.validated_data["file"].read(),
            now=timezone.now(),
            replace=upload.validated_data["replace"],
        )
        return Response(result.as_dict())

    @extend_schema(
        parameters=[TimelineQuerySerializer],
        responses=TimelineDaySerializer(many=True),
        summary="The calendar day by day: service hours in local time, or closed and why.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        calendar = self.get_object()
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start = query.validated_data.get("start")
        if start is None:
            start = timezone.now().astimezone(ZoneInfo(calendar.timezone)).date()
        days = calendar_timeline(calendar, start, query.validated_data["weeks"])
        return Response(TimelineDaySerializer(timeline_json(days), many=True).data)


class CalendarClosureViewSet(
    ScopedGenericViewSet, mixins.RetrieveModelMixin, mixins.DestroyModelMixin
):
    """One closure of a calendar: read it, or delete it to open the calendar again. A
    calendar's closures are listed and added under `service-calendars/{id}/closures/`."""

    model = CalendarClosure
    serializer_class = CalendarClosureSerializer

    def perform_destroy(self, instance: models.Model) -> None:
        services.remove_closure(closure=instance)


# --------------------------------------------------------------------------- measurements


class CSVItems(list):
    """Rows of a CSV body as items, with the file line each one started on."""

    lines: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.lines = []


class CSVItemsParser(BaseParser):
    """``text/csv`` whose header names the fields of the items, ``columns`` in any order.

    A missing column reads as empty cells and an extra one is reported per row, exactly
    as an unknown field of a JSON item."""

    media_type = "text/csv"
    columns: ClassVar[str]

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> CSVItems:
        rows = CSVItems()
        if stream is None:
            return rows
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise exceptions.ParseError(gettext("A CSV body must be UTF-8 text.")) from None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [name.strip() for name in next(reader, [])]
            if "contract_service" not in header:
                raise exceptions.ParseError(
                    gettext("The first line must name the columns: %(columns)s.")
                    % {"columns": self.columns}
                )
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                item = {
                    header[i] if i < len(header) else f"column {i + 1}": cell
                    for i, cell in enumerate(row)
                }
                rows.append(item)
                rows.lines.append(reader.line_num)
                if len(rows) > MAX_BATCH:
                    break  # one more than allowed is enough to refuse the batch
        except csv.Error as exc:
            raise exceptions.ParseError(
                gettext("Line %(line)s: %(problem)s") % {"line": reader.line_num, "problem": exc}
            ) from None
        return rows


class MeasurementCSVParser(CSVItemsParser):
    columns = "contract_service,key,observed_at,value,ok"


def batch_rejected(rejected: BatchRejected, data: Any) -> Response:
    """400 naming every bad item, with its line in the file for a CSV body."""
    lines = getattr(data, "lines", None)
    errors = []
    for error in rejected.errors:
        entry = error.as_dict()
        if lines is not None and error.index < len(lines):
            entry["line"] = lines[error.index]
        errors.append(entry)
    return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)


class MeasurementCursorPagination(StrictPageSize, CursorPagination):
    """The large table is paged by position: no ``COUNT(*)``, no deep ``OFFSET``."""

    ordering = ("-observed_at", "-id")
    max_page_size = 1000


@extend_schema_view(
    create=extend_schema(
        request={
            "application/json": serializers.MeasurementBatchSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            201: serializers.MeasurementsCreatedSerializer,
            400: OpenApiResponse(
                serializers.MeasurementsRejectedSerializer,
                "The batch was refused whole: every bad item with its index, field and "
                "reason (and its line, for CSV).",
            ),
        },
        summary="Record one sample or a batch of up to 10,000 (JSON list or CSV).",
    ),
)
class MeasurementViewSet(ScopedViewSet):
    """Samples. Posted whole or refused whole; read back newest first by cursor."""

    model = Measurement
    serializer_class = serializers.MeasurementSerializer
    filterset_class = filters.MeasurementFilter
    pagination_class = MeasurementCursorPagination
    parser_classes = [SafeJSONParser, MeasurementCSVParser]
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data
        items = [data] if isinstance(data, Mapping) else data
        try:
            created = record_measurements(
                items=items, contract_services=ContractService.objects.editable_by(request.user)
            )
        except BatchRejected as rejected:
            return batch_rejected(rejected, data)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- tickets


class TicketCSVParser(CSVItemsParser):
    columns = (
        "contract_service,reference,priority,title,opened_at,first_response_at,resolved_at,events"
    )


TICKETS_CSV = """One row per ticket, the header naming the columns in any order: \
`contract_service,reference,priority,title,opened_at,first_response_at,resolved_at,events`. \
`title`, `first_response_at`, `resolved_at` and `events` may be empty or left out. \
`events` holds the ticket's whole status history, oldest first, as \
`status@date-time` separated by `;`, e.g. \
`open@2026-11-03T10:00:00+01:00;waiting_on_customer@2026-11-03T11:00:00+01:00;\
in_progress@2026-11-03T14:00:00+01:00;resolved@2026-11-03T16:30:00+01:00`. \
An error names the row's `index` (from 0) and its `line` in the file (the header is 1); \
a bad event is named by its position in the cell, e.g. `events[1].at`."""


@extend_schema_view(
    create=extend_schema(
        request={
            "application/json": serializers.TicketBatchSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(
                serializers.TicketsRecordedSerializer,
                "Stored; no ticket of the batch was new to the portal.",
            ),
            201: OpenApiResponse(
                serializers.TicketsRecordedSerializer, "Stored; at least one ticket is new."
            ),
            400: OpenApiResponse(
                serializers.TicketsRejectedSerializer,
                "The batch was refused whole: every bad item with its index, field and "
                "reason (and its line, for CSV).",
            ),
        },
        summary="Record tickets with their status events: one or up to 10,000 (JSON or CSV), "
        "upserted by (contract_service, reference).",
        description="A ticket sent again replaces the stored one, its events included; one "
        "sent exactly as stored counts as `unchanged`. Date-times need a UTC offset and may "
        "not lie in the future. Events are the ticket's full history, oldest first, none "
        "before `opened_at`; the clock stops while a ticket is `waiting_on_customer` and "
        "while it stands `resolved` before a `reopened`.\n\n" + TICKETS_CSV,
    ),
)
class TicketViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Tickets of the contract services and their status events, oldest first. Customers
    read the tickets of their contracts; providers' editors post them."""

    model = Ticket
    serializer_class = serializers.TicketSerializer
    filterset_class = filters.TicketFilter
    parser_classes = [SafeJSONParser, TicketCSVParser]
    list_select_related = ("contract_service",)
    list_prefetch_related = (
        models.Prefetch("events", queryset=TicketEvent.objects.order_by("at", "pk")),
    )

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().order_by("-opened_at", "-pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data
        items = [data] if isinstance(data, Mapping) else data
        try:
            recorded = record_tickets(user=request.user, items=items, now=timezone.now())
        except BatchRejected as rejected:
            return batch_rejected(rejected, data)
        answer = status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK
        return Response(recorded.as_dict(), status=answer)
