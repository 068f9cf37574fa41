"""Real processes for integration tests and benchmarks: a Celery worker against the real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], bool], timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def purge_queue(env: dict[str, str]) -> None:
    """Drop every message waiting in the broker database of ``env``."""
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "slaportal", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


class CeleryWorker:
    """A real Celery worker process (prefork, ``concurrency`` children), in its own
    process group so that it can be stopped, or killed as a crash would, as a whole."""

    # Subclasses tune these; the benchmarks' workers take longer to come up under load.
    options: tuple[str, ...] = ("--without-gossip", "--without-mingle")
    start_timeout: float = 60
    stop_timeout: float = 30

    def __init__(self, env: dict[str, str], concurrency: int = 1, name: str = "test") -> None:
        self.env = env
        self.concurrency = concurrency
        self.name = name
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / f"worker-{name}-{os.getpid()}.log"

    def start(self, purge: bool = True) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if purge:
            purge_queue(self.env)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "slaportal", "worker",
                "--loglevel", "INFO", "--concurrency", str(self.concurrency),
                "--hostname", f"{self.name}-{os.getpid()}@%h",
                *self.options,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        if not wait_for(lambda: "ready." in self.log(), timeout=self.start_timeout):
            self.stop()
            raise RuntimeError(f"the Celery worker did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if getattr(self, "_log", None):
            self._log.close()
