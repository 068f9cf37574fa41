"""A local Prometheus for the pull tests: a real HTTP server in a thread answering
``/api/v1/query_range`` as Prometheus does (form-encoded POST, unix-second start and end,
a step such as ``60s``; every step from start to end inclusive)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Value = Callable[[float], str]


@dataclass
class FakePrometheus:
    """What the server answers: ``mode`` "ok", "500", "timeout" or "error" (a 200 whose
    status is "error"); ``value`` gives each point's value as Prometheus writes it."""

    mode: str = "ok"
    value: Value = lambda t: "1"
    series: int = 1
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    on_request: Callable[[], None] | None = None
    url: str = ""

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.mode == "500":
            return 500, {"status": "error", "errorType": "internal", "error": "storage is down"}
        if self.mode == "error":
            return 400, {"status": "error", "errorType": "bad_data", "error": "parse error"}
        start, end = float(form["start"]), float(form["end"])
        step = int(form["step"].rstrip("s"))
        points = []
        t = start
        while t <= end + 1e-9:
            points.append([t, self.value(t)])
            t += step
        result = [
            {"metric": {"__name__": "probe_success", "instance": f"host-{n}"}, "values": points}
            for n in range(self.series)
        ]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}


def serve(fake: FakePrometheus) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            fake.requests.append(
                {
                    "path": self.path,
                    "form": form,
                    "authorization": self.headers.get("Authorization"),
                }
            )
            if fake.on_request is not None:
                hook, fake.on_request = fake.on_request, None
                hook()
            if fake.mode == "timeout":
                time.sleep(fake.delay or 3)
            status, body = fake.answer(form)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
