"""Secrets at rest: Prometheus tokens and passwords are stored encrypted (Fernet,
AES-128-CBC with HMAC-SHA256) and read back only to make a request, never shown.

The key is ``INTEGRATIONS_SECRET_KEY`` (a Fernet key, or any long text, which is hashed
into one); without it, one is derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnavailable(Exception):
    """A stored secret that cannot be read back (the key changed, or its variable is unset)."""


def _fernet() -> Fernet:
    configured = getattr(settings, "INTEGRATIONS_SECRET_KEY", "") or ""
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError:
            pass  # not a Fernet key: any long text is hashed into one below
    material = configured or f"integrations:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable(
            "the stored secret cannot be decrypted (was INTEGRATIONS_SECRET_KEY or "
            "SECRET_KEY changed?); enter it again"
        ) from None


def from_environment(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SecretUnavailable(f"the environment variable {name} is not set")
    return value


def token_hash(token: str) -> str:
    """What is stored of a receiver's token: tokens are long random strings, so one
    round of SHA-256 is enough (no dictionary to guess from)."""
    return hashlib.sha256(token.encode()).hexdigest()
