"""The zone a person reads times in: their own choice (``Profile.timezone``), else their
acting organisation's (``people.preferences.timezone_for``), kept in the session so that
activating it (``slaportal.middleware.ViewerTimezoneMiddleware``) costs no query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from contracts.models import Organization
from people.preferences import timezone_for
from people.selectors import acting_organization

VIEWER_TIMEZONE = "viewer_timezone"


def remember_viewer_timezone(
    request: HttpRequest, organization: Organization | None, user: Any = None
) -> None:
    """Called on login, on switching organisations and on saving one's preferences."""
    request.session[VIEWER_TIMEZONE] = timezone_for(user or request.user, organization)


def on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the person's own zone, else their acting organisation's."""
    if request is not None and hasattr(request, "session"):
        remember_viewer_timezone(request, acting_organization(user), user)
