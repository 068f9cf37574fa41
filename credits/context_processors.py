"""Puts the user's unread notification count in every template (the navigation badge)."""

from typing import Any

from django.http import HttpRequest

from credits.models import Notification


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: the count query runs only if a template shows it.
    return {"unread_notifications": lambda: Notification.objects.visible_to(user).unread().count()}
