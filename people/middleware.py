"""A signed-in person reads pages in the language they chose, whatever their browser asks;
with no choice, the language their browser asks for is kept for e-mails and notifications."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from people.preferences import remember_browser_language, session_language


class ProfileLanguageMiddleware:
    """After ``LocaleMiddleware`` (which takes ``Accept-Language``) and authentication:
    the person's own ``Profile.language``, kept in their session, wins. "As my browser
    asks" leaves the browser's choice, and keeps it on the profile when it changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = session_language(request)
        if language is not None:
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        elif "HTTP_ACCEPT_LANGUAGE" in request.META and request.user.is_authenticated:
            # Only a browser that asks: a client sending no header (a script, a test)
            # would otherwise "ask" for the site's language and undo what was kept.
            remember_browser_language(request, request.LANGUAGE_CODE)  # type: ignore[attr-defined]
        return self.get_response(request)
