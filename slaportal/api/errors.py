"""The API's error format, and the exception handler that gives every error its body.

A 500 is never the answer to bad input: Django validation errors become 400 with a list
of messages per field, protected or immutable rows 409, and every "not found", whether
missing or outside the caller's scope, has exactly one body.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND = "Not found."


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
    """DRF's handler, taught the exceptions that services and the database raise."""
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
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        exc = exceptions.ParseError(
            f"The body is larger than the {limit} MB the API reads at once; "
            "send the items in smaller batches."
        )
    return drf_exception_handler(exc, context)


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not about fields: 401, 403, 404, 405, 409, 415."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """400: a list of messages per field (nested objects for nested fields); a body that
    cannot be parsed answers ``{"detail": …}``."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = "slaportal.api.errors.ValidationErrorSerializer"

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
