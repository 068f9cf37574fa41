"""Viewsets of the credits API: statements (read-only), disputes and notifications."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.api.base import ScopedGenericViewSet
from credits.api import filters, serializers
from credits.models import Dispute, Notification, Statement, StatementDocument, StatementLine


class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Issued statements with their lines. Never changed: a correction is a new revision."""

    model = Statement
    serializer_class = serializers.StatementSerializer
    filterset_class = filters.StatementFilter
    list_select_related = ("document",)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(statement_documents(page))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(statement_documents([self.get_object()])[0])


def statement_documents(statements: list[Statement]) -> list[dict[str, Any]]:
    """The API documents of these statements: stored ones as they are, the others rendered
    now (with their lines, in one query) and stored for the next read."""
    rendered: dict[int, dict[str, Any]] = {}
    missing = [s for s in statements if not _has_document(s)]
    if missing:
        models.prefetch_related_objects(missing, "lines")
        rendered = {s.pk: serializers.StatementSerializer(s).data for s in missing}
        # Two readers rendering the same statement store the same document: either wins.
        StatementDocument.objects.bulk_create(
            [StatementDocument(statement_id=pk, body=body) for pk, body in rendered.items()],
            ignore_conflicts=True,
        )
    # Not rendered.get(): a statement rendered just now has no document loaded.
    return [rendered[s.pk] if s.pk in rendered else s.document.body for s in statements]  # noqa: SIM401


def _has_document(statement: Statement) -> bool:
    try:
        statement.document  # noqa: B018 - loaded by select_related; raises when absent
    except StatementDocument.DoesNotExist:
        return False
    return True


def _credit_services() -> Any:
    # Written alongside the API; imported when used so that the API loads without it.
    from credits import services

    return services


@extend_schema_view(
    partial_update=extend_schema(
        request=serializers.DisputeResolutionSerializer,
        responses=serializers.DisputeSerializer,
        summary="Accept or reject a dispute (provider editors).",
    ),
    create=extend_schema(summary="Dispute a statement line (the customer)."),
)
class DisputeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    """Disputes of statement lines. Who may open or resolve one is the service's rule;
    outsiders never find the line or the dispute (404 / invalid pk)."""

    model = Dispute
    serializer_class = serializers.DisputeSerializer
    filterset_class = filters.DisputeFilter
    create_policy = "authenticated"
    list_select_related = ("line__statement",)
    http_method_names = ["get", "post", "patch", "head", "options"]

    def can_change(self, request: Request, obj: models.Model) -> bool:
        return True  # visible is enough here: resolve_dispute decides who may resolve

    def get_serializer_class(self) -> type:
        if self.action == "partial_update":
            return serializers.DisputeResolutionSerializer
        return serializers.DisputeSerializer

    def _render(self, dispute: Dispute, code: int) -> Response:
        dispute = Dispute.objects.select_related("line__statement").get(pk=dispute.pk)
        body = serializers.DisputeSerializer(dispute, context=self.get_serializer_context()).data
        return Response(body, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = serializer.validated_data["line"]
        try:
            dispute = _credit_services().open_dispute(
                line=line, user=request.user, reason=serializer.validated_data["reason"]
            )
        except StatementLine.DoesNotExist:
            # The same words as any out-of-scope foreign key.
            field = serializer.fields["line"]
            message = field.error_messages["does_not_exist"].format(pk_value=line.pk)
            raise exceptions.ValidationError({"line": [message]}) from None
        return self._render(dispute, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dispute = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            dispute = _credit_services().resolve_dispute(
                dispute=dispute,
                user=request.user,
                status=serializer.validated_data["status"],
                resolution=serializer.validated_data["resolution"],
            )
        except (Dispute.DoesNotExist, StatementLine.DoesNotExist):
            raise exceptions.NotFound() from None
        return self._render(dispute, status.HTTP_200_OK)


class NotificationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    """The caller's own notifications (operators' too: nobody reads another's inbox)."""

    model = Notification
    serializer_class = serializers.NotificationSerializer
    filterset_class = filters.NotificationFilter
    create_policy = "authenticated"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def can_change(self, request: Request, obj: models.Model) -> bool:
        return True  # the queryset holds only the caller's own

    def perform_update(self, serializer: serializers.NotificationSerializer) -> None:
        notification = serializer.instance
        read = serializer.validated_data.get("read")
        if read is True and notification.read_at is None:
            notification.read_at = timezone.now()
        elif read is False:
            notification.read_at = None
        notification.save(update_fields=["read_at"])

    @extend_schema(
        request=serializers.MarkReadSerializer,
        responses=serializers.MarkedReadSerializer,
        summary="Mark the caller's notifications read (the given ids, or all).",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="mark-read",
        filter_backends=[],
        pagination_class=None,
    )
    def mark_read(self, request: Request) -> Response:
        params = serializers.MarkReadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        updated = _credit_services().mark_notifications_read(
            user=request.user, ids=params.validated_data.get("ids")
        )
        return Response({"updated": updated})
