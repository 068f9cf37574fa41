"""The errors the engine raises for a parameter it cannot accept.

Each names the ``field`` it is about, so the API and the forms can show the message beside
that field: :class:`RuleError` for a credit rule's parameters, :class:`ObjectiveError` for
an objective's.
"""

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
