"""Pagination of the API's lists: ``{"count", "next", "previous", "results"}`` (SPEC §5)."""

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from engine.numbers import is_plain_integer


class StrictPageSize:
    """A ``page_size`` outside 1 to ``max_page_size`` is a 400 naming it, documented with
    those bounds; for the page-number and the cursor lists."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        # DRF ignores a page size it cannot read (and clips a large one): a client asking
        # for 1000 rows would silently get another number than it asked for.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_plain_integer(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"]["minimum"] = 1
        return parameters


class PortalPagination(StrictPageSize, pagination.PageNumberPagination):
    """Numbered pages of up to 500 rows."""
