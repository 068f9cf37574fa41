"""E-mails of a batch that share their content: the MIME body built and written once.

An event's e-mail to one organisation (in one language) is the same payload for every
member it goes to; only the headers ``To``, ``Date`` and ``Message-ID`` differ. Building
and writing a multipart message with Python's ``email`` package (parts, charsets, the
boundary's search, header folding) costs milliseconds, most of an e-mail's cost in a
batch, so a :class:`SharedBodies` builds each payload's message once, as Django builds any
(``EmailMultiAlternatives.message()``), writes its body once per line ending, and gives
every further recipient the same bytes after headers of their own, written as the
``email`` generator writes them. Each recipient still gets a message of their own.
"""

from __future__ import annotations

import secrets
import sys
from email.message import Message
from email.policy import Compat32
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import DNS_NAME, forbid_multi_line_headers


class _Written:
    """A payload's message, built once: its body and its headers as written."""

    def __init__(self, mime: Any, encoding: str) -> None:
        for part in mime.walk():
            part.policy = _QUICK_FOLDING
        if mime.is_multipart() and mime.get_boundary() is None:
            mime.set_boundary(_boundary([part.get_payload() for part in mime.walk()]))
        self.mime = mime
        self.encoding = encoding
        self._bodies: dict[str, bytes] = {}
        self._headers: dict[tuple[str, str], bytes] = {}
        self._folds: dict[str, Any] = {}
        # Written at once as SMTP sends it: that also fixes the multipart boundary in the
        # Content-Type header, which every recipient's headers then carry.
        self.body("\r\n")

    def body(self, linesep: str) -> bytes:
        """Everything after the headers (the blank line included), for ``linesep``."""
        if linesep not in self._bodies:
            raw = self.mime.as_bytes(linesep=linesep)
            self._bodies[linesep] = raw[raw.index((linesep * 2).encode()) + len(linesep) :]
        return self._bodies[linesep]

    def headers(self, own: dict[str, Any], linesep: str) -> bytes:
        """The headers in the payload's order, the recipient's own in their places, each
        written as the email package's BytesGenerator writes it (Django's as_bytes)."""
        if linesep not in self._folds:
            self._folds[linesep] = self.mime.policy.clone(linesep=linesep).fold_binary
        fold = self._folds[linesep]
        written = []
        for name, value in self.mime.raw_items():
            if name.lower() in own:
                written.append(fold(name, own[name.lower()]))
                continue
            key = (name, linesep)
            if key not in self._headers:
                self._headers[key] = fold(name, value)
            written.append(self._headers[key])
        return b"".join(written)


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
        for name, value in written.mime.raw_items():
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
            encoding = self.encoding or settings.DEFAULT_CHARSET
            written = self._written[self._key] = _Written(super().message(), encoding)
        return SharedBodyMessage(written, self._own_headers(written.encoding))

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
