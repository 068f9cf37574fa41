"""The counting SMTP server (tests/scale_notify/sinks.py) speaks enough SMTP for smtplib and
Django and counts each message once however its bytes arrive; pipelined sending
(credits.notify.batch.send_pipelined) against it."""

from __future__ import annotations

import smtplib
import socket

import pytest

from credits.notify.batch import send_pipelined
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


def test_pipelined_commands_send_the_message_and_refusals_as_sendmail_would():
    raw = b"Subject: x\r\n\r\n.a line that starts with a dot\r\n..two\r\nend"
    with (
        CountingSmtpSink(refuse=("gone@example.com",), keep=True) as sink,
        smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as session,
    ):
        session.ehlo()
        assert session.has_extn("pipelining")
        send_pipelined(session, "a@example.com", ["b@example.com"], raw)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send_pipelined(session, "a@example.com", ["gone@example.com"], raw)
        assert refused.value.recipients == {
            "gone@example.com": (550, b"5.1.1 no such mailbox here")
        }
        # The refusal left the session as it was: the next message goes through.
        send_pipelined(session, "a@example.com", ["c@example.com"], raw)
        # A message with no line to stuff goes as it is.
        send_pipelined(session, "a@example.com", ["d@example.com"], b"Subject: y\r\n\r\nplain")
    assert [message["to"] for message in sink.messages] == [
        ["b@example.com"],
        ["c@example.com"],
        ["d@example.com"],
    ]
    assert [message["content"] for message in sink.messages] == [
        raw,
        raw,
        b"Subject: y\r\n\r\nplain",
    ]


def test_a_pipelined_message_to_an_address_the_server_drops_closes_the_session():
    with (
        CountingSmtpSink(drop=("drop@example.com",)) as sink,
        smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as session,
    ):
        session.ehlo()
        with pytest.raises(smtplib.SMTPServerDisconnected, match="421"):
            send_pipelined(session, "a@example.com", ["drop@example.com"], b"x\r\n")
        assert session.sock is None
    assert sink.count == 0
