"""Settling as samples and history grow (issue 19 §3): rollups and the settled-through day.

    python -m bench.scale [--parts samples,depth,huge] [--contracts 300] [--samples 1000000]
                          [--depth-contracts 100] [--depth-samples 200000] [--repeat 3]

Three parts, each in its own databases (``slaportal_bench_scale_*``), two Celery workers
(``--concurrency 1`` each, ``$BENCH_BROKER_URL``), the real sweep sent as beat sends it,
timed until every period of the measured month has a statement:

``samples``: one closed month of ``--contracts`` monthly contracts with ``--samples``
samples, and the same book with 10× the samples. Each settled ``--repeat`` times reading
the rollups, and with ``--before`` once reading every sample (``SETTLEMENT_READS_ROLLUPS=0``,
the code before). Target: 10× the samples in at most 1.3× the sweep time.

``depth``: ``--depth-contracts`` contracts one month deep, and the same contracts 60 months
deep with as many samples per month, every month before the last already settled (untimed,
as the sweeps of those five years would have). The latest month settled ``--repeat``
times. Target: at most 1.2× the time of the book one month deep. Also prints the due-period
query alone with and without the settled-through day.

``huge``: 20,000 contracts and 100,000,000 samples (``--huge-samples``) in one month,
written with ``COPY`` straight into the month partitions (round the triggers) and rolled
up afterwards by the rebuild function; the month's sweep with two workers, printed next
to one ``GROUP BY`` over the month's rollups (target: at most 5×). Needs about 30 GB of
disk; drop its database afterwards (``--drop``).

Samples are loaded with the partition loader below for every part (the book's structure by
``bench.generate``), so every book is rolled up the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import Worker, bench_url, machine, process_env, setup_django, switch_database
from tests.processes import purge_queue

SAMPLES_TARGET = 1.3
DEPTH_TARGET = 1.2
HUGE_TARGET = 5.0
HUGE_CONTRACTS = 20_000
HUGE_SAMPLES = 100_000_000


# --------------------------------------------------------------------------- loading


def load_book(spec: Any, label: str) -> dict[str, Any]:
    """The book of ``spec`` in the current database: its structure by ``bench.generate``
    (reused when the marker matches), its samples ``COPY``-ed straight into the month
    partitions without indexes, then indexed, rolled up, vacuumed and analyzed."""
    from django.db import connection

    from bench import generate

    summary = generate.loaded_book(spec)
    if summary is not None:
        print(f"{label}: book reused (bench_book marker matches)", flush=True)
        return summary
    started = time.perf_counter()
    summary = generate.write_book(dataclasses.replace(spec, samples=0))
    book = generate.build_book(spec)
    runs = generate.plan_samples(spec, book)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(
            "TRUNCATE contracts_measurement, contracts_measurementrollup, "
            "contracts_thresholdrollup, contracts_settledthrough"
        )
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
            "'contracts_measurement' AND indexname NOT LIKE '%%_pkey'"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'contracts_measurement'::regclass AND contype = 'f'"
        )
        foreign_keys = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE contracts_measurement DROP CONSTRAINT "{name}"')
        # Index builds and the rollups' GROUP BY over a month of samples sort in memory
        # rather than in temporary files (this session only).
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '256MB'")
        copied_at = time.perf_counter()
        shown = [0]

        def advanced(done: int) -> None:
            if done - shown[0] >= 5_000_000:
                rate = done / (time.perf_counter() - copied_at)
                print(f"  {done:,} samples copied ({rate:,.0f}/s)", flush=True)
                shown[0] = done

        done = generate.copy_samples(cursor, spec, runs, advanced)
        copied = time.perf_counter() - copied_at
        for _, definition in indexes:
            # A partitioned table's index is defined ON ONLY the parent: built like that
            # it would cover no partition.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        for name, definition in foreign_keys:
            cursor.execute(
                f'ALTER TABLE contracts_measurement ADD CONSTRAINT "{name}" {definition}'
            )
        indexed = time.perf_counter() - copied_at - copied
        cursor.execute("SELECT contracts_measurement_rollup_rebuild('-infinity', 'infinity')")
        rolled = time.perf_counter() - copied_at - copied - indexed
        summary["samples"] = done
        cursor.execute(
            f"UPDATE {generate.MARKER_TABLE} SET params = %s, summary = %s WHERE name = 'book'",
            [json.dumps(spec.key()), json.dumps(summary)],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contracts_measurementrollup")
        (hours,) = cursor.fetchone()
        cursor.execute("VACUUM ANALYZE contracts_measurement")
        cursor.execute("VACUUM ANALYZE contracts_measurementrollup")
        cursor.execute("VACUUM ANALYZE contracts_thresholdrollup")
    print(
        f"{label}: {summary['contracts']:,} contracts, {summary['contract_periods']:,} contract "
        f"periods, {done:,} samples copied into month partitions in {copied:.1f} s "
        f"({done / copied:,.0f}/s), indexed in {indexed:.1f} s, {hours:,} hourly rollups "
        f"built in {rolled:.1f} s; book ready in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return summary


# --------------------------------------------------------------------------- sweeping


def _statements(first: date, last: date) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM credits_statement WHERE period_start BETWEEN %s AND %s",
            [first, last],
        )
        return cursor.fetchone()[0]


def forget_month(first: date, last: date) -> None:
    """The measured month's statements removed (round the immutability trigger: a benchmark
    database only), and every settled-through day moved back before it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "DELETE FROM credits_statementline WHERE statement_id IN (SELECT id FROM "
            "credits_statement WHERE period_start BETWEEN %s AND %s)",
            [first, last],
        )
        cursor.execute(
            "DELETE FROM credits_statement WHERE period_start BETWEEN %s AND %s", [first, last]
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute(
            "UPDATE contracts_settledthrough SET through = %s WHERE through >= %s",
            [first - timedelta(days=1), first],
        )


def settle_untimed(pairs: list[tuple[int, date]]) -> None:
    from credits.settlement import settle_periods

    for offset in range(0, len(pairs), 200):
        settle_periods(pairs[offset : offset + 200], announce=False)


def sweep_month(url: str, first: date, last: date, *, rollups: bool, timeout: float) -> float:
    """Seconds for two fresh workers to settle every due period starting in [first, last]
    after one sweep; the periods after it settled first, untimed."""
    from django.utils import timezone

    from credits.settlement import due_periods
    from slaportal.celery import app

    due = [p for p in due_periods(timezone.now()) if first <= p[1] <= last]
    after = [p for p in due_periods(timezone.now()) if p[1] > last]
    settle_untimed(after)
    env = process_env(url, SETTLEMENT_READS_ROLLUPS="1" if rollups else "0")
    purge_queue(env)
    pool = [Worker(env, name=f"scale-{n}") for n in range(2)]
    try:
        for worker in pool:
            worker.start()
        started = time.perf_counter()
        app.send_task("credits.sweep")
        while _statements(first, last) < len(due):
            if time.perf_counter() - started > timeout:
                raise SystemExit(
                    f"bench.scale: {_statements(first, last):,} of {len(due):,} periods "
                    f"settled within {timeout:g} s; no figures reported"
                )
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        for worker in pool:
            worker.stop()


def repeated(url: str, first: date, last: date, rollups: bool, repeat: int, timeout: float):
    times = []
    for _ in range(repeat):
        forget_month(first, last)
        times.append(sweep_month(url, first, last, rollups=rollups, timeout=timeout))
    return statistics.median(times), times


def describe(times: list[float]) -> str:
    return f"median of {', '.join(f'{t:.2f}' for t in times)}"


def month_of(summary: dict[str, Any]) -> tuple[date, date]:
    last = date.fromisoformat(summary["last_day"])
    return last.replace(day=1), last


# --------------------------------------------------------------------------- parts


def _spec(contracts: int, samples: int, months: int = 1) -> Any:
    from bench.generate import BookSpec

    return BookSpec(
        contracts=contracts,
        months=months,
        samples=samples,
        seed=1,
        periods=("month",),
        all_active=True,
    )


def part_samples(args: argparse.Namespace) -> bool:
    results = {}
    for factor in (1, 10):
        url = bench_url(f"bench_scale_s{factor}_h5")
        switch_database(url)
        summary = load_book(_spec(args.contracts, args.samples * factor), f"×{factor} samples")
        first, last = month_of(summary)
        for rollups in (True, False) if args.before else (True,):
            repeat = args.repeat if rollups else 1
            median, times = repeated(url, first, last, rollups, repeat, args.timeout)
            results[(factor, rollups)] = median
            print(
                f"  ×{factor} samples ({summary['samples']:,}), "
                f"{'rollups' if rollups else 'samples read'}: sweep {median:.2f} s "
                f"({describe(times)})",
                flush=True,
            )
    met = True
    for rollups in (False, True):
        if (1, rollups) not in results:
            continue
        ratio = results[(10, rollups)] / results[(1, rollups)]
        name = "after (rollups)" if rollups else "before (every sample read)"
        print(f"  10× the samples: {ratio:.2f}× the sweep time, {name}")
        if rollups:
            met = ratio <= SAMPLES_TARGET
            print(f"  target ≤ {SAMPLES_TARGET}: {'met' if met else 'MISSED'}")
    return met


def _due_query_seconds(repeat: int = 5) -> float:
    from django.utils import timezone

    from credits.settlement import due_periods

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        list(due_periods(timezone.now()))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def part_depth(args: argparse.Namespace) -> bool:
    from django.db import connection
    from django.utils import timezone

    from credits.settlement import due_periods, sweeping

    results = {}
    for months in (1, 60):
        url = bench_url(f"bench_scale_d{months}_h5")
        switch_database(url)
        summary = load_book(
            _spec(args.depth_contracts, args.depth_samples * months, months), f"{months} months"
        )
        first, last = month_of(summary)
        history = [p for p in due_periods(timezone.now(), backfill=True) if p[1] < first]
        if history:
            started = time.perf_counter()
            settle_untimed(history)
            print(
                f"  {len(history):,} earlier periods settled untimed in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
        sweeping.advance_settled_through()
        with_day = _due_query_seconds()
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE kept AS SELECT * FROM contracts_settledthrough")
            cursor.execute("DELETE FROM contracts_settledthrough")
            without_day = _due_query_seconds()
            cursor.execute("INSERT INTO contracts_settledthrough SELECT * FROM kept")
            cursor.execute("DROP TABLE kept")
        print(
            f"  due-period query: {with_day * 1000:.1f} ms with the settled-through day, "
            f"{without_day * 1000:.1f} ms without (lookback "
            f"{os.environ.get('SETTLEMENT_LOOKBACK_DAYS', '400')} days)",
            flush=True,
        )
        for rollups in (True, False) if args.before else (True,):
            repeat = args.repeat if rollups else 1
            median, times = repeated(url, first, last, rollups, repeat, args.timeout)
            results[(months, rollups)] = median
            print(
                f"  {months} month(s) deep, {'rollups' if rollups else 'samples read'}: "
                f"latest month swept in {median:.2f} s ({describe(times)})",
                flush=True,
            )
    met = True
    for rollups in (False, True):
        if (1, rollups) not in results:
            continue
        ratio = results[(60, rollups)] / results[(1, rollups)]
        name = "rollups" if rollups else "every sample read"
        print(f"  5 years deep: {ratio:.2f}× the time of 1 month deep ({name})")
        if rollups:
            met = ratio <= DEPTH_TARGET
            print(f"  target ≤ {DEPTH_TARGET}: {'met' if met else 'MISSED'}")
    return met


def rollup_group_by(first: date, last: date, repeat: int = 3) -> tuple[float, list[float]]:
    """One GROUP BY (contract service, key) over the month's rollups, every zone's month."""
    from django.db import connection

    low = datetime.combine(first, datetime.min.time(), UTC) - timedelta(days=1)
    high = datetime.combine(last, datetime.min.time(), UTC) + timedelta(days=2)
    sql = (
        "SELECT contract_service_id, key, sum(samples), sum(value_sum), sum(ok_count) "
        "FROM contracts_measurementrollup WHERE hour >= %s AND hour < %s GROUP BY 1, 2"
    )
    times = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [low, high])
        cursor.fetchall()
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(sql, [low, high])
            cursor.fetchall()
            times.append(time.perf_counter() - started)
    return statistics.median(times), times


def part_huge(args: argparse.Namespace) -> bool:
    url = bench_url("bench_scale_huge_h5")
    switch_database(url)
    summary = load_book(_spec(HUGE_CONTRACTS, args.huge_samples), f"{args.huge_samples:,} samples")
    if args.book_only:
        # The book (hours to load at 100,000,000 samples) kept for a later run to sweep.
        print("  book only: not swept", flush=True)
        return True
    first, last = month_of(summary)
    base, base_times = rollup_group_by(first, last)
    print(f"  GROUP BY over the month's rollups: {base:.2f} s ({describe(base_times)})")
    forget_month(first, last)
    seconds = sweep_month(url, first, last, rollups=True, timeout=args.timeout * 10)
    ratio = seconds / base
    met = ratio <= HUGE_TARGET
    print(
        f"  sweep of {summary['contract_periods']:,} contract periods with 2 workers: "
        f"{seconds:.1f} s = {ratio:.2f}× the GROUP BY (target ≤ {HUGE_TARGET:g}: "
        f"{'met' if met else 'MISSED'})",
        flush=True,
    )
    if args.drop:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')
        print("  database dropped")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--parts", default="samples,depth")
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--depth-contracts", type=int, default=100)
    parser.add_argument("--depth-samples", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--drop", action="store_true", help="drop the huge book's database")
    parser.add_argument(
        "--huge-samples", type=int, default=HUGE_SAMPLES, help="samples of the huge book"
    )
    parser.add_argument(
        "--book-only",
        action="store_true",
        help="huge: load (or find) the book and stop; a later run sweeps the kept book",
    )
    parser.add_argument(
        "--before", action="store_true", help="also sweep once reading every sample"
    )
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    if not parts or any(part not in ("samples", "depth", "huge") for part in parts):
        parser.error("--parts takes a comma-separated list of samples, depth, huge")
    if not 1 <= args.repeat <= 9 or args.samples > 10_000_000:
        parser.error("--repeat must be 1–9 and --samples at most 10,000,000")
    os.environ["CELERY_BROKER_URL"] = process_env("")["CELERY_BROKER_URL"]
    setup_django(bench_url("bench_scale_s1_h5"))
    print(f"machine: {machine()}", flush=True)
    met = True
    for part in parts:
        print(f"--- {part}", flush=True)
        met &= {"samples": part_samples, "depth": part_depth, "huge": part_huge}[part](args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
