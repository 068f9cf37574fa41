"""The API's OpenAPI schema: every operation documents the errors it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from slaportal.api.errors import ErrorSerializer, ValidationErrorSerializer


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
