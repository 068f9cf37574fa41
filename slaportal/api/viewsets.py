"""The one base viewset of the API.

Every resource starts from ``Model.objects.visible_to(request.user)``: an object outside
the caller's scope is missing, so it answers 404 with exactly the body of a missing one.
Writes need ``editable_by(user)``; a caller who can see an object but not change it gets
403. Writes run in a transaction; a row other data depends on answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from slaportal.api.errors import Conflict, portal_exception_handler
from slaportal.api.pagination import PortalPagination
from slaportal.api.parsers import SafeJSONParser
from slaportal.api.permissions import CREATE_POLICIES, ScopedWritePermission
from slaportal.api.schema import PortalAutoSchema


class ScopedGenericViewSet(viewsets.GenericViewSet):
    # The one base viewset: reads from visible_to(), writes only on editable_by().
    # ScopedViewSet adds the usual create/read/update/delete actions; read-only or partly
    # writable resources mix in what they offer. (Comments, not docstrings: the schema
    # would show them as the description of every resource.)

    model: ClassVar[type[models.Model]]
    create_policy: ClassVar[str] = "provider_editor"
    list_select_related: ClassVar[tuple[str, ...]] = ()
    list_prefetch_related: ClassVar[tuple[Any, ...]] = ()
    protected_message: ClassVar[str] = "Other data depends on this object; it cannot be deleted."

    permission_classes = [IsAuthenticated, ScopedWritePermission]
    # JSON only: a form or multipart body would be read as no fields at all, and a PATCH
    # of nothing answered 200 (an upload action names its own parser).
    parser_classes = [SafeJSONParser]
    pagination_class = PortalPagination
    schema = PortalAutoSchema()

    def get_queryset(self) -> models.QuerySet:
        queryset = self.model.objects.visible_to(self.request.user)
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        return queryset

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return portal_exception_handler

    # The permission class asks these; subclasses narrow them.
    def can_create(self, request: Request) -> bool:
        return CREATE_POLICIES[self.create_policy](request.user)

    def can_change(self, request: Request, obj: models.Model) -> bool:
        user = request.user
        if user.is_staff:
            return True
        return self.model.objects.editable_by(user).filter(pk=obj.pk).exists()

    def can_delete(self, request: Request, obj: models.Model) -> bool:
        return self.can_change(request, obj)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with transaction.atomic():
            serializer.save()

    def perform_destroy(self, instance: models.Model) -> None:
        try:
            with transaction.atomic():
                instance.delete()
        except (ProtectedError, RestrictedError):
            raise Conflict(self.protected_message) from None


class ScopedViewSet(
    # The base first, so that its atomic perform_* hooks win over DRF's mixins.
    ScopedGenericViewSet,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
):
    pass  # a fully writable resource, for those allowed to write
