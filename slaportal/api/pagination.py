"""Pagination of the API's lists: ``{"count", "next", "previous", "results"}`` (SPEC §5)."""

from rest_framework import pagination


class PortalPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
