"""Settlement sweep benchmark: the real sweep, real Celery workers, one closed month.

    python -m bench.sweep [--contracts 2000] [--samples 5000000] [--workers 1,2]
                          [--scale-check] [--no-fault-check] [--timeout 1800]

Loads (or reuses, when the ``bench_book`` marker says the same book is there) a book of
monthly contracts, all active, with ``--samples`` samples in one closed month, in its own
database (``slaportal_bench_sweep``; ``$BENCH_DATABASE_URL`` overrides). The month is the
latest one due for every contract whatever the day (see ``bench.generate``): each run
settles the whole book. Then, for each worker count, with every statement deleted first
(``TRUNCATE``: the immutability trigger guards UPDATE and DELETE only) and the periods
after the book that are already due settled untimed (the sweeps of the days before would
have settled them; they hold no samples): starts that many Celery workers
(``--concurrency 1`` each, Redis db 9), sends the ``credits.sweep`` task exactly as Celery
beat does, and waits until every period of the book has a statement. Prints statements/s,
objective-periods/s (statement lines), the wall time, the workers' peak RSS (VmHWM) and the
baseline: one plain ``GROUP BY`` over the month's samples, timed in the same run; ratio =
sweep / baseline.

Fault check: the same sweep with two workers, one SIGKILLed halfway, restarted, and the
sweep sent again; its totals must be identical to the uninterrupted run's.
``--scale-check``: the same with 10× the contracts and samples (its own database), which
must take at most 12× the time.

Targets: ratio ≤ 5 with 2 workers; 2 workers ≥ 1.6× faster than 1; 10× the book ≤ 12× the
time; worker RSS < 300 MB. A run that settles less than the whole book reports no figures:
it exits with status 1 and one line saying how much it settled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import (
    ROOT,
    Refused,
    Worker,
    bench_url,
    machine,
    process_env,
    setup_django,
    switch_database,
    timed,
)
from tests.processes import purge_queue

RATIO_TARGET = 5.0
SPEEDUP_TARGET = 1.6
SCALE_TARGET = 12.0
RSS_TARGET_MB = 300.0
CREDITS_TABLES = (
    "credits_statementline",
    "credits_statement",
    "credits_dispute",
    "credits_notification",
    "credits_delivery",
    "credits_emailcontent",
    "credits_earlywarning",
    # Each contract's settled-through day goes with the statements it counts.
    "contracts_settledthrough",
)


@dataclass
class Totals:
    statements: int
    lines: int
    credit_total: str
    digest: str

    def differences(self, other: Totals) -> list[str]:
        return [
            f"{name}: {getattr(self, name)} vs {getattr(other, name)}"
            for name in ("statements", "lines", "credit_total", "digest")
            if getattr(self, name) != getattr(other, name)
        ]


@dataclass
class RunResult:
    workers: int
    due: int
    statements: int
    lines: int
    seconds: float
    rss_mb: float
    complete: bool
    totals: Totals | None = None
    # Seconds from the sweep until every statement's notifications were written and every
    # delivery sent (the notify queue, which workers take after settlement); None: not
    # within the timeout.
    announced_seconds: float | None = None


# --------------------------------------------------------------------------- database


def month_bounds(summary: dict[str, Any]) -> tuple[datetime, datetime]:
    """The month's samples, in every contract's zone (UTC−5 to UTC+11 around the month)."""
    first = datetime.fromisoformat(summary["first_day"]).replace(tzinfo=UTC)
    last = datetime.fromisoformat(summary["last_day"]).replace(tzinfo=UTC)
    return first - timedelta(days=1), last + timedelta(days=2)


def baseline_seconds(summary: dict[str, Any], repeat: int = 3) -> tuple[float, list[float]]:
    """One plain GROUP BY over the month's samples: median of ``repeat`` timed runs."""
    from django.db import connection

    low, high = month_bounds(summary)
    sql = (
        "SELECT contract_service_id, key, count(*), sum(value), count(*) FILTER (WHERE ok) "
        "FROM contracts_measurement WHERE observed_at >= %s AND observed_at < %s GROUP BY 1, 2"
    )
    times = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [low, high])  # warm the cache, as the sweep's data is warm too
        cursor.fetchall()
        for _ in range(repeat):
            with timed() as elapsed:
                cursor.execute(sql, [low, high])
                rows = cursor.fetchall()
            times.append(elapsed[0])
    assert rows, "no samples in the month"
    return statistics.median(times), times


def last_day(summary: dict[str, Any]) -> date:
    return date.fromisoformat(summary["last_day"])


def delete_statements() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(CREDITS_TABLES)} CASCADE")


def count_due(until: date) -> int:
    """Due contract periods of the book (those starting by its last day)."""
    from django.utils import timezone

    from credits.settlement import due_periods

    return sum(1 for _, start in due_periods(timezone.now()) if start <= until)


def settle_after_the_book(until: date) -> int:
    """Settle, in this process and untimed, the due periods that start after the book: on
    the first days of a month, contracts with a short delay or an eastern zone already owe
    the month after the book, which has no samples and is not the work measured."""
    from django.utils import timezone

    from credits.settlement import due_periods, settle_periods

    after = [pair for pair in due_periods(timezone.now()) if pair[1] > until]
    for offset in range(0, len(after), 500):
        settle_periods(after[offset : offset + 500], announce=False)
    return len(after)


def analyze_credits() -> None:
    """Vacuum and analyze the credits tables, as autovacuum keeps them where the portal
    runs. Emptied by ``delete_statements`` and refilled, they have no statistics, and the
    planner, guessing that a list of a hundred statements matches half of any table, reads
    every statement line for each batch of statements it announces (this machine's
    PostgreSQL runs without autovacuum, which would have analyzed them within a minute)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in CREDITS_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def count_statements(until: date) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM credits_statement WHERE period_start <= %s", [until])
        return cursor.fetchone()[0]


def count_announced() -> int:
    """Statements whose issue was published, once no delivery waits to be sent."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM credits_delivery WHERE status = 'pending'")
        if cursor.fetchone()[0]:
            return 0
        cursor.execute(
            "SELECT count(DISTINCT event_id) FROM credits_notification "
            "WHERE event = 'statement_issued'"
        )
        return cursor.fetchone()[0]


def totals(until: date) -> Totals:
    """What the run produced for the book: counts, the sum of credits, and a digest of every
    statement (contract, period, revision, fingerprint, credit) so that equal totals mean
    equal statements."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contract_id, period_start, revision, fingerprint, credit_total "
            "FROM credits_statement WHERE period_start <= %s "
            "ORDER BY contract_id, period_start, revision",
            [until],
        )
        digest = hashlib.sha256()
        credit = 0
        count = 0
        for row in cursor.fetchall():
            digest.update(repr(row).encode())
            credit += row[4]
            count += 1
        lines = count_lines(cursor, until)
    return Totals(count, lines, str(credit), digest.hexdigest()[:16])


def count_lines(cursor: Any, until: date) -> int:
    cursor.execute(
        "SELECT count(*) FROM credits_statementline l JOIN credits_statement s "
        "ON s.id = l.statement_id WHERE s.period_start <= %s",
        [until],
    )
    return cursor.fetchone()[0]


# --------------------------------------------------------------------------- runs


def send_sweep() -> None:
    from slaportal.celery import app

    app.send_task("credits.sweep")


# Where a settling worker spends its time: the first category whose marker appears in a
# sampled stack wins (so the notification sent on commit is not counted as "commit").
PROFILE_CATEGORIES = [
    ("notify both parties (statement_issued, no_data)", ("statement_issued (", "no_data (")),
    ("send e-mails and webhooks (deliveries)", ("send_delivery (",)),
    ("early warnings and progress of open periods", ("warn_open_periods (",)),
    ("aggregate the samples (2 queries per chunk)", ("_batch_aggregates (",)),
    ("effective objectives (2 queries per chunk)", ("_plans (",)),
    ("relief, incidents, maintenance (3 queries)", ("_attach_relief (", "_uptime_inputs (")),
    ("engine: measures, rules, explanations", ("/engine/",)),
    ("fingerprint of the statement", ("snapshot (", "sha256", "dumps (")),
    ("insert the statements and their lines", ("_write_many (",)),
    ("lock, latest revisions, commit", ("settle_periods (",)),
    ("Celery: receive, ack, other tasks", ("trace_task (", "fast_trace_task (")),
]


def start_profiler(worker: Worker, path: Any) -> subprocess.Popen | None:
    """py-spy on the worker's pool process, idle time included (waits on PostgreSQL)."""
    children = [pid for pid in worker.pids() if worker.process and pid != worker.process.pid]
    if not children:
        return None
    return subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "py-spy"), "record",
            "--pid", str(children[0]), "--idle", "--rate", "200", "--format", "raw",
            "--output", str(path), "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: Any) -> list[str]:
    """Share of the pool process's samples per category, and of those waiting on the DB."""
    totals: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    try:
        text = path.read_text()
    except OSError:
        return ["  (no profile was written)"]
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        category = "idle: waiting for the next task"
        for name, markers in PROFILE_CATEGORIES:
            if any(marker in stack for marker in markers):
                category = name
                break
        totals[category] += int(count)
        frames = stack.split(";")
        if any("psycopg" in frame for frame in frames[-6:]):
            waiting[category] += int(count)
    busy = sum(n for c, n in totals.items() if not c.startswith("idle")) or 1
    lines = [f"  profile of the pool process (py-spy, {sum(totals.values()):,} samples):"]
    for category, count in totals.most_common():
        if category.startswith("idle"):
            continue
        lines.append(
            f"    {100 * count / busy:5.1f} %  {category}"
            f"  (of which {100 * waiting[category] / count:3.0f} % in PostgreSQL calls)"
        )
    idle = totals["idle: waiting for the next task"]
    lines.append(f"    idle (waiting for a task): {100 * idle / (sum(totals.values()) or 1):.1f} %")
    return lines


def run_sweep(
    url: str,
    summary: dict[str, Any],
    workers: int,
    timeout: float,
    *,
    kill_halfway: bool = False,
    label: str = "",
    profile: Any = None,
) -> RunResult:
    """Settle every period of the book with ``workers`` fresh worker processes."""
    env = process_env(url)
    until = last_day(summary)
    delete_statements()
    purge_queue(env)
    after = settle_after_the_book(until)
    if after:
        print(f"  {after:,} due periods after the book settled first, untimed")
    due = count_due(until)
    if due != summary["contract_periods"]:
        raise Refused(
            "bench.sweep",
            f"{due:,} of the book's {summary['contract_periods']:,} contract periods are due "
            f"now (book up to {until}); the run would not measure the book",
        )
    pool = [Worker(env, name=f"{label or 'sweep'}-{n}") for n in range(workers)]
    try:
        for worker in pool:
            worker.start()
        profiler = start_profiler(pool[0], profile) if profile else None
        killed = False
        with timed() as elapsed:
            send_sweep()
            started = time.perf_counter()
            done = 0
            while time.perf_counter() - started < timeout:
                done = count_statements(until)
                for worker in pool:
                    worker.sample_rss()
                if done >= due:
                    break
                if kill_halfway and not killed and done >= due // 2:
                    pool[0].kill()
                    sys.stdout.write(f"  killed worker 1 (SIGKILL) at {done:,}/{due:,}; ")
                    pool[0] = Worker(env, name=f"{label}-restarted")
                    pool[0].start()
                    send_sweep()
                    print("restarted it and sent the sweep again")
                    killed = True
                time.sleep(0.05)
        # The profile covers settling only; notifying follows, on its own queue.
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        announced = None
        while done >= due and time.perf_counter() - started < timeout:
            if count_announced() >= done:
                announced = time.perf_counter() - started
                break
            time.sleep(0.2)
        rss = max(worker.sample_rss() for worker in pool)
    finally:
        for worker in pool:
            worker.stop()
    from django.db import connection

    with connection.cursor() as cursor:
        lines = count_lines(cursor, until)
    return RunResult(
        workers=workers,
        due=due,
        statements=done,
        lines=lines,
        seconds=elapsed[0],
        rss_mb=max(rss, *(w.peak_rss_mb for w in pool)),
        complete=done >= due,
        totals=totals(until),
        announced_seconds=announced,
    )


def check_complete(result: RunResult, timeout: float, what: str) -> None:
    """Refuse to report a run that settled less than the whole book."""
    if not result.complete:
        raise Refused(
            "bench.sweep",
            f"{what} settled {result.statements:,} of the book's {result.due:,} contract "
            f"periods within {timeout:g} s; no figures reported",
        )


def describe(result: RunResult, baseline: float) -> str:
    rate = result.statements / result.seconds
    lines = result.lines / result.seconds
    return (
        f"sweep, {result.workers} worker{'s' if result.workers != 1 else ' '}: "
        f"{result.statements:,} statements, {result.lines:,} objective-periods in "
        f"{result.seconds:7.1f} s = {rate:6.1f} statements/s, {lines:7.1f} objective-periods/s; "
        f"ratio to baseline {result.seconds / baseline:6.1f}; worker peak RSS "
        f"{result.rss_mb:.0f} MB\n"
        f"  then both parties notified (notifications written, deliveries sent) "
        + (
            f"{result.announced_seconds:.1f} s after the sweep started"
            if result.announced_seconds is not None
            else "not within the timeout"
        )
    )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def load_book(contracts: int, samples: int, seed: int) -> dict[str, Any]:
    from bench.generate import BookSpec, loaded_book, write_book

    spec = BookSpec(
        contracts=contracts,
        months=1,
        samples=samples,
        seed=seed,
        periods=("month",),
        all_active=True,
    )
    summary = loaded_book(spec)
    if summary is not None:
        print("book: reused (bench_book marker matches)")
    else:
        summary = write_book(spec, report=lambda line: print(f"  {line}", flush=True))
    from django.db import connection

    # A closed month's samples have long been vacuumed by autovacuum in real life; a book
    # loaded a minute ago has not, and its index-only scans would visit the table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE contracts_measurement")
    print(
        f"book: {summary['contracts']:,} contracts ({summary['contract_periods']:,} contract "
        f"periods), {summary['contract_services']:,} contract "
        f"services, {summary['service_levels']:,} objectives, {summary['samples']:,} samples "
        f"from {summary['first_day']} to {summary['last_day']}, {summary['incidents']:,} "
        f"incidents, {summary['lapses']:,} lapses"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--contracts", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--scale-check", action="store_true", help="also 10× the book")
    parser.add_argument("--no-fault-check", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per sweep")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the first worker of the first run"
    )
    args = parser.parse_args(argv)
    try:
        counts = sorted({int(part) for part in args.workers.split(",") if part.strip()})
    except ValueError:
        parser.error("--workers takes a comma-separated list of worker counts, e.g. 1,2")
    if not counts or counts[0] < 1 or counts[-1] > 8:
        parser.error("--workers takes counts between 1 and 8")
    if not 1 <= args.contracts <= 20_000 or not 1 <= args.samples <= 10_000_000:
        parser.error("--contracts must be 1–20,000 and --samples 1–10,000,000")
    if not 10 <= args.timeout <= 7200:
        parser.error("--timeout must be between 10 and 7,200 seconds")

    os.environ["CELERY_BROKER_URL"] = process_env("")["CELERY_BROKER_URL"]
    url = setup_django(bench_url("bench_sweep"))
    print(f"machine: {machine()}")
    summary = load_book(args.contracts, args.samples, args.seed)
    base, base_runs = baseline_seconds(summary)
    print(
        f"baseline: GROUP BY (contract service, key) over {summary['samples']:,} samples: "
        f"{base:.2f} s (median of {', '.join(f'{t:.2f}' for t in base_runs)})"
    )
    results: dict[int, RunResult] = {}
    profile = ROOT / "var" / "bench-sweep-profile.txt" if args.profile else None
    for count in counts:
        results[count] = run_sweep(
            url, summary, count, args.timeout, label=f"w{count}", profile=profile
        )
        check_complete(results[count], args.timeout, f"the sweep with {count} worker(s)")
        print(describe(results[count], base), flush=True)
        if profile is not None:
            print("\n".join(summarise_profile(profile)), flush=True)
            profile = None

    print("targets:")
    most = max(counts)
    ratio = results[most].seconds / base
    met = ratio <= RATIO_TARGET
    print(f"  ratio with {most} workers {ratio:.1f} ≤ {RATIO_TARGET:g}: {verdict(met)}")
    if 1 in results and 2 in results:
        speedup = results[1].seconds / results[2].seconds
        print(
            f"  2 workers {speedup:.2f}× faster than 1 (≥ {SPEEDUP_TARGET}): "
            f"{verdict(speedup >= SPEEDUP_TARGET)}"
        )
    rss = max(result.rss_mb for result in results.values())
    print(
        f"  worker peak RSS {rss:.0f} MB < {RSS_TARGET_MB:.0f} MB: {verdict(rss < RSS_TARGET_MB)}"
    )
    # Missing a target is a figure to report; an inconsistent run is a failure.
    ok = True

    if not args.no_fault_check:
        reference = results[most].totals
        faulty = run_sweep(url, summary, 2, args.timeout, kill_halfway=True, label="fault")
        check_complete(faulty, args.timeout, "the fault check")
        assert reference is not None and faulty.totals is not None
        difference = faulty.totals.differences(reference)
        print(
            f"fault check (2 workers, one SIGKILLed halfway, restarted, sweep sent again): "
            f"{faulty.totals.statements:,} statements, {faulty.totals.lines:,} lines, credit "
            f"total {faulty.totals.credit_total} in {faulty.seconds:.1f} s: "
            + ("identical" if not difference else "DIFFERENT: " + "; ".join(difference))
        )
        ok &= not difference

    if args.scale_check:
        small = results[most]
        big_url = bench_url("bench_sweep_scale")
        switch_database(big_url)
        big_summary = load_book(args.contracts * 10, args.samples * 10, args.seed)
        big_base, _ = baseline_seconds(big_summary)
        print(f"baseline (10× book): {big_base:.2f} s")
        big = run_sweep(big_url, big_summary, most, args.timeout * 10, label="scale")
        check_complete(big, args.timeout * 10, "the scale check")
        print(describe(big, big_base))
        growth = big.seconds / small.seconds
        print(
            f"  10× the contracts in {growth:.1f}× the time (≤ {SCALE_TARGET:g}): "
            f"{verdict(growth <= SCALE_TARGET)}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
