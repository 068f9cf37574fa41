"""Request parsers. Kept apart from the viewsets: DRF's settings import parsers while its
views module is still loading, so this module must not import views or generics."""

from typing import Any

from rest_framework import exceptions, parsers


class SafeJSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing nesting too deep for Python's decoder (which
    raises ``RecursionError``, not ``ValueError``, and would otherwise be a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None
