"""Shared set-up for benchmarks: a dedicated database, Django, and small timing helpers.

Benchmarks never run against the development or test databases: each uses
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/slaportal_bench``),
creates it when missing and migrates it.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_URL = f"{SERVER}/slaportal_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/9"


def bench_url(name: str) -> str:
    """``$BENCH_DATABASE_URL``, or a database of this benchmark's own (``slaportal_<name>``),
    so that benchmarks that replace their whole book never wipe each other's."""
    return os.environ.get("BENCH_DATABASE_URL") or f"{SERVER}/slaportal_{name}"


def setup_django(url: str | None = None) -> str:
    """Point Django at the benchmark database, create and migrate it, and set Django up."""
    url = url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")
    os.environ.setdefault("AXES_ENABLED", "0")
    create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return url


def create_database(url: str) -> None:
    """Create the database of ``url`` on its server when it does not exist yet."""
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def switch_database(url: str) -> None:
    """Point this (already set up) process's Django at another benchmark database."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from slaportal.env import env_database

    create_database(url)
    connections.close_all()
    os.environ["DATABASE_URL"] = url
    settings.DATABASES["default"].update(env_database("DATABASE_URL", url))
    connections["default"].settings_dict.update(settings.DATABASES["default"])
    call_command("migrate", verbosity=0, interactive=False)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores, {cpu}; Python {sys.version.split()[0]}; {pg}"


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def process_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker or server process: production settings on the bench
    database, Redis db 9, nothing sent anywhere (dummy e-mail, no private webhooks)."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER),
        "DEBUG": "0",
        "SECRET_KEY": "bench-" * 10,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "AXES_ENABLED": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def high_water_rss_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of one process, in MB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def group_pids(pgid: int) -> list[int]:
    """Every live process of a process group (a worker's main process and its children)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


class Worker:
    """A real Celery worker process (prefork, ``concurrency`` children), in its own
    process group so that it can be stopped, or killed as a crash would, as a whole."""

    def __init__(self, env: dict[str, str], name: str, concurrency: int = 1) -> None:
        self.env = env
        self.name = name
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / f"bench-worker-{name}.log"
        self.peak_rss_mb = 0.0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "slaportal", "worker",
                "--loglevel", "INFO", "--concurrency", str(self.concurrency),
                "--hostname", f"bench-{self.name}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        if not wait_for(lambda: "ready." in self.log(), timeout=90, interval=0.2):
            self.stop()
            raise RuntimeError(f"the Celery worker did not start:\n{self.log()[-3000:]}")

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return group_pids(self.process.pid)

    def sample_rss(self) -> float:
        """Record and return the largest peak RSS among the worker's processes."""
        for pid in self.pids():
            self.peak_rss_mb = max(self.peak_rss_mb, high_water_rss_mb(pid))
        return self.peak_rss_mb

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the main process and its children at once, as a crash would."""
        if self.process and self.process.poll() is None:
            self.sample_rss()
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.sample_rss()
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if getattr(self, "_log", None):
            self._log.close()


def purge_queue(env: dict[str, str]) -> None:
    """Drop every message waiting in the benchmark's broker database."""
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "slaportal", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, threads: int = 1) -> subprocess.Popen:
    """gunicorn with 2 workers on 127.0.0.1, production settings, persistent database
    connections; static files collected first (DEBUG=0 serves the hashed names).
    ``threads`` > 1: gthread workers with that many threads each (and keep-alive), else
    sync workers."""
    env = process_env(
        url, DB_CONN_MAX_AGE="600", SLAPORTAL_VAR_DIR=str(ROOT / "var" / "bench-static")
    )
    # DEBUG=0 serves hashed static files: the pages need the manifest collectstatic writes.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "slaportal.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--log-level", "warning", "--timeout", "60",
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
