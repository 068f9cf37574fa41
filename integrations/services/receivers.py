"""Writes of receivers and their alert mappings, and how a delivery proves its receiver."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import uuid
from collections.abc import Mapping

from django.db import transaction

from integrations.models import AlertMapping, Receiver
from integrations.secrets import token_hash

TOKEN_BYTES = 32


def _new_token(receiver: Receiver) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    receiver.token_hash = token_hash(token)
    receiver.token_hint = token[-4:]
    return token


def create_receiver(*, receiver: Receiver) -> tuple[Receiver, str]:
    """Validate and store a new receiver; returns it with its token, shown this once."""
    token = _new_token(receiver)
    with transaction.atomic():
        receiver.full_clean()
        receiver.save()
    return receiver, token


def save_receiver(*, receiver: Receiver) -> Receiver:
    """Validate and store changes to a receiver (its token stays)."""
    with transaction.atomic():
        receiver.full_clean()
        receiver.save()
    return receiver


def rotate_token(*, receiver: Receiver) -> str:
    """Replace a receiver's token: the old one stops working at once."""
    token = _new_token(receiver)
    with transaction.atomic():
        receiver.save(update_fields=["token_hash", "token_hint"])
    return token


def delete_receiver(*, receiver: Receiver) -> None:
    """Delete a receiver with its mappings; the incidents and tickets it recorded stay."""
    with transaction.atomic():
        receiver.delete()


def save_mapping(*, mapping: AlertMapping) -> AlertMapping:
    with transaction.atomic():
        mapping.full_clean()
        mapping.save()
    return mapping


def delete_mapping(*, mapping: AlertMapping) -> None:
    """Delete a mapping; incidents its alerts became stay (an open one stops growing)."""
    with transaction.atomic():
        mapping.delete()


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a delivery carries: ``Authorization: Bearer <token>`` (Alertmanager's
    ``http_config.authorization``), HTTP Basic with the token as password (Zammad), or an
    ``X-SLA-Token`` header (Jira automation)."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, separator, password = decoded.partition(":")
        return password if separator and password else None
    token = headers.get("X-SLA-Token", "").strip()
    return token or None


def authenticate(public_id: str, headers: Mapping[str, str]) -> Receiver | None:
    """The enabled receiver at ``public_id`` if the delivery carries its token, else None
    (a missing receiver and a wrong token are told apart to nobody)."""
    token = presented_token(headers)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    receiver = (
        Receiver.objects.filter(public_id=key, enabled=True)
        .select_related("organization", "acting_user")
        .first()
    )
    if receiver is None or token is None:
        return None
    if not hmac.compare_digest(receiver.token_hash, token_hash(token)):
        return None
    return receiver
