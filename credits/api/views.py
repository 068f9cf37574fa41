"""Viewsets of the credits API: statements (read-only), settling a contract's period by
hand, disputes and notifications."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page
from django.db import connections, models
from django.db.models import Count, Window
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.models import Contract
from credits import selectors, services, settlement
from credits.api import filters, serializers
from credits.api.serializers import SettleSerializer
from credits.models import Dispute, Notification, Statement, StatementDocument, StatementLine
from credits.selectors.statement_changes import comparable_lines, statement_changes
from slaportal.api.filtering import PortalFilterBackend
from slaportal.api.pagination import PortalPagination
from slaportal.api.viewsets import ScopedGenericViewSet

BIGINT_MAX = 2**63 - 1


class StatementPagination(PortalPagination):
    """Page numbers as everywhere, the count read with the page in one query."""

    def paginate_documents(
        self, queryset: models.QuerySet, request: Request
    ) -> list[tuple[int, str | None]]:
        """``(statement id, stored document as JSON text or None)`` for the requested
        page; sets up ``self.page`` for the links exactly as ``paginate_queryset`` does."""
        self.request = request
        page_size = self.get_page_size(request)
        number = request.query_params.get(self.page_query_param) or 1
        if number in self.last_page_strings:
            # Where the last page starts depends on the count: the one case that reads it first.
            number = self.django_paginator_class(queryset, page_size).num_pages
        try:
            number = int(number)
            if number < 1:
                raise ValueError(number)
        except (TypeError, ValueError):
            raise exceptions.NotFound(self.invalid_page_message) from None
        offset = (number - 1) * page_size
        if offset + page_size > BIGINT_MAX:
            # Past any possible row, and beyond what PostgreSQL's OFFSET accepts.
            raise exceptions.NotFound(self.invalid_page_message)
        rows = self._page_rows(queryset, offset, page_size)
        if not rows and number > 1:
            raise exceptions.NotFound(self.invalid_page_message)
        paginator = self.django_paginator_class(queryset, page_size)
        paginator.count = rows[0][1] if rows else 0  # read with the page: no COUNT query
        self.page = Page(rows, number, paginator)
        return [(pk, text) for pk, _, text in rows]

    @staticmethod
    def _page_rows(
        queryset: models.QuerySet, offset: int, limit: int
    ) -> list[tuple[int, int, str | None]]:
        """``(id, count of the whole set, document text)`` of the page's statements.

        COUNT(*) OVER () counts the scoped, filtered statements in the query that finds
        the page (no second query). The documents are joined outside the LIMIT, so only
        the page's own are read (not those skipped by OFFSET). Raw SQL: the ORM cannot
        join a sliced subquery.
        """
        ordering = queryset.query.order_by
        keys = [name.lstrip("-") for name in ordering]
        page = queryset.annotate(total=Window(Count("*"))).values_list(
            *dict.fromkeys([*keys, "id", "total"])
        )[offset : offset + limit]
        try:
            page_sql, params = page.query.sql_with_params()
        except EmptyResultSet:
            # A condition that can match nothing (none(), an empty IN from a filter): the
            # ORM would answer without a query, and so does this.
            return []
        quote = connections[queryset.db].ops.quote_name
        order = ", ".join(
            f"page.{quote(key)}{' DESC' if name.startswith('-') else ''}"
            for key, name in zip(keys, ordering, strict=True)
        )
        sql = (
            f"SELECT page.id, page.total, document.body FROM ({page_sql}) AS page "
            f"LEFT JOIN {quote(StatementDocument._meta.db_table)} AS document "
            f"ON document.statement_id = page.id ORDER BY {order}"
        )
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def paginated_json(self, documents: list[str]) -> HttpResponse:
        """The page as ``get_paginated_response`` renders it, documents spliced in as text."""
        head = json.dumps(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        body = f'{head[:-1]},"results":[{",".join(documents)}]}}'
        return HttpResponse(body.encode(), content_type=JSONRenderer.media_type)


class StatementFilterBackend(PortalFilterBackend):
    """django-filter, skipped when the query names none of the filters: every filter
    ignores an absent value, so building and validating the form would change nothing."""

    def filter_queryset(
        self, request: Request, queryset: models.QuerySet, view: Any
    ) -> models.QuerySet:
        names = view.filterset_class.base_filters
        if not any(name in names for name in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Issued statements with their lines. Never changed: a correction is a new revision."""

    model = Statement
    serializer_class = serializers.StatementSerializer
    filterset_class = filters.StatementFilter
    filter_backends = [StatementFilterBackend]
    pagination_class = StatementPagination
    list_select_related = ("document",)
    # The id breaks ties between contracts' statements of one period, so that pages
    # neither repeat nor skip a statement.
    list_ordering = ("-period_start", "-revision", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        statements = self.filter_queryset(self.get_queryset()).order_by(*self.list_ordering)
        if not self._renders_plain_json(request):
            page = self.paginate_queryset(statements)
            documents = [json.loads(text) for text in statement_documents(page)]
            return self.get_paginated_response(documents)
        rows = self.paginator.paginate_documents(statements, request)
        missing = [pk for pk, text in rows if text is None]
        if missing:
            unread = list(self.get_queryset().filter(pk__in=missing))
            texts = statement_documents(unread)
            fresh = {statement.pk: text for statement, text in zip(unread, texts, strict=True)}
            rows = [(pk, fresh[pk] if text is None else text) for pk, text in rows]
        return self.paginator.paginated_json([text for _, text in rows])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        (text,) = statement_documents([self.get_object()])
        if self._renders_plain_json(request):
            return HttpResponse(text.encode(), content_type=JSONRenderer.media_type)
        return Response(json.loads(text))

    @extend_schema(
        responses=serializers.StatementTotalsSerializer(many=True),
        summary="The totals of the filtered statements per currency, over every page: how "
        "many, breached, with an open dispute, and the payable credit (the statement list's "
        "totals row).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def totals(self, request: Request) -> Response:
        statements = self.filter_queryset(self.get_queryset())
        totals = selectors.statement_totals(statements)
        return Response(serializers.StatementTotalsSerializer(totals, many=True).data)

    @extend_schema(
        responses={200: serializers.StatementDiffSerializer},
        summary="What changed since the previous revision, line by line.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def diff(self, request: Request, pk: str | None = None) -> Response:
        statement = self.get_object()
        changes = statement_changes(
            statement,
            comparable_lines(statement),
            selectors.statement_revisions(statement),
            selectors.statement_adjustments(statement),
        )
        return Response(serializers.StatementDiffSerializer(changes).data)

    @staticmethod
    def _renders_plain_json(request: Request) -> bool:
        # The browsable API and ?indent= ask for DRF's own rendering.
        renderer = request.accepted_renderer
        return type(renderer) is JSONRenderer and "indent" not in request.accepted_media_type


def statement_documents(statements: list[Statement]) -> list[str]:
    """The API's JSON text of these statements: stored ones as they are, the others
    rendered now (with their lines, in one query) and stored for the next read."""
    rendered: dict[int, str] = {}
    missing = [s for s in statements if not _has_document(s)]
    if missing:
        models.prefetch_related_objects(missing, "lines", "adjustments")
        # DRF's JSONRenderer, so that a stored text reads as the rendered response did.
        renderer = JSONRenderer()
        rendered = {
            s.pk: renderer.render(serializers.StatementSerializer(s).data).decode() for s in missing
        }
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


class ContractSettlementViewSet(ScopedGenericViewSet):
    # Settling by hand, routed beside the contract it settles: POST
    # /contracts/{id}/settle/ (the contracts API leaves settlement to this app).

    model = Contract

    @extend_schema(
        request=SettleSerializer,
        responses={
            201: OpenApiResponse(serializers.StatementSerializer, "A new statement was issued."),
            200: OpenApiResponse(serializers.StatementSerializer, "Nothing changed: the latest."),
        },
        summary="Settle a closed period now (provider editors).",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def settle(self, request: Request, pk: str | None = None) -> Response:
        contract = self.get_object()
        params = SettleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            result = settlement.settle_period(
                contract=contract, period_start=params.validated_data["period_start"]
            )
        except settlement.SettlementError as exc:
            raise exceptions.ValidationError({"period_start": [str(exc)]}) from None
        statement = (
            Statement.objects.select_related("contract")
            .prefetch_related("lines", "adjustments")
            .get(pk=result.statement.pk)
        )
        body = serializers.StatementSerializer(
            statement, context=self.get_serializer_context()
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


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
    patch_reads_whole_body = True  # a decision, not a partial update (PortalAutoSchema)
    list_prefetch_related = ("adjustments",)
    http_method_names = ["get", "post", "patch", "head", "options"]

    def can_change(self, request: Request, obj: models.Model) -> bool:
        return True  # visible is enough here: resolve_dispute decides who may resolve

    def get_serializer_class(self) -> type:
        if self.action == "partial_update":
            return serializers.DisputeResolutionSerializer
        return serializers.DisputeSerializer

    def _render(self, dispute: Dispute, code: int) -> Response:
        dispute = (
            Dispute.objects.select_related("line__statement")
            .prefetch_related("adjustments")
            .get(pk=dispute.pk)
        )
        body = serializers.DisputeSerializer(dispute, context=self.get_serializer_context()).data
        return Response(body, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = serializer.validated_data["line"]
        try:
            dispute = services.open_dispute(
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
            dispute = services.resolve_dispute(
                dispute=dispute,
                user=request.user,
                status=serializer.validated_data["status"],
                resolution=serializer.validated_data["resolution"],
                remedy=serializer.validated_data.get("remedy") or "",
                adjustment_amount=serializer.validated_data.get("adjustment_amount"),
            )
        except (Dispute.DoesNotExist, StatementLine.DoesNotExist):
            raise exceptions.NotFound() from None
        return self._render(dispute, status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses=serializers.DisputeSerializer,
        summary="Reopen a rejected dispute (provider editors): the same line's dispute is "
        "open again, and both parties are told.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        dispute = self.get_object()
        try:
            dispute = services.reopen_dispute(dispute=dispute, user=request.user)
        except Dispute.DoesNotExist:
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
        read = serializer.validated_data.get("read")
        if read is not None:
            services.mark_notification(notification=serializer.instance, read=read)

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
        updated = services.mark_notifications_read(
            user=request.user, ids=params.validated_data.get("ids")
        )
        return Response({"updated": updated})
