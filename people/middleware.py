"""A signed-in person reads pages in the language they chose, whatever their browser asks."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from people.preferences import session_language


class ProfileLanguageMiddleware:
    """After ``LocaleMiddleware`` (which takes ``Accept-Language``) and authentication:
    the person's own ``Profile.language``, kept in their session, wins. "As my browser
    asks" leaves the browser's choice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = session_language(request)
        if language is not None:
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return self.get_response(request)
