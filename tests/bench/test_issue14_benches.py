"""The ticket settlement and calendar sweep benchmarks at a tiny size: each reports its
figures and ratio, or refuses in one line when a run settled less than it built.

They run as the commands they are, in processes of their own, each on a database of its
own named after this suite's (kept between runs, as benchmark databases are, so that only
the first run migrates it) and this suite's Redis database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.conf import settings

from tests.processes import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.dates]


def run_bench(module: str, *args: str, database: str) -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    name = db["NAME"].removeprefix("test_")
    url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{name}_{database}"
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "BENCH_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def failure(result: subprocess.CompletedProcess, module: str) -> str:
    """The one line a failing benchmark ends with, on stderr, with status 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"python -m {module}: "), result.stderr
    return last


def refusal(result: subprocess.CompletedProcess, module: str) -> str:
    """A failure that reports no figures."""
    line = failure(result, module)
    figures = [line for line in result.stdout.splitlines() if line.startswith("ratio ")]
    assert not figures, result.stdout
    return line


def test_the_ticket_benchmark_settles_every_ticket_and_sample_and_prints_the_ratio():
    result = run_bench(
        "bench.tickets", "--tickets", "300", "--runs", "1", "--check", database="bench_tickets"
    )
    out = result.stdout
    assert "3 ticket lines counted 300 tickets" in out, out
    assert "kept clocks: the first ticket settlement built 300 " in out, out
    assert "1 ratio line counted 300 samples" in out, out
    assert "public holidays in Germany (BE) excluded" in out
    # --check fails exactly when the ratio printed is above the target.
    if "ABOVE the target of ≤ 2×" in out:
        assert failure(result, "bench.tickets").endswith("is above the target of 2×")
    else:
        assert "meets the target of ≤ 2×" in out
        assert result.returncode == 0, result.stderr


def test_the_ticket_benchmark_refuses_a_month_it_cannot_settle():
    this_month = datetime.now(UTC).strftime("%Y-%m")
    result = run_bench(
        "bench.tickets",
        "--tickets",
        "50",
        "--runs",
        "1",
        "--month",
        this_month,
        database="bench_tickets",
    )
    assert "not settled" in refusal(result, "bench.tickets")


@pytest.mark.worker
def test_the_calendar_sweep_benchmark_sweeps_the_book_twice_and_prints_the_ratio():
    result = run_bench(
        "bench.calendar_sweep",
        *("--contracts", "12", "--samples", "3000", "--workers", "1", "--runs", "1", "--check"),
        database="bench_calendar_sweep",
    )
    out = result.stdout
    assert "sweep without calendars: 12 statements" in out, out + result.stderr
    assert "sweep with calendars: 12 statements" in out, out
    assert "(0 in service hours)" in out.split("sweep with calendars")[0]
    assert "ratio with/without calendars:" in out
    if "ABOVE the target" in out:
        assert failure(result, "bench.calendar_sweep").endswith("above the target of 1.3×")
    else:
        assert result.returncode == 0, result.stderr


@pytest.mark.worker
def test_the_calendar_sweep_benchmark_refuses_a_sweep_that_did_not_settle_the_book():
    result = run_bench(
        "bench.calendar_sweep",
        *("--contracts", "12", "--samples", "3000", "--workers", "1", "--timeout", "0.01"),
        database="bench_calendar_sweep",
    )
    line = refusal(result, "bench.calendar_sweep")
    assert "of the book's 12 contract periods within 0.01 s; no figures reported" in line
