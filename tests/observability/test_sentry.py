"""Sentry: initialised only when SENTRY_DSN is set; then an error logged in the portal
reaches the DSN's server (here a local one that records what it is sent)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.processes import ROOT, wait_for


class SentryServer(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            # The SDK compresses with Brotli when it can import it (as this test can then).
            import brotli

            body = brotli.decompress(body)
        self.received.append(body.decode())
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sentry_server():
    server = HTTPServer(("127.0.0.1", 0), SentryServer)
    SentryServer.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    script = f"import django\ndjango.setup()\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "slaportal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_error_logged_reaches_sentry(sentry_server, worker_env):
    port = sentry_server.server_address[1]
    env = {
        **worker_env,
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/42",
        "SENTRY_ENVIRONMENT": "observability-test",
    }
    run = run_django(
        env,
        "import logging, sentry_sdk\n"
        "print(sentry_sdk.get_client().is_active())\n"
        "logging.getLogger('credits.settlement').error('A chunk failed: observability test')\n"
        "sentry_sdk.flush(10)\n",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True"]
    assert wait_for(lambda: SentryServer.received, timeout=10)
    (event,) = [body for body in SentryServer.received if "observability test" in body]
    assert '"environment":"observability-test"' in event
    assert '"logger":"credits.settlement"' in event


def test_without_a_dsn_sentry_is_not_initialised(sentry_server, worker_env):
    env = {key: value for key, value in worker_env.items() if key != "SENTRY_DSN"}
    run = run_django(
        env,
        "import logging, sentry_sdk\n"
        "print(sentry_sdk.get_client().is_active())\n"
        "logging.getLogger('credits').error('nobody hears this')\n",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False"]
    assert SentryServer.received == []


def test_a_malformed_dsn_stops_start_up_with_one_line(worker_env):
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**worker_env, "SENTRY_DSN": "not a dsn"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("slaportal: configuration error: SENTRY_DSN is not a Sentry DSN")
    assert len(run.stderr.strip().splitlines()) == 1
