"""The notification benchmark at a tiny size: real workers announce the sweep's statements
to both parties over real SMTP and HTTP sinks, and it prints what was sent, where the CPU
went and the ratio, reading when the last notice went from the rows themselves."""

from __future__ import annotations

import re

import pytest

from tests.bench.test_issue14_benches import run_bench

pytestmark = [pytest.mark.slow, pytest.mark.worker]


def test_the_notify_benchmark_announces_every_statement_and_prints_the_ratio():
    result = run_bench(
        "bench.notify",
        "--contracts",
        "12",
        "--samples",
        "3000",
        "--timeout",
        "300",
        database="bench_notify",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^sweep, 2 workers: 12 statements in +[\d.]+ s$", out, re.M), out
    sent = re.search(
        r"^notified: ([\d,]+) in-app notifications, ([\d,]+) e-mails and ([\d,]+) webhooks "
        r"sent \(0 failed or refused\), the last (-?[\d.]+) s after the sweep ended "
        r"\(seen by the poll after ([\d.]+) s\)$",
        out,
        re.M,
    )
    assert sent, out
    notifications, emails, webhooks = (int(n.replace(",", "")) for n in sent.groups()[:3])
    last, seen = float(sent.group(4)), float(sent.group(5))
    # (At this size the last notice can go within the poll's fifth of a second after the
    # sweep's end, so "the last" may even read a little below zero.)
    # Every statement reached both parties' members, and every provider's webhook.
    assert notifications >= 2 * 12 and emails >= 2 * 12 and webhooks >= 12
    # What the rows say went last is never after the poll saw it all sent.
    assert last <= seen
    sinks = re.search(r"^sinks: SMTP ([\d,]+) messages .* HTTP ([\d,]+) requests", out, re.M)
    assert sinks and int(sinks.group(1).replace(",", "")) >= emails, out
    assert re.search(r"^  after the sweep, CPU seconds: machine [\d.]+ = ", out, re.M), out
    target = r"^target: notifying (-?[\d.]+) s ÷ sweep ([\d.]+) s = (-?[\d.]+) "
    ratio = re.search(target, out, re.M)
    assert ratio, out
    assert float(ratio.group(1)) == pytest.approx(last, abs=0.05)
