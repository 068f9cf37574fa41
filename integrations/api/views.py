"""Endpoints of the integrations API: receivers, alert mappings, Prometheus sources and
pulls (provider members read, editors write; outsiders get 404), the integrations log,
and OpenSLO import and export."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.models import Contract
from engine.numbers import is_plain_integer
from integrations import services
from integrations.api import serializers
from integrations.models import (
    AlertMapping,
    IntegrationEvent,
    PrometheusPull,
    PrometheusSource,
    Receiver,
)
from integrations.services import openslo
from slaportal.api.errors import portal_exception_handler
from slaportal.api.parsers import SafeJSONParser
from slaportal.api.viewsets import ScopedGenericViewSet, ScopedViewSet


class ReceiverViewSet(ScopedViewSet):
    """Receivers: URLs with their own secret token that Alertmanager or a ticket system
    posts to. The token is in the answer that creates the receiver and in the answer of
    rotate-token, never again."""

    model = Receiver
    serializer_class = serializers.ReceiverSerializer
    list_select_related = ("acting_user",)

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("organization_id", "name", "pk")

    def perform_destroy(self, instance: Receiver) -> None:
        services.delete_receiver(receiver=instance)

    @extend_schema(request=None, responses=serializers.ReceiverSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, pk: str | None = None) -> Response:
        receiver = self.get_object()
        receiver.new_token = services.rotate_token(receiver=receiver)
        return Response(self.get_serializer(receiver).data)


class AlertMappingViewSet(ScopedViewSet):
    """Which alerts (by their labels) count against which contract service's uptime
    objective."""

    model = AlertMapping
    serializer_class = serializers.AlertMappingSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("receiver_id", "pk")

    def perform_destroy(self, instance: AlertMapping) -> None:
        services.delete_mapping(mapping=instance)


class PrometheusSourceViewSet(ScopedViewSet):
    """Prometheus servers; their secret is written, never read back."""

    model = PrometheusSource
    serializer_class = serializers.PrometheusSourceSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("organization_id", "name", "pk")

    def perform_destroy(self, instance: PrometheusSource) -> None:
        services.delete_source(source=instance)


class PrometheusPullViewSet(ScopedViewSet):
    """PromQL queries pulled into objectives' samples, with their progress and last error."""

    model = PrometheusPull
    serializer_class = serializers.PrometheusPullSerializer
    list_select_related = ("source",)

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("source_id", "key", "pk")

    def perform_destroy(self, instance: PrometheusPull) -> None:
        services.delete_pull(pull=instance)


class IntegrationEventViewSet(
    ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin
):
    """What arrived through the integrations, newest first: what it became, or what was
    refused and why (the last 1,000 per organisation)."""

    model = IntegrationEvent
    serializer_class = serializers.IntegrationEventSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-at", "-pk")


class PortalAPIView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]

    def get_exception_handler(self) -> Any:
        return portal_exception_handler


class OpenSLOImportView(PortalAPIView):
    @extend_schema(
        request=serializers.OpenSLOImportSerializer, responses={200: OpenApiTypes.OBJECT}
    )
    def post(self, request: Request) -> Response:
        """Preview (``dry_run``, the default) or import an OpenSLO v1 document. A part
        that cannot be mapped is a 400 naming its path in the document; nothing is
        imported then."""
        serializer = serializers.OpenSLOImportSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if data["dry_run"]:
                plan = openslo.plan_import(
                    provider=data["organization"],
                    contract=data.get("contract"),
                    text=data["document"],
                )
                if plan.errors:
                    raise openslo.OpenSLORefused(plan.errors)
            else:
                plan = openslo.import_document(
                    provider=data["organization"],
                    contract=data.get("contract"),
                    text=data["document"],
                    now=timezone.now(),
                )
        except openslo.OpenSLORefused as refused:
            return Response(
                {"errors": [p.as_dict() for p in refused.problems]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        answer = plan.as_dict()
        answer["imported"] = not data["dry_run"]
        return Response(answer)


class OpenSLOExportView(PortalAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("contract", int, required=True)],
        responses={(200, "application/yaml"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse | Response:
        """A contract's effective objectives as OpenSLO v1 YAML (either party may export)."""
        raw = request.query_params.get("contract", "")
        if not is_plain_integer(raw):
            return Response(
                {"contract": ["A contract id in digits 0-9 is required."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        contract = get_object_or_404(Contract.objects.visible_to(request.user), pk=int(raw))
        return HttpResponse(
            openslo.export_contract(contract), content_type="application/yaml; charset=utf-8"
        )
