"""The API's OpenAPI schema: every operation documents the errors it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from slaportal.api.errors import ErrorSerializer, ValidationErrorSerializer


class PortalAutoSchema(AutoSchema):
    """Documents the error bodies every operation can answer, next to its success."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        # Any request may be refused before a view reads it (a body too large or that
        # cannot be parsed, a query that is not valid), and any may fail: both answer JSON.
        errors: dict[str, tuple[Any, str]] = {
            "400": (ValidationErrorSerializer, "Invalid input: a message per field."),
            "401": (ErrorSerializer, "Not authenticated."),
        }
        has_body = self.method in ("POST", "PUT", "PATCH")
        is_detail = "{" in self.path
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
        errors["500"] = (ErrorSerializer, "Server error: the request could not be completed.")
        for code, (serializer, description) in errors.items():
            if code not in responses:
                response = self._get_response_for_code(serializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        # A decision sent by PATCH (accept or reject a claim or a dispute) is read whole, not
        # as a partial update: its required fields stay required in the schema.
        if self.method == "PATCH" and getattr(self.view, "patch_reads_whole_body", False):
            self.method = "POST"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        # A batch sent as CSV has no optional fields to leave out: without a body there is
        # nothing to record (the JSON serializer's required fields say so for JSON).
        if body and "text/csv" in body.get("content", {}):
            body["required"] = True
        return body
