"""Errors the engine raises for parameters it cannot accept; every message names the field."""

from __future__ import annotations


class ParameterError(ValueError):
    """A parameter is invalid; ``field`` names it so an interface can show the message
    beside that field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RuleError(ParameterError):
    """A credit rule parameter is invalid (``field``: ``step``, ``tiers``, ``kind``, ...)."""


class ObjectiveError(ParameterError):
    """An objective parameter is invalid (``field``: ``target``, ``indicator``, ...)."""
