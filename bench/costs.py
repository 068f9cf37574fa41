"""Where settling spends its time: one contract period at a time against a chunk at once.

    python -m bench.costs [--contracts 200] [--chunk 100]

Runs in this process, without Celery, on the sweep benchmark's book
(``slaportal_bench_sweep``; run ``python -m bench.sweep`` first), over the same
``--contracts`` due contract periods of the book, statements deleted between steps (the
periods after the book that are already due are settled first, untimed, as the sweep
benchmark does; a book of which a period is not due is refused: run the sweep again):

1. ``compute_period`` per contract period (effective objectives, the samples' aggregates,
   incidents, windows, lapses, the engine): reads only;
2. ``settle_period(announce=False)`` per contract period: plus the lock, the latest
   revision, the inserts and the commit;
3. ``settle_periods`` per ``--chunk`` contract periods, as the sweep's tasks settle: the
   same work with a constant number of queries per chunk;
4. announcing the statements one by one (``notify.statement_issued``) against a chunk at a
   time (``notify.statements_issued``, what the notification queue's task does);
5. all due contract periods of the book settled by ``settle_periods`` in chunks, next to
   the plain ``GROUP BY`` baseline of ``bench.sweep``: one process, so a lower bound of
   what one worker can do.

Each step prints milliseconds per contract period, wall and CPU (this process's share:
the rest is PostgreSQL and waiting on it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bench.common import Refused, bench_url, machine, process_env, setup_django
from tests.processes import purge_queue


def step(label: str, count: int, work: Callable[[], Any]) -> float:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  {label:<62} {1000 * wall / count:6.2f} ms wall, {1000 * cpu / count:6.2f} ms CPU "
        "per contract period",
        flush=True,
    )
    return wall


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__)
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args(argv)
    if not 10 <= args.contracts <= 5000 or not 1 <= args.chunk <= 5000:
        parser.error("--contracts must be 10–5,000 and --chunk 1–5,000")
    os.environ["CELERY_BROKER_URL"] = process_env("")["CELERY_BROKER_URL"]
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    url = setup_django(bench_url("bench_sweep"))
    from django.db import connection
    from django.utils import timezone

    from bench.sweep import (
        baseline_seconds,
        delete_statements,
        last_day,
        settle_after_the_book,
    )
    from contracts.models import Contract
    from credits import notify
    from credits.settlement import compute_period, due_periods, settle_period, settle_periods

    with connection.cursor() as cursor:
        cursor.execute("SELECT summary FROM bench_book WHERE name = 'book'")
        row = cursor.fetchone()
    if row is None:
        raise SystemExit("no book in the sweep database: run python -m bench.sweep first")
    summary = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    print(f"machine: {machine()}")
    delete_statements()
    purge_queue(process_env(url))
    until = last_day(summary)
    settle_after_the_book(until)
    all_due = [pair for pair in due_periods(timezone.now()) if pair[1] <= until]
    if len(all_due) != summary["contract_periods"]:
        raise Refused(
            "bench.costs",
            f"{len(all_due):,} of the book's {summary['contract_periods']:,} contract periods "
            "are due now: run python -m bench.sweep, which builds the book again",
        )
    contracts = {c.pk: c for c in Contract.objects.all()}
    due = all_due[: args.contracts]
    count = len(due)
    print(f"{count} of {len(all_due):,} due contract periods, in this process:")

    step(
        "1. compute_period, one at a time (reads + engine)",
        count,
        lambda: [compute_period(contract=contracts[c], period_start=s) for c, s in due],
    )
    delete_statements()
    step(
        "2. settle_period(announce=False), one at a time",
        count,
        lambda: [
            settle_period(contract=contracts[c], period_start=s, announce=False) for c, s in due
        ],
    )
    delete_statements()
    issued: list[int] = []

    def settle_in_chunks(pairs: list[Any]) -> None:
        for chunk in chunks(pairs, args.chunk):
            outcomes = settle_periods(chunk, announce=False)
            issued.extend(outcome.statement.pk for outcome in outcomes)

    step(f"3. settle_periods, {args.chunk} at a time", count, lambda: settle_in_chunks(due))
    one, rest = issued[: count // 2], issued[count // 2 :]
    step(
        "4a. notify.statement_issued, one statement at a time",
        len(one),
        lambda: [notify.statement_issued(statement_id=pk) for pk in one],
    )
    step(
        f"4b. notify.statements_issued, {args.chunk} statements at a time",
        len(rest),
        lambda: [notify.statements_issued(chunk) for chunk in chunks(rest, args.chunk)],
    )
    delete_statements()
    purge_queue(process_env(url))
    issued.clear()
    seconds = step(
        f"5. the whole book: settle_periods, {args.chunk} at a time",
        len(all_due),
        lambda: settle_in_chunks(all_due),
    )
    base, _runs = baseline_seconds(summary)
    print(
        f"     {len(all_due):,} contract periods in {seconds:.2f} s in one process: "
        f"{seconds / base:.1f}× the plain GROUP BY ({base:.2f} s)"
    )
    delete_statements()
    print(f"  (run at {datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
