"""The one base viewset of the API, its permissions, fields and error format.

Every resource starts from ``Model.objects.visible_to(request.user)``: an object outside
the caller's scope is missing, so it answers 404 with exactly the body of a missing one.
Writes need ``editable_by(user)``; a caller who can see an object but not change it gets
403. Every foreign key of a request body is looked up in the caller's scope, so an
out-of-scope id reads "Invalid pk … object does not exist", like a missing one.

Serializers call the model's ``full_clean()`` (netbox ``ValidatedModelSerializer``), so
``Model.clean()`` speaks for the API exactly as it does for the admin and the forms.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any, ClassVar

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import (
    exceptions,
    mixins,
    pagination,
    parsers,
    serializers,
    status,
    viewsets,
)
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

import engine
from contracts.api.parsers import SafeJSONParser
from contracts.querysets import EDIT_ROLES, is_anonymous

NOT_FOUND = "Not found."

# --------------------------------------------------------------------------- errors


class Conflict(exceptions.APIException):
    """The request is well-formed but the data it would change must stay as it is."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The change conflicts with data that depends on this object."
    default_code = "conflict"


def api_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as the API's per-field body ``{field: [message]}``."""
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


def portal_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, taught the exceptions that services and the database raise.

    A 500 is never the answer to bad input: Django validation errors become 400 per
    field, protected or immutable rows 409, and every "not found" has one body.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(api_errors(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = Conflict()
    elif isinstance(exc, IntegrityError):
        # Only a race past full_clean() or the statement-immutability trigger gets here.
        exc = Conflict("The change conflicts with existing data; reload and try again.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        exc = exceptions.NotFound(NOT_FOUND)
    return drf_exception_handler(exc, context)


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not about fields: 401, 403, 404, 405, 409, 415."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """400: a list of messages per field (nested objects for nested fields); a body that
    cannot be parsed answers ``{"detail": …}``."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = "contracts.api.base.ValidationErrorSerializer"

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        messages = {"type": "array", "items": {"type": "string"}}
        return {
            "type": "object",
            "description": "A list of messages per field; `non_field_errors` for the whole "
            "object; `detail` when the body could not be read at all.",
            "properties": {
                "detail": {"type": "string"},
                api_settings.NON_FIELD_ERRORS_KEY: messages,
            },
            "additionalProperties": {"anyOf": [messages, {"type": "object"}]},
        }


# --------------------------------------------------------------------------- fields


def plain_decimal(value: Decimal) -> str:
    """A decimal as clients read it: no exponent, no trailing zeros ("99.9", "10")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class PlainDecimalField(serializers.DecimalField):
    """A decimal stored with spare places, shown as the number it is: "99.9" not "99.9000"."""

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return plain_decimal(Decimal(value))


class MoneyField(serializers.DecimalField):
    """An amount shown with its currency's minor unit ("300.00", "5000" for JPY)."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        self.currency_getter = attrgetter(currency)
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return (value, self.currency_getter(instance))

    def to_representation(self, data: Any) -> str | None:
        value, currency = data
        if value is None:
            return None
        return format(engine.quantize_money(Decimal(value), currency), "f")


Scope = str | Callable[[Any], models.QuerySet]


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key looked up in the caller's scope: ``"editable"``, ``"visible"`` or a
    function of the user returning a queryset."""

    def __init__(self, *, model: type[models.Model], scope: Scope = "editable", **kwargs: Any):
        self.scoped_model = model
        self.scope = scope
        if not kwargs.get("read_only"):
            # The unscoped queryset only tells the schema generator the target model.
            kwargs.setdefault("queryset", model.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if callable(self.scope):
            return self.scope(user)
        manager = self.scoped_model.objects
        if self.scope == "visible":
            return manager.visible_to(user)
        return manager.editable_by(user)


def writable_providers(user: Any) -> models.QuerySet:
    """The provider organisations the user may create data for (admin or editor)."""
    from contracts.models import Organization
    from contracts.querysets import member_org_ids

    if is_anonymous(user):
        return Organization.objects.none()
    if user.is_staff:
        return Organization.objects.all()
    return Organization.objects.filter(id__in=member_org_ids(user, EDIT_ROLES))


# --------------------------------------------------------------------------- serializers


class ValidatedModelSerializer(serializers.ModelSerializer):
    # Builds the instance, runs full_clean() and saves exactly what was validated.
    # Model-level invariants (clean(), constraints, unique checks) are the model's; this
    # only translates their messages into the API's per-field 400 body. (A comment, not
    # a docstring: the schema would show it as every serializer's description.)

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: PlainDecimalField,
    }

    # Fields a client sets once: the tenant owner of a row never moves.
    immutable_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def user(self) -> Any:
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | models.QuerySet):
            for name in self.immutable_fields:
                if name in fields:
                    fields[name].read_only = True
        return fields

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attrs = super().to_internal_value(data)
        # A misspelt field ("credit_rules") must not be dropped in silence. Read-only
        # fields are known: a client may send back what it read.
        known = {*self.fields, "csrfmiddlewaretoken"}  # the browsable API's forms send it
        unknown = sorted(set(data) - known) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        changed = self._changed_immutable_fields(data)
        if changed:
            raise serializers.ValidationError({name: ["Cannot be changed."] for name in changed})
        return attrs

    def _changed_immutable_fields(self, data: Any) -> list[str]:
        """Immutable fields sent with another value than stored: refused, not ignored."""
        if self.instance is None or not isinstance(data, dict):
            return []
        changed = []
        for name in self.immutable_fields:
            if name not in data:
                continue
            try:
                field = self.instance._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            current = getattr(self.instance, field.attname)
            if str(data[name]) != str(current):
                changed.append(name)
        return changed

    def get_validators(self) -> list:
        # full_clean() checks every unique and check constraint, conditions included.
        return []

    def prepare_instance(self, instance: models.Model) -> None:
        """Hook: derive fields the client may omit, before ``full_clean()``."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        many_to_many = {f.name for f in model._meta.many_to_many}
        instance = self.instance if self.instance is not None else model()
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(instance, name, value)
        self.prepare_instance(instance)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(api_errors(exc)) from None
        self._validated_instance = instance
        return attrs

    def _save_validated(self, validated_data: dict[str, Any]) -> models.Model:
        instance = self._validated_instance
        many_to_many = {f.name for f in self.Meta.model._meta.many_to_many}
        with transaction.atomic():
            instance.save()
            for name in many_to_many & set(validated_data):
                getattr(instance, name).set(validated_data[name])
        return instance

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self._save_validated(validated_data)

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        return self._save_validated(validated_data)


# --------------------------------------------------------------------------- permissions


def edits_for_a_provider(user: Any) -> bool:
    """Whether the user may create provider data: staff, or a provider admin/editor."""
    from contracts.models import Membership, Organization

    if is_anonymous(user):
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user_id=user.pk, role__in=EDIT_ROLES, organization__kind=Organization.Kind.PROVIDER
    ).exists()


def administers_an_organization(user: Any) -> bool:
    from contracts.models import Membership

    if is_anonymous(user):
        return False
    return user.is_staff or Membership.objects.filter(user_id=user.pk, role="admin").exists()


CREATE_POLICIES: dict[str, Callable[[Any], bool]] = {
    "provider_editor": edits_for_a_provider,
    "org_admin": administers_an_organization,
    "staff": lambda user: not is_anonymous(user) and user.is_staff,
    "authenticated": lambda user: not is_anonymous(user),
}


class ScopedWritePermission(BasePermission):
    """Reads: any authenticated user (the queryset does the scoping). Creates: the
    viewset's policy. Changes to one object: ``editable_by`` — checked only after the
    object was found in the visible scope, so outsiders get 404 before they get 403."""

    message = "You do not have permission to change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not hasattr(view, request.method.lower()):
            return True  # the route does not offer the method: 405 for everyone
        if view.lookup_url_kwarg in view.kwargs or view.lookup_field in view.kwargs:
            return True  # decided per object, once it is known to be visible
        return view.can_create(request)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if request.method == "DELETE":
            return view.can_delete(request, obj)
        return view.can_change(request, obj)


# --------------------------------------------------------------------------- schema


class PortalAutoSchema(AutoSchema):
    """Documents the error bodies every operation can answer, next to its success."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors: dict[str, tuple[Any, str]] = {
            "401": (ErrorSerializer, "Not authenticated."),
        }
        has_body = self.method in ("POST", "PUT", "PATCH")
        is_detail = "{" in self.path
        if has_body or self._is_list_view():
            errors["400"] = (ValidationErrorSerializer, "Invalid input: a message per field.")
        if self.method not in ("GET", "HEAD"):
            errors["403"] = (ErrorSerializer, "Visible to the caller but not theirs to change.")
        if is_detail or self.method == "GET":
            errors["404"] = (
                ErrorSerializer,
                "Missing, or outside the caller's scope (the same answer for both).",
            )
        if self.method in ("DELETE", "PUT", "PATCH", "POST"):
            errors["409"] = (ErrorSerializer, "Other data depends on it.")
        if has_body:
            errors["415"] = (ErrorSerializer, "Unsupported media type.")
        for code, (serializer, description) in errors.items():
            if code not in responses:
                response = self._get_response_for_code(serializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses


# --------------------------------------------------------------------------- pagination


class PortalPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


# --------------------------------------------------------------------------- viewsets


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
    parser_classes = [SafeJSONParser, parsers.FormParser, parsers.MultiPartParser]
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
