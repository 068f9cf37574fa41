"""Signed webhooks: where one may go, how it is posted, and how a receiver checks it.

A webhook URL is chosen by an organisation, so the portal must not become a way to reach
its own network: every address the host resolves to is checked (:func:`address_refusal`)
and the connection is pinned to a checked one (:class:`PinnedAdapter`). The body is
signed with the webhook's secret (:func:`sign`); receivers check it with
:func:`verify_signature`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from contracts.webhook_targets import address_refusal, private_targets_allowed
from credits.models import Delivery

SIGNATURE_HEADER = "X-SLA-Signature"
# Bytes of a receiver's answer read (and ignored) to keep its connection alive.
_ANSWER_READ = 64 * 1024
USER_AGENT = "SLA-Portal-Webhook/1"


class DeliveryRefused(Exception):
    """A delivery that must never be attempted (e.g. a private target): no retry."""


def resolve_target(url: str) -> tuple[str, str, int, str]:
    """Check a webhook URL and pick the address to connect to.

    Returns (scheme, host, port, address). Every address the host resolves to is checked,
    and the connection is then pinned to a checked one, so a DNS answer that changes
    between the check and the request (rebinding) cannot redirect it. Raises
    ``DeliveryRefused`` for a target that must never be tried and ``OSError`` when the name
    does not resolve (a transient failure, retried).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DeliveryRefused(f"webhook URL scheme {scheme!r} is not http or https")
    if parts.username or parts.password:
        raise DeliveryRefused("webhook URLs may not carry credentials")
    host = parts.hostname
    if not host:
        raise DeliveryRefused("webhook URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DeliveryRefused("webhook URL has an invalid port") from None
    allow_private = private_targets_allowed()
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OSError(f"{host} did not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = address_refusal(ip, allow_private=allow_private)
        if reason:
            raise DeliveryRefused(f"webhook target {host} resolves to {address}, {reason}")
    return scheme, host, port, addresses[0]


class PinnedAdapter(HTTPAdapter):
    """Connects to one checked address while speaking to (and verifying TLS for) the host."""

    def __init__(self, host: str, address: str) -> None:
        self._host = host
        self._address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self._address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self._host
            pool_kwargs["assert_hostname"] = self._host
        return host_params, pool_kwargs


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are posted and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    """The ``X-SLA-Signature`` value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """For receivers: whether ``header`` is the signature of ``body`` with ``secret``."""
    if not secret or not isinstance(header, str) or not isinstance(body, bytes | bytearray):
        return False
    return hmac.compare_digest(sign(bytes(body), secret).encode(), header.strip().encode())


@contextmanager
def webhook_session() -> Iterator[requests.Session]:
    """A session for many deliveries to one webhook (:func:`send_webhook`'s ``session``):
    its connections stay open between them."""
    with requests.Session() as session:
        # No proxies from the environment: they would bypass the address check.
        session.trust_env = False
        yield session


def _pinned(session: requests.Session, scheme: str, host: str, address: str) -> None:
    """Route the session's requests for ``scheme`` to ``address``, keeping the adapter (and
    its open connections) of an address it already has."""
    adapters = session.__dict__.setdefault("_pinned_adapters", {})
    adapter = adapters.get((host, address))
    if adapter is None:
        adapter = adapters[(host, address)] = PinnedAdapter(host, address)
    session.mount(f"{scheme}://", adapter)


def send_webhook(
    delivery: Delivery,
    session: requests.Session | None = None,
    target: tuple[str, str, int, str] | None = None,
) -> None:
    """Post one webhook delivery, signed, to its pinned address; raise unless it got a 2xx
    (``DeliveryRefused`` when it must not be tried at all). ``session``: one from
    :func:`webhook_session`, shared by the deliveries of a batch to the same webhook;
    ``target``: what :func:`resolve_target` gave for the delivery's URL, checked once for
    them all (else checked here)."""
    webhook = delivery.webhook
    if webhook is None:
        raise DeliveryRefused("the webhook was removed")
    if webhook.url != delivery.recipient or not webhook.secret:
        raise DeliveryRefused("the webhook's URL changed since (or it has no secret)")
    scheme, host, port, address = target or resolve_target(delivery.recipient)
    body = webhook_body(delivery.payload)
    # The connection goes to the pinned address, so the Host header must name the host.
    netloc = f"[{host}]" if ":" in host else host
    host_header = netloc if port == (443 if scheme == "https" else 80) else f"{netloc}:{port}"
    headers = {
        "Content-Type": "application/json",
        "Accept": "*/*",
        "User-Agent": USER_AGENT,
        "Host": host_header,
        SIGNATURE_HEADER: sign(body, webhook.secret),
        "X-SLA-Event": delivery.event,
        "X-SLA-Event-Id": str(delivery.event_id),
    }
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(webhook_session())
        _pinned(session, scheme, host, address)
        # Prepared here and sent as it is: the session's merging of its own headers,
        # cookies and environment (none of which a webhook takes) cost a third of a post.
        request = requests.Request("POST", delivery.recipient, data=body, headers=headers)
        response = session.send(
            request.prepare(),
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        )
        # Only the status matters; a short answer is read to its end so that the
        # connection can serve the next delivery, a longer one is dropped with it.
        response.raw.read(_ANSWER_READ, decode_content=False)
        response.close()
    if not 200 <= response.status_code < 300:
        location = response.headers.get("Location", "")
        detail = f" (redirect to {location[:200]} not followed)" if location else ""
        raise RuntimeError(f"HTTP {response.status_code}{detail}")
