"""Viewsets of the contracts API. Thin: scoping lives in the base viewset and the
querysets, rules in the models and services."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.api import filters, serializers
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
)
from contracts.selectors import effective_service_levels
from contracts.services import (
    MAX_BATCH,
    BatchRejected,
    record_measurements,
    remove_contract_service,
)
from slaportal.api.errors import Conflict
from slaportal.api.parsers import SafeJSONParser
from slaportal.api.viewsets import ScopedViewSet


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
    provider on the affected objectives. Both parties are notified."""

    model = ResponsibilityLapse
    serializer_class = serializers.ResponsibilityLapseSerializer
    filterset_class = filters.ResponsibilityLapseFilter


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


# --------------------------------------------------------------------------- measurements


class MeasurementRows(list):
    """Rows of a CSV body as items, with the file line each one started on."""

    lines: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.lines = []


class MeasurementCSVParser(BaseParser):
    """``text/csv`` with the header ``contract_service,key,observed_at,value,ok``.

    Columns may come in any order; a missing column reads as empty cells and an extra
    one is reported per row, exactly as an unknown field of a JSON item."""

    media_type = "text/csv"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> MeasurementRows:
        rows = MeasurementRows()
        if stream is None:
            return rows
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise exceptions.ParseError("A CSV body must be UTF-8 text.") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [name.strip() for name in next(reader, [])]
            if "contract_service" not in header:
                raise exceptions.ParseError(
                    "The first line must name the columns: contract_service,key,"
                    "observed_at,value,ok."
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
            raise exceptions.ParseError(f"Line {reader.line_num}: {exc}") from None
        return rows


class MeasurementCursorPagination(CursorPagination):
    """The large table is paged by position: no ``COUNT(*)``, no deep ``OFFSET``."""

    ordering = ("-observed_at", "-id")
    page_size_query_param = "page_size"
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
            lines = getattr(data, "lines", None)
            errors = []
            for error in rejected.errors:
                entry = error.as_dict()
                if lines is not None and error.index < len(lines):
                    entry["line"] = lines[error.index]
                errors.append(entry)
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": created}, status=status.HTTP_201_CREATED)
