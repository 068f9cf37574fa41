"""Middleware of the portal as a whole."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp.constants import UNSAFE_INLINE
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class AdminInlineStylesMiddleware:
    """The Django admin (and nested_admin's inlines) set ``style`` attributes the portal's
    CSP refuses, which breaks their widgets and logs a console error per element: under
    ``/admin/`` only, inline styles (never scripts) are allowed. Listed after
    ``CSPMiddleware`` so that its response passes here first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            response._csp_update = {"style-src": [UNSAFE_INLINE]}  # type: ignore[attr-defined]
        return response


class ViewerTimezoneMiddleware:
    """Times are shown in the viewer's zone: the time zone of the organisation the person
    acts for (``Organization.timezone``, kept in the session), UTC without one.
    Templates label each time with its zone (``T``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = _viewer_zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


VIEWER_TIMEZONE = "viewer_timezone"  # people.timezones writes it


def _viewer_zone(request: HttpRequest) -> ZoneInfo | None:
    # Read from the session (already loaded for the user): no query per request. People
    # put it there on login and when they switch organisations (people.timezones).
    session = getattr(request, "session", None)
    name = session.get(VIEWER_TIMEZONE, "") if session is not None else ""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
