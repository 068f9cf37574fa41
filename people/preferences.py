"""The language a person reads the portal in: their own choice (``Profile.language``), else
what their browser asks (``Accept-Language``, read by Django's ``LocaleMiddleware``).

One home for the rule, used wherever a language is chosen for a person: pages
(:class:`slaportal.middleware.ProfileLanguageMiddleware`), e-mails, in-app notifications
and PDFs (``translation.override(language_for(user) or default_language())``).

Pages read the choice from the session (put there at login and when the profile is saved,
:func:`remember_language`), so that choosing a language costs no query per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from contracts.models import Organization
from people.models import Profile

# The session key of the person's own language ("" for "as my browser asks").
SESSION_LANGUAGE = "profile_language"
_SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def default_language() -> str:
    """The language of someone who has not chosen one and has no browser (e-mails to an
    address without an account, Celery tasks): the site's, e.g. ``"en"``."""
    return settings.LANGUAGE_CODE.split("-")[0]


def _supported(code: str | None) -> str | None:
    return code if code in _SUPPORTED else None


def language_for(user: Any) -> str | None:
    """The language ``user`` chose (``"en"``, ``"de"``), or ``None`` when they chose none
    (no profile, "as my browser asks", or an anonymous user): one query at most."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    code = Profile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return _supported(code)


def languages_of(user_ids: Iterable[int]) -> dict[int, str]:
    """The chosen languages of many people in one query, keyed by user id; someone who
    chose none is absent (they read :func:`default_language`)."""
    rows = Profile.objects.filter(user_id__in=set(user_ids)).exclude(language="")
    return {
        user_id: code
        for user_id, code in rows.values_list("user_id", "language")
        if _supported(code)
    }


def remember_language(request: HttpRequest, user: Any) -> None:
    """Keep the person's choice in their session (at login, and when the profile page
    saves it), where :func:`session_language` reads it."""
    if hasattr(request, "session"):
        request.session[SESSION_LANGUAGE] = language_for(user) or ""


def session_language(request: HttpRequest) -> str | None:
    """The signed-in person's own language for this request, ``None`` for "as the browser
    asks". A session from before the choice was kept there is filled once (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return None
    if SESSION_LANGUAGE not in request.session:
        remember_language(request, user)
    return _supported(request.session.get(SESSION_LANGUAGE))


def on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: remember the person's language in the new session."""
    if request is not None:
        remember_language(request, user)


def profile_of(user: Any) -> Profile | None:
    """The person's profile, or ``None`` for an anonymous user or one who never chose."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Profile.objects.filter(user_id=user.pk).first()


def timezone_for(user: Any, organization: Organization | None) -> str:
    """The IANA zone the person reads times in: their own choice (``Profile.timezone``),
    else the zone of the organisation they act for, else UTC. Decided where the session's
    viewer zone is written (``people.timezones``): login, switching, saving preferences."""
    zone = (
        Profile.objects.filter(user_id=user.pk).values_list("timezone", flat=True).first()
        if user is not None and getattr(user, "is_authenticated", False)
        else None
    )
    if zone:
        return zone
    return organization.timezone if organization is not None else "UTC"


def set_reading_choices(*, user: Any, language: str, timezone: str) -> Profile:
    """Keep the person's choices, validated by the caller's form or serializer."""
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        profile.language = language
        profile.timezone = timezone
        profile.full_clean()
        profile.save()
    return profile
