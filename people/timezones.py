"""The zone a person reads times in: their acting organisation's, kept in the session so
that activating it (``slaportal.middleware.ViewerTimezoneMiddleware``) costs no query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from contracts.models import Organization
from people.selectors import acting_organization

VIEWER_TIMEZONE = "viewer_timezone"


def remember_viewer_timezone(request: HttpRequest, organization: Organization | None) -> None:
    request.session[VIEWER_TIMEZONE] = organization.timezone if organization else "UTC"


def on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the zone of the organisation the person acts for."""
    if request is not None and hasattr(request, "session"):
        remember_viewer_timezone(request, acting_organization(user))
