"""Shared set-up for benchmarks: a dedicated database, Django, and small timing helpers.

Benchmarks never run against the development or test databases: each uses
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/slaportal_bench``),
creates it when missing and migrates it.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.processes import ROOT, CeleryWorker

SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_URL = f"{SERVER}/slaportal_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/9"


class Refused(SystemExit):
    """A benchmark that would report on less than it built (a book not entirely due, a run
    that settled or stored only part of it): one line on stderr and status 1, no figures."""

    def __init__(self, benchmark: str, message: str) -> None:
        super().__init__(f"python -m {benchmark}: {message}")


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


class Worker(CeleryWorker):
    """The tests' worker as the benchmarks run it: no heartbeat events on the broker, more
    time to start and stop under load, one log file per name, and its peak RSS sampled."""

    options = (*CeleryWorker.options, "--without-heartbeat")
    start_timeout = 90
    stop_timeout = 60

    def __init__(self, env: dict[str, str], name: str, concurrency: int = 1) -> None:
        # The worker says it is ready at INFO (LOG_LEVEL sets Celery's level too).
        env = {**env, "LOG_LEVEL": "INFO"}
        super().__init__(env, concurrency=concurrency, name=f"bench-{name}")
        self.log_path = ROOT / "var" / f"bench-worker-{name}.log"
        self.peak_rss_mb = 0.0

    def start(self, purge: bool = False) -> None:
        # The sweep purges once, before its pool starts: a worker restarted after a kill
        # must leave the messages its predecessor had not acknowledged.
        super().start(purge=purge)

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return group_pids(self.process.pid)

    def sample_rss(self) -> float:
        """Record and return the largest peak RSS among the worker's processes."""
        for pid in self.pids():
            self.peak_rss_mb = max(self.peak_rss_mb, high_water_rss_mb(pid))
        return self.peak_rss_mb

    def kill(self) -> None:
        self.sample_rss()
        super().kill()

    def stop(self) -> None:
        self.sample_rss()
        super().stop()


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


def _cpu_of(pid: int | str) -> tuple[str, float]:
    """A process's program name and CPU seconds (user + system) so far; ("", 0) if gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return "", 0.0
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # utime and stime: fields 14 and 15 of proc(5), 12 and 13 after the name.
    ticks = int(fields[11]) + int(fields[12])
    if name == "postgres":
        # cutime and cstime: the server's backends that have ended (a worker's connection
        # is closed after DB_CONN_MAX_AGE), counted by the postmaster that reaped them.
        ticks += int(fields[13]) + int(fields[14])
    return name, ticks / os.sysconf("SC_CLK_TCK")


def cpu_reading(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each named group of processes, by every other process
    per program name (``postgres``, ``redis-server``…), and by the whole machine
    (``"machine"``, from /proc/stat). Two readings' difference says which processes a phase
    kept busy; a process that ended in between is missing from the second, so the groups
    should be processes that last (the workers, the sinks, the server's pooled backends)."""
    reading: dict[str, float] = {}
    grouped: set[int] = set()
    for group, pids in groups.items():
        reading[group] = sum(_cpu_of(pid)[1] for pid in pids)
        grouped.update(pids)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in grouped:
            name, seconds = _cpu_of(entry)
            if name:
                reading[name] = reading.get(name, 0.0) + seconds
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    busy = sum(int(value) for index, value in enumerate(fields[:8]) if index not in (3, 4))
    reading["machine"] = busy / os.sysconf("SC_CLK_TCK")
    return reading


def cpu_used_between(before: dict[str, float], after: dict[str, float]) -> str:
    """What each group or program used between two readings, largest first, one line."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after if name != "machine"}
    shown = sorted((item for item in spent.items() if item[1] >= 0.5), key=lambda i: -i[1])
    parts = [f"{name} {seconds:.1f}" for name, seconds in shown]
    total = after["machine"] - before["machine"]
    rest = total - sum(seconds for _, seconds in shown)
    return f"CPU seconds: machine {total:.1f} = " + ", ".join([*parts, f"the rest {rest:.1f}"])
