"""Puts the organisation the person acts for in every template, for the header's switcher."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from people import selectors


def acting_organization(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: read only if a template shows it.
    return {"acting_organization": SimpleLazyObject(lambda: selectors.acting_organization(user))}
