"""Where an organisation's webhook may point: the rules shared by saving a URL and
delivering to it.

Delivery resolves the host and checks every address (``credits.notify.webhooks``); saving
checks what the URL itself says (scheme, credentials, a literal address or ``localhost``)
without a DNS lookup, so a target that could never be delivered to is refused with its
reason when it is typed rather than at the first event.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints are never a legitimate webhook, whatever the settings allow.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not reach ``ip`` (``None`` when it may).

    Link-local (cloud metadata), multicast, unspecified and reserved addresses are always
    refused; loopback and private ones only when ``allow_private`` (tests) says so.
    """
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    ip = _embedded_ipv4(ip)
    if ip in _METADATA_ADDRESSES or ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return None if allow_private else "a private address"
    if not ip.is_global:
        return None if allow_private else "an address that is not publicly routable"
    return None


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


def url_refusal(url: str) -> str | None:
    """Why a webhook URL can never be delivered to, judged from the URL alone (``None``
    when it may be saved; delivery still checks what its host resolves to)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"A webhook URL must use http or https, not {scheme or 'no scheme'!r}."
    if parts.username or parts.password:
        return "A webhook URL may not carry credentials (user:password@)."
    host = parts.hostname
    if not host:
        return "A webhook URL needs a host."
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        return "A webhook URL's port is not valid."
    if host == "localhost" or host.endswith(".localhost"):
        # Always resolved locally (RFC 6761), so it is the loopback without asking DNS.
        ip: IPAddress = ipaddress.IPv4Address("127.0.0.1")
    else:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None  # a name: checked against its addresses when delivering
    reason = address_refusal(ip, allow_private=private_targets_allowed())
    return f"A webhook URL may not point to {reason}." if reason else None
