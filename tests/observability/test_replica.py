"""The read replica (DATABASE_REPLICA_URL and slaportal.replica) against a real streaming
replica: a primary and its replica are started on ports of their own, and the cases of
replica_cases.py run in a pytest of their own pointed at them."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.observability.postgres_pair import PROGRAMS, StreamingPair, server_binaries
from tests.processes import ROOT

BIN = server_binaries()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BIN is None,
        reason=f"no PostgreSQL server binaries ({', '.join(PROGRAMS)}) under "
        "/usr/lib/postgresql/*/bin to start a primary and its streaming replica",
    ),
]


@pytest.fixture
def streaming_pair():
    pair = StreamingPair.start(BIN)
    yield pair
    pair.stop()


def test_router_against_a_streaming_replica(streaming_pair, worker_env):
    env = {
        **worker_env,
        "DATABASE_URL": streaming_pair.url(streaming_pair.primary_port, "slaportal"),
        "DATABASE_REPLICA_URL": streaming_pair.url(streaming_pair.replica_port, "slaportal"),
    }
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
            "tests/observability/replica_cases.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = re.search(r"(\d+) passed", output)
    assert summary and int(summary.group(1)) >= 9, output
    assert "skipped" not in output, output
