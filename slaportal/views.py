"""Pages of the portal as a whole (not of one app)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.utils.translation import gettext


class PortalLogoutView(LogoutView):
    """Django's logout, then the login page says that it happened."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # The session is new after logout; the message travels in it.
            messages.success(request, gettext("You are logged out."))
        return response


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which pages outside the layout (the admin's) ask for: the icon
    the layout links to. Resolved per request, as the static storage names it then."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
