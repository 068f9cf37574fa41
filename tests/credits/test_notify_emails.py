"""E-mails of the same payload share their MIME body (credits.notify.emails): each recipient
still gets exactly the message Django would have built for them alone."""

from __future__ import annotations

import copy
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from django.core import mail
from django.core.mail import EmailMultiAlternatives

from credits.notify.emails import _QUICK_FOLDING, SharedBodies, _skeleton

SUBJECT = "Statement for März 2026 — Globex"
TEXT = "Total service credit: 1.234,50 €\n" + "- Availability, 99.9 % against 99.95 %\n" * 40
HTML = "<p>Total service credit: <b>1.234,50 €</b></p>" + "<tr><td>Ünavailable</td></tr>" * 40
HEADERS = {"X-SLA-Event": "statement_issued", "X-SLA-Event-Id": "3f0c-event"}
RECIPIENTS = ["ann@example.com", "Bob <bob@example.com>", "chloé@example.com"]


def _plain(to: str) -> bytes:
    message = EmailMultiAlternatives(
        subject=SUBJECT, body=TEXT, from_email=None, to=[to], headers=HEADERS
    )
    message.attach_alternative(HTML, "text/html")
    return message.message().as_bytes(linesep="\r\n")


def _shared(bodies: SharedBodies, to: str, **changes: str) -> bytes:
    parts = {"subject": SUBJECT, "text": TEXT, "html": HTML, **changes}
    message = bodies.email(**parts, to=to, headers=HEADERS)
    return message.message().as_bytes(linesep="\r\n")


def _read(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def _contents(message: EmailMessage) -> list[str]:
    # As written for SMTP (CRLF), read back with the payload's own line ends.
    return [part.get_content().replace("\r\n", "\n") for part in message.iter_parts()]


def _same_message(shared: bytes, plain: bytes) -> None:
    """The same headers (each message's own Date, Message-ID and boundary aside), in the same
    order, and the same parts, byte for byte once the boundary is the same."""
    a, b = _read(shared), _read(plain)
    own = {"date", "message-id", "content-type"}
    assert [(k, v) for k, v in a.items() if k.lower() not in own] == [
        (k, v) for k, v in b.items() if k.lower() not in own
    ]
    assert list(a.keys()) == list(b.keys())
    assert a.get_content_type() == b.get_content_type() == "multipart/alternative"
    boundary_a, boundary_b = a.get_boundary(), b.get_boundary()
    body_a = shared.split(b"\r\n\r\n", 1)[1]
    body_b = plain.split(b"\r\n\r\n", 1)[1].replace(boundary_b.encode(), boundary_a.encode())
    assert body_a == body_b
    assert _contents(a) == [TEXT, HTML]


def test_each_recipient_gets_the_message_django_would_build_for_them_alone():
    bodies = SharedBodies()
    sent = [_shared(bodies, to) for to in RECIPIENTS]

    for to, raw in zip(RECIPIENTS, sent, strict=True):
        _same_message(raw, _plain(to))
    # One body, written once; every message has its own recipient, date and id.
    assert len({raw.split(b"\r\n\r\n", 1)[1] for raw in sent}) == 1
    assert len({_read(raw)["Message-ID"] for raw in sent}) == 3
    assert [_read(raw)["To"] for raw in sent] == [
        "ann@example.com",
        "Bob <bob@example.com>",
        "chloé@example.com",
    ]


def test_another_payload_in_the_same_batch_gets_its_own_body():
    bodies = SharedBodies()
    first = _shared(bodies, "ann@example.com")
    other = _shared(bodies, "ann@example.com", text="Something else entirely\n")

    assert first.split(b"\r\n\r\n", 1)[1] != other.split(b"\r\n\r\n", 1)[1]
    assert _contents(_read(other)) == ["Something else entirely\n", HTML]


def test_other_line_endings_and_text_are_the_same_message(settings):
    bodies = SharedBodies()
    _shared(bodies, "ann@example.com")
    message = bodies.email(
        subject=SUBJECT, text=TEXT, html=HTML, to="bob@example.com", headers=HEADERS
    ).message()

    as_bytes = message.as_bytes()
    assert b"\r\n" not in as_bytes
    assert as_bytes.replace(b"\n", b"\r\n") == message.as_bytes(linesep="\r\n")
    assert message.as_string() == as_bytes.decode()
    assert message["To"] == "bob@example.com"


def test_the_locmem_backend_keeps_a_plain_copy_of_what_was_sent(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    bodies = SharedBodies()
    for to in RECIPIENTS[:2]:
        bodies.email(subject=SUBJECT, text=TEXT, html=HTML, to=to, headers=HEADERS).send()

    assert [message.to for message in mail.outbox] == [[RECIPIENTS[0]], [RECIPIENTS[1]]]
    assert all(type(message) is EmailMultiAlternatives for message in mail.outbox)
    assert mail.outbox[1].body == TEXT
    assert mail.outbox[1].alternatives[0][0] == HTML
    assert copy.deepcopy(mail.outbox[1]).extra_headers == HEADERS


def test_headers_are_written_as_the_email_package_folds_them():
    folds = EmailMultiAlternatives().message().policy.clone(linesep="\r\n").fold_binary
    quick = _QUICK_FOLDING.clone(linesep="\r\n").fold_binary
    values = [
        "ann@example.com",
        "Bob Example <bob@example.com>",
        '"Doe, Jane" <jane@example.com>',
        "Thu, 03 Dec 2026 15:22:38 -0000",
        "<179631135856.7190.1770004590033905853@portal.example>",
        'multipart/alternative; boundary="===============3410567937843384066=="',
        "chloé@example.com",  # not ASCII: encoded by the email package
        "a" * 74,  # the longest line left as it is
        "a" * 60 + " " + "b" * 60,  # folded
        "tab\there",
        " leading space",
    ]
    for value in values:
        assert quick("To", value) == folds("To", value), value
    assert quick("To", "ann@example.com") == b"To: ann@example.com\r\n"


def _library(subject: str, text: str, html: str, headers: dict, like: Message) -> Message:
    """The message the email package builds in full for one recipient, with the date, id and
    boundary of ``like`` (each message's own)."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=None, to=[like["To"]], headers=headers
    )
    message.attach_alternative(html, "text/html")
    mime = message.message()
    mime.replace_header("Date", like["Date"])
    mime.replace_header("Message-ID", like["Message-ID"])
    mime.set_boundary(like.get_boundary())
    return mime


PARTS = [
    "plain ASCII, no line end",
    "plain ASCII, one line end\n",
    "Windows line ends\r\nand a lone CR\rand LF\n\n\nblank lines\r\n",
    ".a line that starts with a dot\n.\nand a lone dot\n",
    "März: 1.234,50 € — Ünavailable\n\ttab first\n",
    "é" * 400 + "\n",  # 800 bytes on one line: still 8bit
    "a" * 999 + "\n",  # beyond 998: Django writes quoted-printable (the package in full)
    "\u2028line separator\x0bvertical tab\x1cfile separator\n",
]
SUBJECTS = [
    "Statement issued",
    "Statement for März 2026 — Globex",
    "A long subject " + "that goes on " * 12,
    "Ünicode and a long subject " + "that goes on " * 12,
]


def test_every_payload_is_written_byte_for_byte_as_the_email_package_writes_it():
    """Payloads of a shape met before are written from a message the email package built
    once (credits.notify.emails._Skeleton); each must be exactly the package's own."""
    headers_variants = [HEADERS, {"X-SLA-Event": "early_warning", "X-SLA-Note": "Grüße"}]
    _skeleton.cache_clear()
    checked = 0
    for text in PARTS:
        for html in PARTS[::-1]:
            for subject in SUBJECTS:
                for headers in headers_variants:
                    message = (
                        SharedBodies()
                        .email(
                            subject=subject,
                            text=text,
                            html=html,
                            to="ann@example.com",
                            headers=headers,
                        )
                        .message()
                    )
                    expected = _library(subject, text, html, headers, message)
                    for linesep in ("\r\n", "\n"):
                        assert message.as_bytes(linesep=linesep) == expected.as_bytes(
                            linesep=linesep
                        ), (text, html, subject, headers, linesep)
                    checked += 1
    assert checked == len(PARTS) ** 2 * len(SUBJECTS) * 2
    # Every payload without a line for quoted-printable took the skeleton's path: one
    # skeleton per sender, header names and plainness of the parts.
    calls = _skeleton.cache_info()
    assert calls.hits + calls.misses == (len(PARTS) - 1) ** 2 * len(SUBJECTS) * 2
    assert calls.currsize == 2 * 2 * 2
