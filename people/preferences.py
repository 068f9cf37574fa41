"""The language a person reads the portal in: their own choice (``Profile.language``), else
what their browser asks (``Accept-Language``, read by Django's ``LocaleMiddleware``).

One home for the rule, used wherever a language is chosen for a person: pages
(:class:`people.middleware.ProfileLanguageMiddleware`), e-mails, in-app notifications
and PDFs (``translation.override(language_for(user) or default_language())``). What is
sent without a request (e-mails, notifications) follows the browser's language as last
seen (``Profile.browser_language``, :func:`remember_browser_language`), else the site's.

Pages read the choice, and the browser language last kept, from the session (put there at
login and when the profile is saved, :func:`remember_language`), so that choosing a
language costs no query per request and keeping the browser's one query per change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpRequest

from contracts.models import Organization
from people.models import Profile

# The session key of the person's own language ("" for "as my browser asks").
SESSION_LANGUAGE = "profile_language"
# The session key of the browser language kept on the profile ("" for none yet).
SESSION_BROWSER_LANGUAGE = "profile_browser_language"
_SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def default_language() -> str:
    """The language of someone who has not chosen one and has no browser (e-mails to an
    address without an account, Celery tasks): the site's, e.g. ``"en"``."""
    return settings.LANGUAGE_CODE.split("-")[0]


def _supported(code: str | None) -> str | None:
    return code if code in _SUPPORTED else None


def reading_language(profile: str = "") -> Combinable:
    """The rule of :func:`language_for` as an expression over the profile at ``profile``
    (e.g. ``"user__profile__"``): the own choice, else the browser's kept; NULL for neither."""
    return Coalesce(
        NullIf(F(f"{profile}language"), Value("")),
        NullIf(F(f"{profile}browser_language"), Value("")),
    )


def _languages(user: Any) -> tuple[str, str]:
    """The person's own choice and the browser language kept, ``""`` for none: one query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "", ""
    row = (
        Profile.objects.filter(user_id=user.pk).values_list("language", "browser_language").first()
    )
    return row or ("", "")


def language_for(user: Any) -> str | None:
    """The language ``user`` reads (``"en"``, ``"de"``): the one they chose, else the one
    their browser last asked for; ``None`` for neither (no profile, no browser seen yet, or
    an anonymous user): one query at most."""
    own, browser = _languages(user)
    return _supported(own) or _supported(browser)


def languages_of(user_ids: Iterable[int]) -> dict[int, str]:
    """The languages of many people (as :func:`language_for`) in one query, keyed by user
    id; someone with neither is absent (they read :func:`default_language`)."""
    rows = (
        Profile.objects.filter(user_id__in=set(user_ids))
        .annotate(reading=reading_language())
        .exclude(reading=None)
    )
    return {
        user_id: code
        for user_id, code in rows.values_list("user_id", "reading")
        if _supported(code)
    }


def remember_language(request: HttpRequest, user: Any) -> None:
    """Keep the person's choice, and the browser language kept for them, in their session
    (at login, and when the profile page saves it), where :func:`session_language` and
    :func:`remember_browser_language` read them."""
    if hasattr(request, "session"):
        own, browser = _languages(user)
        request.session[SESSION_LANGUAGE] = _supported(own) or ""
        request.session[SESSION_BROWSER_LANGUAGE] = browser


def remember_browser_language(request: HttpRequest, code: str) -> None:
    """Keep ``code``, the language the browser of the signed-in person asks for, on their
    profile when it is not the one kept already (read from the session that
    :func:`session_language` has filled): one update per change, none per request."""
    if _supported(code) is None or request.session.get(SESSION_BROWSER_LANGUAGE, "") == code:
        return
    user_id = request.user.pk  # type: ignore[union-attr]
    if not Profile.objects.filter(user_id=user_id).update(browser_language=code):
        # A person who never saved a choice has no profile yet; a profile made meanwhile
        # (the preferences page in another tab) keeps its choices and takes the language.
        profile, created = Profile.objects.get_or_create(
            user_id=user_id, defaults={"browser_language": code}
        )
        if not created:
            Profile.objects.filter(pk=profile.pk).update(browser_language=code)
    request.session[SESSION_BROWSER_LANGUAGE] = code


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


def reading_zone(profile: str = "", organization: str = "") -> Combinable:
    """The rule of :func:`timezone_for` as an expression over the profile at ``profile`` and
    the organisation at ``organization`` (e.g. ``"user__profile__"``, ``"organization__"``):
    the own zone, else the organisation's (a left join: no profile, the organisation's)."""
    return Coalesce(
        NullIf(F(f"{profile}timezone"), Value("")),
        F(f"{organization}timezone"),
    )


def set_reading_choices(*, user: Any, language: str, timezone: str) -> Profile:
    """Keep the person's choices, validated by the caller's form or serializer."""
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        profile.language = language
        profile.timezone = timezone
        profile.full_clean()
        profile.save()
    return profile
