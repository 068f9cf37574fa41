"""Puts the user's organisations and roles in every template, for the navigation bar."""

from typing import Any

from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(user.memberships.select_related("organization"))
    return {"memberships": memberships}
