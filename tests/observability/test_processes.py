"""The portal as production runs it: gunicorn with several workers, a Celery worker, JSON
logs. The metrics of every gunicorn worker add up; each log line is one JSON object
carrying the request's id, or the task's id and the id of the request that enqueued it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import structlog
from rest_framework.authtoken.models import Token

from credits.tasks import sweep_task
from tests.credits.settlement_book import contract, objective, service
from tests.factories import MembershipFactory, ProviderFactory, UserFactory
from tests.observability.support import free_port, scrape
from tests.processes import ROOT, CeleryWorker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


class Gunicorn:
    """gunicorn as the Procfile runs it (gunicorn.conf.py read from the checkout)."""

    def __init__(self, env: dict[str, str], log_path, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "slaportal.wsgi",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "2", *options,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/accounts/login/", timeout=30).status_code == 200
            except requests.RequestException:
                return False

        started = False
        try:
            started = wait_for(up, timeout=120, interval=0.3)
        finally:
            if not started:
                self.stop()
        if not started:
            raise RuntimeError(f"gunicorn did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self._log.close()


def json_lines(text: str) -> list[dict]:
    """Every line that is a JSON object; the others (gunicorn's master) are left out."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.fixture
def json_env(worker_env) -> dict[str, str]:
    return {**worker_env, "LOG_FORMAT": "json"}


@pytest.fixture
def web(json_env, tmp_path):
    server = Gunicorn(json_env, tmp_path / "gunicorn.log")
    yield server
    server.stop()


@pytest.fixture
def recycling_web(json_env, tmp_path):
    """Each worker replaced by a new process after 4 requests, as --max-requests does in
    production to bound a worker's memory."""
    server = Gunicorn(json_env, tmp_path / "gunicorn.log", "--max-requests", "4")
    yield server
    server.stop()


def test_samples_recorded_add_up_over_every_gunicorn_worker(recycling_web):
    web = recycling_web
    provider = ProviderFactory()
    editor = UserFactory()
    MembershipFactory(user=editor, organization=provider, role="editor")
    token = Token.objects.create(user=editor)
    # Fixed days long past: the test reads no clock (libfaketime stalls gunicorn's workers).
    c = contract(provider=provider, start=date(2026, 1, 1))
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    headers = {"Authorization": f"Token {token.key}"}

    def recorded(page: dict) -> float:
        return page.get(("slaportal_samples_recorded_total", ()), 0.0)

    before = recorded(scrape(requests.get(f"{web.url}/metrics", timeout=60).text))
    batches, size = 12, 5

    def post(batch: int) -> int:
        items = [
            {
                "contract_service": cs.pk,
                "key": "on-time",
                "observed_at": (start + timedelta(seconds=batch * size + i)).isoformat(),
                "ok": True,
            }
            for i in range(size)
        ]
        response = requests.post(
            f"{web.url}/api/v1/measurements/", json=items, headers=headers, timeout=60
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert set(pool.map(post, range(batches))) == {201}
    # A refused batch is not counted.
    refused = requests.post(
        f"{web.url}/api/v1/measurements/",
        json=[{"contract_service": cs.pk, "key": "nope", "observed_at": start.isoformat()}],
        headers=headers,
        timeout=60,
    )
    assert refused.status_code == 400

    # Whichever worker answers the scrape, it reports the samples of every worker, those
    # replaced since included.
    # A worker replaced meanwhile takes a while to boot on a busy machine: generous timeouts.
    for _ in range(3):
        page = scrape(requests.get(f"{web.url}/metrics", timeout=60).text)
        assert recorded(page) == before + batches * size
    posted = [
        line
        for line in json_lines(web.log())
        if line.get("event") == "request_finished"
        and line["request"] == "POST /api/v1/measurements/"
        and line["code"] == 201
    ]
    assert len(posted) == batches
    assert len({line["process"] for line in posted}) >= 3, "workers were replaced meanwhile"


def test_request_log_lines_are_json_with_the_request_id(web):
    response = requests.get(f"{web.url}/accounts/login/", timeout=30)
    assert response.status_code == 200
    denied = requests.get(f"{web.url}/contracts/", timeout=30, allow_redirects=False)
    assert denied.status_code == 302

    def finished() -> list[dict]:
        return [
            line
            for line in json_lines(web.log())
            if line.get("event") == "request_finished"
            and line.get("request", "").startswith(("GET /accounts/login/", "GET /contracts/"))
        ]

    assert wait_for(lambda: len(finished()) >= 2, timeout=10), web.log()
    lines = json_lines(web.log())
    for line in finished():
        assert line["level"] == "info"
        assert line["code"] in (200, 302)
        started = [
            other
            for other in lines
            if other.get("event") == "request_started"
            and other.get("request_id") == line["request_id"]
        ]
        assert len(started) == 1
    ids = {line["request_id"] for line in finished()}
    assert len(ids) == len(finished()), "one id per request"


def test_task_log_lines_carry_the_task_id_and_the_request_id_that_sent_it(json_env, tmp_path):
    worker = CeleryWorker(json_env, name="json-logs")
    worker.start()
    try:
        structlog.contextvars.bind_contextvars(request_id="req-observability-1")
        try:
            result = sweep_task.delay()
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

        def task_lines() -> list[dict]:
            return [line for line in json_lines(worker.log()) if line.get("task_id") == result.id]

        assert wait_for(
            lambda: any(line.get("event") == "task_succeeded" for line in task_lines()),
            timeout=60,
        ), worker.log()
        events = {line["event"] for line in task_lines()}
        assert "task_started" in events
        # The sweep's own logging call (the standard library's) carries the ids too.
        assert any(event.startswith("Sweep at ") for event in events), events
        assert {line.get("request_id") for line in task_lines()} == {"req-observability-1"}
    finally:
        worker.stop()
