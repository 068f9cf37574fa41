"""Where the portal may send its own requests (Prometheus pulls): the address rules of
outgoing webhooks, with private and loopback addresses allowed only when the operator
says so (``PROMETHEUS_ALLOW_PRIVATE_TARGETS``)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from contracts.webhook_targets import address_refusal


def private_allowed() -> bool:
    return bool(getattr(settings, "PROMETHEUS_ALLOW_PRIVATE_TARGETS", False))


def base_url_refusal(url: str) -> str | None:
    """Why the portal may not ask ``url`` (its literal address), or None."""
    host = urlsplit(url).hostname or ""
    if not host:
        return "A Prometheus address needs a host."
    if urlsplit(url).username or urlsplit(url).password:
        return "Give credentials as the source's authentication, not in the address."
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    reason = address_refusal(ip, allow_private=private_allowed())
    return (
        f"The portal may not ask {reason} (PROMETHEUS_ALLOW_PRIVATE_TARGETS allows private "
        "and loopback addresses)."
        if reason
        else None
    )
