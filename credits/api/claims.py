"""The claims API: customers' claims of outages the provider did not record.

Filing and deciding go through ``credits.services`` (who may, the claim window and its
deadline, the incident and the revision), so the API, the pages and the admin cannot
disagree. Outsiders never find the service or the claim (invalid pk / 404).
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db import models
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.api.filters import by_id
from contracts.models import ContractService
from credits import services
from credits.models import Claim
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.viewsets import ScopedGenericViewSet


class ClaimSerializer(serializers.ModelSerializer):
    contract_service = ScopedPrimaryKeyRelatedField(model=ContractService, scope="visible")
    contract = serializers.IntegerField(source="contract_service.contract_id", read_only=True)
    key = serializers.SlugField(
        max_length=60,
        required=False,
        default="availability",
        help_text="The uptime objective the outage counts against.",
    )
    description = serializers.CharField(max_length=10_000)
    deadline = serializers.SerializerMethodField(
        help_text="The last moment a claim of this period could be filed."
    )
    filed_by = serializers.IntegerField(source="filed_by_id", read_only=True, allow_null=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", read_only=True, allow_null=True)
    incident = serializers.IntegerField(
        source="incident_id",
        read_only=True,
        allow_null=True,
        help_text="The provider incident recorded when the claim was accepted.",
    )
    revisions = serializers.SerializerMethodField(
        help_text="The statements (ids) whose rows cite this claim."
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "contract_service",
            "contract",
            "key",
            "started_at",
            "ended_at",
            "description",
            "period_start",
            "period_end",
            "deadline",
            "status",
            "resolution",
            "incident",
            "filed_by",
            "filed_at",
            "resolved_by",
            "resolved_at",
            "revisions",
        ]
        read_only_fields = [
            "period_start",
            "period_end",
            "status",
            "resolution",
            "filed_at",
            "resolved_at",
        ]

    def get_deadline(self, claim: Claim) -> str:
        return serializers.DateTimeField().to_representation(services.claim_deadline_of(claim))

    def get_revisions(self, claim: Claim) -> list[int]:
        return sorted({row.statement_id for row in claim.adjustments.all()})


class ClaimResolutionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    resolution = serializers.CharField(
        max_length=10_000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed to reject (the reason); a note when accepting.",
    )


class ClaimFilter(filters.FilterSet):
    contract = by_id("contract_service__contract_id")
    contract_service = by_id("contract_service_id")
    status = filters.ChoiceFilter(choices=Claim.Status.choices)
    period_start = filters.DateFilter(help_text="The start of the claim's settlement period.")
    period_start_after = filters.DateFilter(
        field_name="period_start", lookup_expr="gte", help_text="Inclusive."
    )
    period_start_before = filters.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Inclusive."
    )

    class Meta:
        model = Claim
        fields = [
            "contract",
            "contract_service",
            "status",
            "period_start",
            "period_start_after",
            "period_start_before",
        ]


@extend_schema_view(
    create=extend_schema(
        summary="Claim an outage the provider did not record (customer editors), in a closed "
        "period, before the contract's claim deadline."
    ),
    partial_update=extend_schema(
        request=ClaimResolutionSerializer,
        responses=ClaimSerializer,
        summary="Accept (the outage becomes a provider incident and the period is settled "
        "again) or reject with a reason (provider editors).",
    ),
)
class ClaimViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    model = Claim
    serializer_class = ClaimSerializer
    filterset_class = ClaimFilter
    create_policy = "authenticated"
    list_select_related = ("contract_service__contract",)
    list_prefetch_related = ("adjustments",)
    http_method_names = ["get", "post", "patch", "head", "options"]
    patch_reads_whole_body = True  # a decision, not a partial update (PortalAutoSchema)

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().order_by("-filed_at", "-id")

    def can_change(self, request: Request, obj: models.Model) -> bool:
        return True  # visible is enough here: resolve_claim decides who may decide

    def get_serializer_class(self) -> type:
        if self.action == "partial_update":
            return ClaimResolutionSerializer
        return ClaimSerializer

    def _render(self, claim: Claim, code: int) -> Response:
        claim = (
            Claim.objects.select_related("contract_service__contract")
            .prefetch_related("adjustments")
            .get(pk=claim.pk)
        )
        return Response(ClaimSerializer(claim, context=self.get_serializer_context()).data, code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cs = data["contract_service"]
        try:
            claim = services.file_claim(
                contract_service=cs,
                user=request.user,
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                description=data["description"],
                key=data.get("key") or "availability",
            )
        except ContractService.DoesNotExist:
            field = serializer.fields["contract_service"]
            message = field.error_messages["does_not_exist"].format(pk_value=cs.pk)
            raise exceptions.ValidationError({"contract_service": [message]}) from None
        return self._render(claim, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        claim = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            claim = services.resolve_claim(
                claim=claim,
                user=request.user,
                status=serializer.validated_data["status"],
                resolution=serializer.validated_data.get("resolution", ""),
            )
        except Claim.DoesNotExist:
            raise exceptions.NotFound() from None
        return self._render(claim, status.HTTP_200_OK)
