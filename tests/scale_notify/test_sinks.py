"""The counting SMTP server (tests/scale_notify/sinks.py) speaks enough SMTP for smtplib and
Django and counts each message once however its bytes arrive; pipelined sending
(credits.notify.batch._SmtpPipeline) against it."""

from __future__ import annotations

import smtplib
import socket

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from credits.models import Delivery
from credits.notify.batch import Outcomes, _pipelines, _Prepared, _SmtpPipeline
from tests.scale_notify.sinks import CountingSmtpSink


def test_it_counts_each_message_sent_over_one_connection():
    with CountingSmtpSink() as sink, smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        # A line that is a lone dot, and one that starts with one, are dot-stuffed by
        # smtplib: neither ends the message.
        body = b"Subject: x\r\n\r\nfirst\r\n.\r\n.leading dot\r\n" + b"y" * 200_000 + b"\r\n"
        for n in range(3):
            assert client.sendmail("a@example.com", [f"b{n}@example.com"], body) == {}
        assert client.noop()[0] == 250
    assert (sink.count, sink.connections) == (3, 1)


def test_a_message_split_anywhere_between_reads_is_counted_once():
    with CountingSmtpSink() as sink, socket.create_connection(("127.0.0.1", sink.port)) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"220")
        session = b"EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n"
        for offset in range(len(session)):
            raw.sendall(session[offset : offset + 1])
        replies = reader.read()
    assert sink.count == 1
    assert b"354" in replies and replies.rstrip().endswith(b"221 2.0.0 bye")


def _pipeline(sink: CountingSmtpSink, messages: list[tuple[str, bytes]]) -> Outcomes:
    """Send ``(recipient, raw)`` messages through one pipelined batch (credits.notify.batch
    ._SmtpPipeline) against ``sink``; the deliveries are numbered from 1 in that order."""
    connection = SmtpBackend(host="127.0.0.1", port=sink.port, timeout=10)
    connection.open()
    outcomes = Outcomes()
    try:
        assert _pipelines(connection.connection)
        prepared = iter(
            [
                _Prepared(Delivery(pk=n), "a@example.com", [to], raw)
                for n, (to, raw) in enumerate(messages, start=1)
            ]
        )
        _SmtpPipeline(connection, outcomes).send(prepared)
    finally:
        connection.close()
    return outcomes


def _between_two(sink: CountingSmtpSink, address: str) -> Outcomes:
    """A message to ``address`` (delivery 2) pipelined between two that go through."""
    return _pipeline(
        sink, [("a@example.com", b"x\r\n"), (address, b"y\r\n"), ("c@example.com", b"z\r\n")]
    )


def test_pipelined_messages_are_sent_and_refused_as_sendmail_would_send_and_refuse_them():
    raw = b"Subject: x\r\n\r\n.a line that starts with a dot\r\n..two\r\nend"
    plain = b"Subject: y\r\n\r\nplain"
    with CountingSmtpSink(refuse=("gone@example.com",), keep=True) as sink:
        outcomes = _pipeline(
            sink,
            [
                ("b@example.com", raw),
                ("gone@example.com", raw),
                # The refusal left the session as it was: the next messages go through.
                ("c@example.com", raw),
                ("d@example.com", plain),
            ],
        )

    assert outcomes.sent == [1, 3, 4]
    ((refused, error),) = outcomes.failed
    assert refused.pk == 2
    assert error.startswith("SMTPRecipientsRefused") and "5.1.1 no such mailbox here" in error
    assert [message["to"] for message in sink.messages] == [
        ["b@example.com"],
        ["c@example.com"],
        ["d@example.com"],
    ]
    # Dot-stuffed on the wire, unstuffed by the server: each content as it was.
    assert [message["content"] for message in sink.messages] == [raw, raw, plain]
    assert sink.connections == 1


def test_a_message_to_an_address_the_server_drops_costs_only_itself():
    with CountingSmtpSink(drop=("drop@example.com",), keep=True) as sink:
        outcomes = _between_two(sink, "drop@example.com")

    # The first message's content went with the dropped one's commands, and its reply came
    # before the server left: it was sent. The last went over a second session.
    assert outcomes.sent == [1, 3]
    ((dropped, error),) = outcomes.failed
    assert dropped.pk == 2 and error.startswith("SMTPServerDisconnected: 421")
    assert [message["to"] for message in sink.messages] == [["a@example.com"], ["c@example.com"]]
    assert sink.connections == 2


def test_a_message_whose_content_is_refused_costs_only_itself_first_or_last():
    refused = ("bad@example.com", "last@example.com")
    with CountingSmtpSink(reject_content=refused, keep=True) as sink:
        outcomes = _pipeline(
            sink,
            [
                ("bad@example.com", b"x\r\n"),
                ("b@example.com", b"y\r\n"),
                ("last@example.com", b"z\r\n"),
            ],
        )

    assert outcomes.sent == [2]
    assert [(delivery.pk, error[:17]) for delivery, error in outcomes.failed] == [
        (1, "SMTPDataError: (5"),
        (3, "SMTPDataError: (5"),
    ]
    assert all("content refused" in error for _delivery, error in outcomes.failed)
    assert [message["to"] for message in sink.messages] == [["b@example.com"]]
    assert sink.connections == 1


def test_a_server_that_takes_data_without_a_recipient_gets_an_empty_message_and_goes_on():
    with CountingSmtpSink(refuse=("gone@example.com",), lenient_data=True, keep=True) as sink:
        outcomes = _between_two(sink, "gone@example.com")

    assert outcomes.sent == [1, 3]
    ((refused, error),) = outcomes.failed
    assert refused.pk == 2 and error.startswith("SMTPRecipientsRefused")
    # (Kept as the server reads them: the line end before the end mark is the mark's.)
    assert [message["content"] for message in sink.messages] == [b"x", b"z"]
    assert sink.connections == 1
