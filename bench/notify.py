"""Notification benchmark: the sweep's statements announced to both parties, by real
workers, over real SMTP and HTTP on loopback, against the sweep's own time.

    python -m bench.notify [--contracts 20000] [--samples 10000000] [--workers 2]
                           [--timeout 3600]

Loads (or reuses) the book of ``bench.sweep`` in a database of its own
(``slaportal_bench_notify``; ``$BENCH_DATABASE_URL`` overrides), gives every provider a
signed-JSON webhook and every tenth customer a Slack-shaped one, all to a local HTTP/1.1
receiver, and starts an SMTP server that counts what it accepts, each in a process of its
own (``tests/scale_notify/sinks.py``: ``CountingSmtpSink``, a stand-in for a relay; the
tests' aiosmtpd server cost ~2 ms of these two cores' CPU per message). Then, with every
statement deleted, starts the workers (e-mail through ``smtp://127.0.0.1``), sends the
``credits.sweep`` task as beat does, and times (1) the sweep: until every period of the
book has a statement, and (2) notifying: from the sweep's end until the last of the
statements' in-app notifications was written and the last of their deliveries sent (every
e-mail received by the SMTP server, every webhook answered), as those rows record it. The
poll that notices the end may notice it late, for the sinks also receive the early
warnings of open periods that the sweep sends last, at a lower priority. Prints both, what
the sinks received and how many connections it took, and the CPU seconds each program used
during the sweep and after it (workers, sinks, PostgreSQL…). Target: notifying, from the
sweep's end, ≤ 2× the sweep's own time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from pathlib import Path

from bench.common import (
    Refused,
    Worker,
    bench_url,
    cpu_reading,
    cpu_used_between,
    machine,
    process_env,
    setup_django,
)
from tests.processes import purge_queue
from tests.scale_notify.sinks import SinkProcess

TARGET = 2.0
# The statements' own announcements (the early warnings of open periods that the sweep
# also sends are counted by the sinks, not waited for).
STATEMENTS = "event IN ('statement_issued', 'no_data')"
SECRET = "bench-notify-secret"


def give_webhooks(url: str) -> int:
    """A webhook for every provider (signed JSON) and every tenth customer (Slack)."""
    from contracts.models import Organization
    from people.models import Webhook

    providers = list(Organization.objects.filter(kind="provider").values_list("pk", flat=True))
    customers = list(Organization.objects.filter(kind="customer").values_list("pk", flat=True))
    chosen = [(pk, "json") for pk in providers] + [(pk, "slack") for pk in customers[::10]]
    Webhook.objects.all().delete()
    Webhook.objects.bulk_create(
        Webhook(organization_id=pk, url=url, secret=SECRET, format=shape) for pk, shape in chosen
    )
    return len(chosen)


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM credits_pendingannouncement),"
            f" (SELECT count(*) FROM credits_notification WHERE {STATEMENTS}),"
            f" (SELECT count(*) FROM credits_delivery WHERE {STATEMENTS} AND status = 'pending'),"
            f" (SELECT count(*) FROM credits_delivery WHERE {STATEMENTS} AND status = 'sent'"
            "   AND channel = 'email'),"
            f" (SELECT count(*) FROM credits_delivery WHERE {STATEMENTS} AND status = 'sent'"
            "   AND channel = 'webhook'),"
            " (SELECT count(*) FROM credits_delivery WHERE status IN ('failed', 'refused'))"
        )
        row = cursor.fetchone()
    names = ("outbox", "notifications", "pending", "emails", "webhooks", "failed")
    return dict(zip(names, row, strict=True))


def notified() -> bool:
    """Whether every statement was announced and every delivery of theirs sent: what the
    clock polls, stopping at the first row still waiting (:func:`counts` reads them all,
    which would load the database the workers use)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT FROM credits_pendingannouncement)"
            f" AND NOT EXISTS (SELECT FROM credits_delivery WHERE {STATEMENTS}"
            "   AND status = 'pending')"
            f" AND EXISTS (SELECT FROM credits_delivery WHERE {STATEMENTS}"
            "   AND status = 'sent' AND channel = 'email')"
        )
        return cursor.fetchone()[0]


def profile(pool: list[Worker], folder: Path | None, phase: str) -> list[subprocess.Popen]:
    """py-spy on each worker's pool process, writing ``<folder>/<phase>-N.txt``."""
    if folder is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    from bench.sweep import start_profiler

    started = (start_profiler(w, folder / f"{phase}-{n}.txt") for n, w in enumerate(pool))
    return [profiler for profiler in started if profiler is not None]


def stop_profilers(profilers: list[subprocess.Popen]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(timeout=60)
    profilers.clear()


def last_sent() -> float:
    """When the last of the statements' notices was written or sent (the Unix time of the
    last in-app notification's writing and of the last delivery's sending, as the worker
    that sent it recorded it, just after the receiver took it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest("
            f" (SELECT max(sent_at) FROM credits_delivery WHERE {STATEMENTS}),"
            f" (SELECT max(created_at) FROM credits_notification WHERE {STATEMENTS}))"
        )
        return cursor.fetchone()[0].timestamp()


def reading_at(readings: list[tuple[float, dict[str, float]]], moment: float) -> dict[str, float]:
    """The first CPU reading taken at or after ``moment`` (the last one if none was)."""
    return next((reading for at, reading in readings if at >= moment), readings[-1][1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--profile",
        type=Path,
        help="a folder for py-spy's profiles (raw, collapsed stacks) of each worker's pool "
        "process: sweep-N.txt while the sweep runs, notify-N.txt after it",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.contracts <= 20_000 or not 1 <= args.samples <= 10_000_000:
        parser.error("--contracts must be 1–20,000 and --samples 1–10,000,000")
    if not 1 <= args.workers <= 8 or not 10 <= args.timeout <= 7200:
        parser.error("--workers must be 1–8 and --timeout 10–7,200 seconds")

    os.environ["CELERY_BROKER_URL"] = process_env("")["CELERY_BROKER_URL"]
    url = setup_django(bench_url("bench_notify"))
    from bench.sweep import (
        analyze_credits,
        count_due,
        count_statements,
        delete_statements,
        last_day,
        load_book,
        send_sweep,
        settle_after_the_book,
    )

    print(f"machine: {machine()}")
    summary = load_book(args.contracts, args.samples, args.seed)
    until = last_day(summary)
    with SinkProcess("smtp") as smtp, SinkProcess("http") as http:
        hooks = give_webhooks(f"http://127.0.0.1:{http.port}/hooks/sla")
        print(f"webhooks: {hooks:,} organisations, to a local HTTP/1.1 receiver")
        env = process_env(
            url,
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
            WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        )
        delete_statements()
        purge_queue(env)
        after = settle_after_the_book(until)
        if after:
            print(f"  {after:,} due periods after the book settled first, untimed, unannounced")
        analyze_credits()
        due = count_due(until)
        if due != summary["contract_periods"]:
            raise Refused("bench.notify", f"{due:,} of the book's periods are due now")
        pool = [Worker(env, name=f"notify-{n}") for n in range(args.workers)]
        try:
            for worker in pool:
                worker.start()
            mains = [worker.process.pid for worker in pool if worker.process]
            groups = {
                "worker pools": [p for w in pool for p in w.pids() if p not in mains],
                "worker consumers": mains,
                "SMTP sink": [smtp.process.pid],
                "HTTP sink": [http.process.pid],
            }
            profilers = profile(pool, args.profile, "sweep")
            # A reading a second, with its time: each phase's CPU is read between the
            # readings nearest its ends, however late the poll noticed the end.
            readings = [(time.time(), cpu_reading(groups))]
            started_at = time.time()
            send_sweep()
            swept_at = done = None
            received = (-1, -1)
            asked = 0.0
            while time.time() - started_at < args.timeout:
                if time.time() - readings[-1][0] >= 1:
                    readings.append((time.time(), cpu_reading(groups)))
                if swept_at is None and count_statements(until) >= due:
                    swept_at = time.time()
                    readings.append((swept_at, cpu_reading(groups)))
                    stop_profilers(profilers)
                    profilers = profile(pool, args.profile, "notify")
                # The database is asked whether all is sent only once the sinks went quiet
                # for a poll, or every few seconds (they also receive the early warnings
                # of open periods that the sweep sends last): its answer reads the
                # deliveries' status index, which every update leaves longer (more so
                # without autovacuum), and five such reads a second took PostgreSQL time
                # from the workers being measured. When it was all sent is read from the
                # rows afterwards (last_sent), not from when the poll noticed.
                quiet, received = received == (smtp.count, http.count), (smtp.count, http.count)
                if swept_at is not None and (quiet or time.time() - asked >= 3):
                    asked = time.time()
                    if notified():
                        done = time.time()
                        readings.append((done, cpu_reading(groups)))
                        break
                time.sleep(0.2)
        finally:
            stop_profilers(profilers)
            for worker in pool:
                worker.stop()
        final = counts()
        if swept_at is None or done is None:
            raise Refused(
                "bench.notify",
                f"not done within {args.timeout:g} s (swept: {swept_at}, counts: {final})",
            )
        time.sleep(0.5)  # the sinks publish their counts every 0.2 s
        swept = swept_at - started_at
        finished_at = last_sent()
        notifying = finished_at - swept_at
        print(f"sweep, {args.workers} workers: {due:,} statements in {swept:7.1f} s")
        print(
            f"notified: {final['notifications']:,} in-app notifications, "
            f"{final['emails']:,} e-mails and {final['webhooks']:,} webhooks sent "
            f"({final['failed']:,} failed or refused), the last {notifying:.1f} s after the "
            f"sweep ended (seen by the poll after {done - swept_at:.1f} s)"
        )
        print(
            f"sinks: SMTP {smtp.count:,} messages over {smtp.connections:,} connections; "
            f"HTTP {http.count:,} requests over {http.connections:,} connections "
            "(the statements' and the early warnings')"
        )
    print(f"  during the sweep, {cpu_used_between(readings[0][1], reading_at(readings, swept_at))}")
    print(
        "  after the sweep, "
        f"{cpu_used_between(reading_at(readings, swept_at), reading_at(readings, finished_at))}"
    )
    ratio = notifying / swept
    print(
        f"target: notifying {notifying:.1f} s ÷ sweep {swept:.1f} s = {ratio:.2f} "
        f"(≤ {TARGET:g}): {'met' if ratio <= TARGET else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
