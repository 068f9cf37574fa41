"""E-mails of a batch that share their content: the MIME body built and written once.

An event's e-mail to one organisation (in one language) is the same payload for every
member it goes to; only the headers ``To``, ``Date`` and ``Message-ID`` differ. Building
and writing a multipart message with Python's ``email`` package (parts, charsets, the
boundary's search, header folding) costs milliseconds, most of an e-mail's cost in a
batch, so a :class:`SharedBodies` builds each payload's message once, as Django builds any
(``EmailMultiAlternatives.message()``), writes its body once per line ending, and gives
every further recipient the same bytes after headers of their own, written as the
``email`` generator writes them. Each recipient still gets a message of their own.

Payloads are many too (one per event, organisation and reading), and the package's work for
a message is ~0.2 ms however short its parts: a payload of a shape the worker has met before
is written from a :class:`_Skeleton` the package built once for that shape.
"""

from __future__ import annotations

import functools
import secrets
import sys
from collections.abc import Callable
from email.generator import NLCRE
from email.message import Message
from email.policy import Compat32
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    DNS_NAME,
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    forbid_multi_line_headers,
)


class _Written:
    """A payload's message as written: its top-level headers in order and its body (each
    line ending's written once)."""

    def __init__(
        self,
        items: list[tuple[str, Any]],
        policy: Compat32,
        encoding: str,
        write_body: Callable[[str], bytes],
    ) -> None:
        self.items = items
        self.policy = policy
        self.encoding = encoding
        self._write_body = write_body
        self._bodies: dict[str, bytes] = {}
        self._headers: dict[tuple[str, str], bytes] = {}
        self._folds: dict[str, Any] = {}

    @classmethod
    def of(cls, mime: Any, encoding: str) -> _Written:
        """The message the email package built (Django's ``message()``), as it writes it."""
        for part in mime.walk():
            part.policy = _QUICK_FOLDING
        if mime.is_multipart() and mime.get_boundary() is None:
            mime.set_boundary(_boundary([part.get_payload() for part in mime.walk()]))

        def write_body(linesep: str) -> bytes:
            raw = mime.as_bytes(linesep=linesep)
            return raw[raw.index((linesep * 2).encode()) + len(linesep) :]

        written = cls([], mime.policy, encoding, write_body)
        # Written at once as SMTP sends it, before the headers are read: that fixes anything
        # the generator still settles while writing.
        written.body("\r\n")
        written.items = list(mime.raw_items())
        return written

    def body(self, linesep: str) -> bytes:
        """Everything after the headers (the blank line included), for ``linesep``."""
        if linesep not in self._bodies:
            self._bodies[linesep] = self._write_body(linesep)
        return self._bodies[linesep]

    def headers(self, own: dict[str, Any], linesep: str) -> bytes:
        """The headers in the payload's order, the recipient's own in their places, each
        written as the email package's BytesGenerator writes it (Django's as_bytes)."""
        if linesep not in self._folds:
            self._folds[linesep] = self.policy.clone(linesep=linesep).fold_binary
        fold = self._folds[linesep]
        written = []
        for name, value in self.items:
            if name.lower() in own:
                written.append(fold(name, own[name.lower()]))
                continue
            key = (name, linesep)
            if key not in self._headers:
                self._headers[key] = fold(name, value)
            written.append(self._headers[key])
        return b"".join(written)


class _Skeleton:
    """A message of one shape (sender, header names, whether each part is plain ASCII),
    built and written once by the email package with stand-ins for everything else; a
    payload of that shape is then its headers with the payload's values and its body with
    the payload's parts in place of the stand-ins. The package's own work for a message
    costs ~0.2 ms however short the parts, and each organisation's copy of each event's
    e-mail is a payload of its own: 40,000 at 20,000 statements.

    Only a payload the package would write the same way takes this path (Django's utf-8,
    both parts present, no line long enough for quoted-printable, no boundary in a part,
    only ``X-`` headers of its own); any other is built by the package in full. A test
    compares the two, byte for byte, over every kind of payload."""

    def __init__(self, from_email: str, encoding: str, names: tuple[str, ...], plain: tuple):
        token = secrets.token_hex(8)
        # Stand-ins as plain or not as the parts they stand for: that decides each part's
        # Content-Transfer-Encoding (7bit or 8bit).
        self.stand_ins = tuple(
            f"SLA-PORTAL-{part}-{token}" + ("" if ascii_only else "\u00e9")
            for part, ascii_only in zip(("TEXT", "HTML"), plain, strict=True)
        )
        message = EmailMultiAlternatives(
            subject=f"SLA-PORTAL-SUBJECT-{token}",
            body=self.stand_ins[0],
            from_email=from_email,
            to=[f"stand-in-{token}@example.invalid"],
            headers=dict.fromkeys(names, f"SLA-PORTAL-HEADER-{token}"),
        )
        message.encoding = encoding
        message.attach_alternative(self.stand_ins[1], "text/html")
        mime = message.message()
        self.written = _Written.of(mime, encoding)
        self.boundary = mime.get_boundary()
        self.encoding = encoding

    def payload(self, subject: str, headers: dict[str, str], text: str, html: str) -> _Written:
        values = {
            name.lower(): _header_value(name, value, self.encoding)
            for name, value in [("Subject", subject), *headers.items()]
        }
        skeleton = self.written
        parts = [
            (stand_in.encode(self.encoding), payload)
            for stand_in, payload in zip(self.stand_ins, (text, html), strict=True)
        ]
        encoding = self.encoding

        def write_body(linesep: str) -> bytes:
            body = skeleton.body(linesep)
            for stand_in, payload in parts:
                # As the generator writes a part's lines: each line ending made linesep.
                lines = linesep.join(NLCRE.split(payload)).encode(encoding)
                body = body.replace(stand_in, lines)
            return body

        items = [(name, values.get(name.lower(), value)) for name, value in skeleton.items]
        return _Written(items, skeleton.policy, self.encoding, write_body)


@functools.lru_cache(maxsize=4096)
def _header_value(name: str, value: str, encoding: str) -> str:
    """A header's value as Django's message sets it (``forbid_multi_line_headers``: a
    subject always through the email package's Header, a tenth of a millisecond): an
    event's subject is the same for every organisation told of it."""
    return forbid_multi_line_headers(name, value, encoding)[1]


@functools.lru_cache(maxsize=64)
def _skeleton(from_email: str, encoding: str, names: tuple[str, ...], plain: tuple) -> _Skeleton:
    return _Skeleton(from_email, encoding, names, plain)


def _takes_skeleton(encoding: str, headers: dict[str, str], text: str, html: str) -> bool:
    """Whether the email package writes this payload as a :class:`_Skeleton` would."""
    return (
        encoding.lower() == "utf-8"
        and bool(text)
        and bool(html)
        and all(name.lower().startswith("x-") for name in headers)
        and not _has_long_line(text)
        and not _has_long_line(html)
    )


def _has_long_line(part: str) -> bool:
    """Django's test for writing a part in quoted-printable (``SafeMIMEText.set_payload``):
    a line longer than 998 bytes. Its lines (``str.splitlines``) are never longer than
    those of the part's bytes, so the bytes are measured first, without a loop in Python."""
    encoded = part.encode(errors="surrogateescape")
    if max(map(len, encoded.splitlines()), default=0) <= RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        return False
    return any(
        len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
        for line in part.splitlines()
    )


class _QuickFolding(Compat32):
    """The email package's own policy for Django's messages (compat32), writing a short
    header of plain ASCII (an address, the date, the message id, a content type) as it is,
    which is exactly what folding it gives, without the package's Header machinery: that
    costs a tenth of a millisecond per header, and a message has fifteen. Anything else
    (long, not ASCII, not printable) is folded by the package itself."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and value.isascii()
            and value.isprintable()
            and value == value.strip()
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_QUICK_FOLDING = _QuickFolding()


def _boundary(payloads: list[Any]) -> str:
    """A multipart boundary in the generator's own shape that no part contains anywhere
    (the generator would search the written parts with a regular expression compiled anew
    for every message, a third of a millisecond each)."""
    texts = [payload for payload in payloads if isinstance(payload, str)]
    while True:
        boundary = "=" * 15 + f"{secrets.randbelow(sys.maxsize):019d}" + "=="
        if not any(boundary in text for text in texts):
            return boundary


class SharedBodyMessage(Message):
    """One recipient's message: its own headers (``To``, ``Date``, ``Message-ID``), the
    payload's others and its body as already written."""

    def __init__(self, written: _Written, own: dict[str, Any]) -> None:
        super().__init__()
        self._written = written
        self._own = own
        for name, value in written.items:
            self[name] = own.get(name.lower(), value)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._written.headers(self._own, linesep) + self._written.body(linesep)

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode(self._written.encoding)

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def __str__(self) -> str:
        return self.as_string()


class SharedBodyEmail(EmailMultiAlternatives):
    """An ``EmailMultiAlternatives`` whose MIME body is shared with the other e-mails of
    the same payload (see :class:`SharedBodies`); to any backend it is an ordinary e-mail."""

    def __init__(self, *args: Any, written: dict[tuple, _Written], key: tuple, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._written = written
        self._key = key

    def message(self) -> Message:
        written = self._written.get(self._key)
        if written is None:
            written = self._written[self._key] = self._write()
        return SharedBodyMessage(written, self._own_headers(written.encoding))

    def _write(self) -> _Written:
        encoding = self.encoding or settings.DEFAULT_CHARSET
        ((html, _mimetype),) = self.alternatives
        if _takes_skeleton(encoding, self.extra_headers, self.body, html):
            skeleton = _skeleton(
                self.from_email,
                encoding,
                tuple(self.extra_headers),
                (self.body.isascii(), html.isascii()),
            )
            markers = (skeleton.boundary, *skeleton.stand_ins)
            if not any(marker in part for marker in markers for part in (self.body, html)):
                return skeleton.payload(self.subject, self.extra_headers, self.body, html)
        return _Written.of(super().message(), encoding)

    def _own_headers(self, encoding: str) -> dict[str, Any]:
        # As EmailMessage.message() sets them (headers of a multipart message are checked
        # and encoded with the message's own encoding).
        _, to = forbid_multi_line_headers("To", ", ".join(str(to) for to in self.to), encoding)
        return {
            "to": to,
            "date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            "message-id": make_msgid(domain=DNS_NAME),
        }

    def __deepcopy__(self, memo: dict) -> EmailMultiAlternatives:
        # The locmem backend keeps a deep copy of each message: a plain e-mail of the same
        # content, rather than a copy of every payload's message built so far.
        plain = EmailMultiAlternatives(
            subject=self.subject,
            body=self.body,
            from_email=self.from_email,
            to=list(self.to),
            headers=dict(self.extra_headers),
        )
        plain.alternatives = list(self.alternatives)
        return plain


class SharedBodies:
    """The e-mails of one batch: those of the same payload share their MIME body."""

    def __init__(self) -> None:
        self._written: dict[tuple, _Written] = {}

    def email(
        self,
        *,
        subject: str,
        text: str,
        html: str,
        to: str,
        headers: dict[str, str],
        connection: Any = None,
    ) -> SharedBodyEmail:
        # Everything but the recipient decides the message's content.
        key = (subject, text, html, tuple(sorted(headers.items())))
        message = SharedBodyEmail(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers=headers,
            connection=connection,
            written=self._written,
            key=key,
        )
        message.attach_alternative(html, "text/html")
        return message
