"""Puts the user's organisations and roles in every template, for the navigation bar."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def read() -> list[Any]:
        return list(user.memberships.select_related("organization"))

    # Lazy: read only if a template shows it, and not at all when the view already did.
    return {"memberships": SimpleLazyObject(read)}
