"""Puts the user's unread notification count in every template (the navigation badge)."""

from functools import cache
from typing import Any

from django.http import HttpRequest

from credits.models import Notification


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    """``unread_notifications``: the count, queried only if a template shows it, and once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def count() -> int:
        return Notification.objects.visible_to(user).unread().count()

    return {"unread_notifications": count}
