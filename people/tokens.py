"""The signed link of an invitation: Django's signing framework, not a scheme of our own.

The link carries the invitation's random key, signed with the site's secret and stamped
with the time it was signed. A link that was tampered with, or signed longer ago than an
invitation lives, is refused before the database is asked; the invitation row then
decides the rest (accepted, revoked, expired, for whom).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "people.invitation"


class BadLink(Exception):
    """The link is not one the portal signed, or it is too old to be any invitation's."""


def expiry() -> timedelta:
    return timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def token_for(key: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(key))


def key_of(token: str) -> uuid.UUID:
    """The invitation key the token carries; ``BadLink`` if it is not a valid one."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=expiry())
        return uuid.UUID(value)
    except signing.SignatureExpired:
        raise BadLink("expired") from None
    except (signing.BadSignature, ValueError):
        raise BadLink("invalid") from None
