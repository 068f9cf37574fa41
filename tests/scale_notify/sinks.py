"""A real SMTP server and a real HTTP receiver on 127.0.0.1 that count what reaches them:
the notification tests and ``bench.notify`` send to them over loopback (not Django's locmem
backend), so that connections, refusals and dropped connections are the network's.

``SmtpSink`` is aiosmtpd's server; an address in ``refuse`` is refused at ``RCPT`` (550),
one in ``drop`` makes the server answer 421 and close the connection. ``WebhookSink`` is an
HTTP/1.1 server (keep-alive) that answers ``statuses`` in turn (the last one repeats).
Both count connections and messages. :class:`SinkProcess` runs a sink in a process of its
own for ``bench.notify`` (the benchmark's volume would otherwise share one core with its
poller), with :class:`CountingSmtpSink` in aiosmtpd's place: it only accepts and counts,
at a tenth of aiosmtpd's CPU per message.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Mailbox:
    """What an SMTP sink refuses (550 at RCPT), drops (a 421, the connection closed) and,
    with ``keep``, keeps of each message (its recipients and content); and its counts."""

    def __init__(self, refuse: tuple[str, ...], drop: tuple[str, ...], keep: bool) -> None:
        self.refuse = {address.lower() for address in refuse}
        self.drop = {address.lower() for address in drop}
        self.keep = keep
        self.messages: list[dict[str, Any]] = []
        self.count = 0
        self.connections = 0


class SmtpSink(_Mailbox):
    """An SMTP server on 127.0.0.1 that keeps (or counts) what it is sent."""

    def __init__(self, refuse: tuple[str, ...] = (), drop: tuple[str, ...] = (), keep=True):
        super().__init__(refuse, drop, keep)
        self._lock = threading.Lock()
        sink = self

        class CountingSMTP(SMTP):
            def connection_made(self, transport: Any) -> None:
                with sink._lock:
                    sink.connections += 1
                super().connection_made(transport)

        class Counting(Controller):
            def factory(self) -> SMTP:
                return CountingSMTP(self.handler, **self.SMTP_kwargs)

        self.controller = Counting(self, hostname="127.0.0.1", port=_free_port())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.drop:
            server.transport.close()
            return "421 4.3.0 closing the connection"
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.count += 1
            if self.keep:
                self.messages.append(
                    {"to": list(envelope.rcpt_tos), "content": envelope.original_content}
                )
        return "250 Message accepted"

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        # start() connects once to check the server answers: that one is not a client's.
        with self._lock:
            self.connections = 0
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes its kept-alive connection is not an error of the receiver.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class WebhookSink:
    """An HTTP/1.1 receiver on 127.0.0.1: keeps each request, counts connections."""

    def __init__(self, statuses: list[int] | None = None, keep: bool = True) -> None:
        self.statuses = list(statuses or [200])
        self.keep = keep
        self.requests: list[dict[str, Any]] = []
        self.count = 0
        self.connections = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer's head and body are two writes: with Nagle's algorithm the body
            # would wait for the client's delayed ACK (40 ms) on every kept-alive request.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                with sink._lock:
                    sink.connections += 1
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink._lock:
                    sink.count += 1
                    if sink.keep:
                        sink.requests.append(
                            {"path": self.path, "headers": dict(self.headers), "body": body}
                        )
                    status = sink.statuses.pop(0) if len(sink.statuses) > 1 else sink.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _CountingSmtp(asyncio.Protocol):
    """One client's SMTP session with :class:`CountingSmtpSink`: every command accepted,
    each message's data consumed with a search for its end over whole reads rather than a
    line at a time (what makes aiosmtpd cost ~2 ms of CPU per message)."""

    def __init__(self, sink: CountingSmtpSink) -> None:
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.recipients: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.sink.connections += 1
        transport.write(b"220 127.0.0.1 ESMTP counting sink\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                # The data ends with <CRLF>.<CRLF>; the CRLF that ended DATA counts as the
                # first one, so a message may end at once.
                data = self.buffer
                end = (b"\r\n" + data).find(b"\r\n.\r\n")
                if end < 0:
                    # Keep enough of the tail to find a terminator split between reads.
                    break
                self.buffer = self.buffer[max(end + 3, 0) :]
                self.in_data = False
                recipients, self.recipients = self.recipients, []
                if not recipients:
                    replies.append(b"554 5.5.1 no valid recipients\r\n")
                    continue
                if {address.lower() for address in recipients} & self.sink.reject_content:
                    replies.append(b"554 5.7.1 content refused\r\n")
                    continue
                if self.sink.keep:
                    content = (b"\r\n" + data)[2:end].replace(b"\r\n..", b"\r\n.")
                    content = content[1:] if content.startswith(b"..") else content
                    self.sink.messages.append({"to": recipients, "content": content})
                self.sink.count += 1
                replies.append(b"250 2.0.0 accepted\r\n")
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                break
            self.buffer = rest
            verb = line[:4].upper()
            given = line[line.find(b"<") + 1 : line.rfind(b">")].decode("utf-8", "replace")
            address = given.lower()
            if verb in (b"EHLO", b"HELO"):
                replies.append(
                    b"250-127.0.0.1\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                )
            elif verb == b"RCPT" and address in self.sink.drop:
                replies.append(b"421 4.3.0 closing the connection\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            elif verb == b"RCPT" and address in self.sink.refuse:
                replies.append(b"550 5.1.1 no such mailbox here\r\n")
            elif verb == b"DATA" and not self.recipients and not self.sink.lenient_data:
                # RFC 2920: with no recipient taken, DATA is refused (pipelined clients
                # send it regardless).
                replies.append(b"554 5.5.1 no valid recipients\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 end data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 2.0.0 bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            elif verb == b"RCPT":
                self.recipients.append(given)
                replies.append(b"250 2.0.0 OK\r\n")
            elif verb in (b"MAIL", b"RSET", b"NOOP"):
                if verb != b"NOOP":
                    self.recipients = []
                replies.append(b"250 2.0.0 OK\r\n")
            else:
                replies.append(b"500 5.5.2 not understood\r\n")
        if replies:
            self.transport.write(b"".join(replies))


class CountingSmtpSink(_Mailbox):
    """An SMTP server on 127.0.0.1 that accepts and counts every message, for the
    benchmark's volume: a stand-in for a relay (Postfix spends a fraction of a millisecond
    of CPU on a message), where aiosmtpd's line-by-line reading would take ~2 ms of the
    same two cores from the workers measured. It offers PIPELINING, as relays do (aiosmtpd
    does not), and refuses or drops the addresses it is given, as :class:`SmtpSink`."""

    def __init__(
        self,
        refuse: tuple[str, ...] = (),
        drop: tuple[str, ...] = (),
        keep: bool = False,
        *,
        reject_content: tuple[str, ...] = (),
        lenient_data: bool = False,
    ) -> None:
        # A message's content is kept as sent, dots unstuffed.
        super().__init__(refuse, drop, keep)
        # A message to one of these addresses is refused once its content is in (554 at
        # the end of the data), as a relay's content filter refuses one.
        self.reject_content = {address.lower() for address in reject_content}
        # Answers DATA with 354 even with no recipient taken, as some servers do (RFC 2920
        # says to refuse it): the client must still end the message, and it is not kept.
        self.lenient_data = lenient_data
        self.port = _free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> CountingSmtpSink:
        server = self._loop.create_server(lambda: _CountingSmtp(self), "127.0.0.1", self.port)
        self._server = self._loop.run_until_complete(server)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _serve(kind: str, ready: Any, stop: Any, counts: Any) -> None:
    sink = CountingSmtpSink() if kind == "smtp" else WebhookSink(keep=False)
    with sink:
        ready.send(sink.port)
        while not stop.wait(0.2):
            counts[0], counts[1] = sink.count, sink.connections
        counts[0], counts[1] = sink.count, sink.connections


class SinkProcess:
    """A sink (``"smtp"`` or ``"http"``) in a process of its own, keeping counts only:
    ``count`` (messages or requests) and ``connections``."""

    def __init__(self, kind: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._counts = context.Array("q", 2)
        self._parent, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(kind, child, self._stop, self._counts), daemon=True
        )

    def __enter__(self) -> SinkProcess:
        self.process.start()
        if not self._parent.poll(60):
            raise RuntimeError("the sink did not start")
        self.port = self._parent.recv()
        return self

    @property
    def count(self) -> int:
        return self._counts[0]

    @property
    def connections(self) -> int:
        return self._counts[1]

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
