"""The benchmark's counting SMTP server (tests/scale_notify/sinks.py) speaks enough SMTP for
smtplib and Django, and counts each message once however its bytes arrive."""

from __future__ import annotations

import smtplib
import socket

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
