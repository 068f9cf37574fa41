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
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from slaportal.api.middleware import API_PREFIX

NOT_FOUND = "Not found."
SERVER_ERROR = "Server error: the request could not be completed. Try again later."


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
        exc = exceptions.ParseError(_too_big())
    return drf_exception_handler(exc, context)


def _too_big() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return (
        f"The body is larger than the {limit} MB the API reads at once; "
        "send the items in smaller batches."
    )


# Django's own error views (urls.handler400…500) answer what never reached a DRF view: a
# path no route matches, an id that is not a number, a body Django refused before DRF
# read it, an exception outside the views. Under /api/ they answer in the API's shape.


def _api_error(request: HttpRequest, status_code: int, detail: str) -> HttpResponse | None:
    if not request.path.startswith(API_PREFIX):
        return None
    return JsonResponse({"detail": detail}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    detail = _too_big() if isinstance(exception, RequestDataTooBig) else "Bad request."
    return _api_error(request, 400, detail) or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    detail = str(exception) or "You do not have permission to perform this action."
    return _api_error(request, 403, detail) or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_error(request, 404, NOT_FOUND) or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    return _api_error(request, 500, SERVER_ERROR) or defaults.server_error(request)


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not about fields: 401, 403, 404, 405, 409, 415, 500."""

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
