"""Where one contract period's settlement spends its time, and what batching would save.

    python -m bench.costs [--contracts 200] [--chunk 100]

Runs in this process, on the sweep benchmark's book (``slaportal_bench_sweep``; run
``python -m bench.sweep`` first), one step at a time over the same ``--contracts`` due
periods, statements deleted between steps:

1. ``compute_period`` alone (effective objectives, the samples' GROUP BY, incidents,
   windows, lapses, the engine): reads only;
2. ``settle_period(announce=False)``: plus the lock, the latest revision, the inserts and
   the commit;
3. ``settle_period()`` as the task calls it: plus notifying both parties;
4. opening a database connection, which a Celery worker does for every task (its Django
   fix-up closes the connection around each task unless ``CELERY_DB_REUSE_MAX`` is set);
5. a prototype of the batched alternative: the samples of every due contract period of the
   book aggregated with one query per ``--chunk`` contract periods (a join on the
   periods' (contract service, key, from, to, threshold)), checked equal to the per-contract
   aggregates on the contracts of step 1, next to the plain GROUP BY baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.common import bench_url, machine, process_env, purge_queue, setup_django

CHUNK_SQL = """
SELECT t.cs, t.key,
       count(*) AS samples,
       count(m.ok) AS judged,
       count(*) FILTER (WHERE m.ok) AS ok_count,
       count(m.value) AS valued,
       sum(coalesce(m.value, 1)) AS value_sum,
       count(*) FILTER (WHERE (t.cmp = 'gte' AND m.value >= t.thr)
                           OR (t.cmp = 'lte' AND m.value <= t.thr)) AS meeting
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[],
            %s::numeric[], %s::text[]) AS t(cs, key, lo, hi, thr, cmp)
JOIN contracts_measurement m
  ON m.contract_service_id = t.cs AND m.key = t.key
 AND m.observed_at >= t.lo AND m.observed_at < t.hi
GROUP BY t.cs, t.key
"""


def per_contract(label: str, due: list[tuple[Any, Any]], step: Any) -> float:
    started = time.perf_counter()
    for contract, start in due:
        step(contract, start)
    seconds = time.perf_counter() - started
    print(f"  {label:<58} {1000 * seconds / len(due):7.1f} ms per contract period")
    return seconds


def sampled_pairs(contract: Any, start: Any) -> list[tuple]:
    """(cs, key, from, to, threshold, comparator) of every sampled objective of the period,
    from the settlement's own reading of the effective objectives."""
    from credits import engine, settlement

    period = settlement._period_of(contract, start)
    active = engine.active_interval(period, contract.start_date, contract.end_date)
    _services, targets = settlement._targets(contract, {})
    rows = []
    for target in targets:
        objective = target.objective
        if objective.indicator == "uptime" or active is None:
            continue
        rows.append(
            (
                target.contract_service.pk,
                objective.key,
                active[0],
                min(active[1], period.end_at),
                objective.threshold,
                objective.threshold_comparator,
                bool(target.relief),
            )
        )
    return rows


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

    from bench.sweep import baseline_seconds, delete_statements
    from contracts.models import Contract
    from credits import settlement
    from credits.settlement import compute_period, due_periods, settle_period

    with connection.cursor() as cursor:
        cursor.execute("SELECT summary FROM bench_book WHERE name = 'book'")
        row = cursor.fetchone()
    if row is None:
        raise SystemExit("no book in the sweep database: run python -m bench.sweep first")
    summary = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    print(f"machine: {machine()}")
    delete_statements()
    now = timezone.now()
    all_due = list(due_periods(now))
    contracts = {c.pk: c for c in Contract.objects.all()}
    due = [(contracts[c], start) for c, start in all_due[: args.contracts]]
    print(f"{len(due)} of {len(all_due):,} due contract periods, in this process:")

    per_contract("1. compute_period (reads + engine)", due, lambda c, s: compute_period(
        contract=c, period_start=s
    ))  # fmt: skip
    delete_statements()
    per_contract("2. settle_period(announce=False): + lock, inserts, commit", due, lambda c, s: (
        settle_period(contract=c, period_start=s, only_if_unsettled=True, announce=False)
    ))  # fmt: skip
    delete_statements()
    per_contract("3. settle_period(): + notifying both parties", due, lambda c, s: (
        settle_period(contract=c, period_start=s, only_if_unsettled=True)
    ))  # fmt: skip
    delete_statements()
    purge_queue(process_env(url))

    started = time.perf_counter()
    for _ in range(50):
        connection.close()
        connection.ensure_connection()
    seconds = (time.perf_counter() - started) / 50
    print(
        f"  {'4. a new database connection (per task in the worker)':<58} {1000 * seconds:7.1f} ms"
    )

    # 5. The batched alternative for the samples: every due period, --chunk at a time.
    per_period = [sampled_pairs(contracts[c], start) for c, start in all_due]
    chunks = [
        [row for rows in per_period[offset : offset + args.chunk] for row in rows]
        for offset in range(0, len(per_period), args.chunk)
    ]
    results: dict[tuple[int, str], tuple] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for chunk in chunks:
            columns = list(zip(*[row[:6] for row in chunk], strict=True))
            cursor.execute(CHUNK_SQL, [list(column) for column in columns])
            for row in cursor.fetchall():
                results[(row[0], row[1])] = row[2:]
    chunked = time.perf_counter() - started
    base, _runs = baseline_seconds(summary)
    print(
        f"  5. samples of all {len(all_due):,} due periods "
        f"({sum(map(len, per_period)):,} sampled objective-periods) in {len(chunks)} queries "
        f"of {args.chunk} contracts: {chunked:.2f} s ({chunked / base:.1f}× the plain "
        f"GROUP BY, {base:.2f} s)"
    )
    # Same figures as the settlement's own query? (Pairs without relief: there the
    # settlement also subtracts the samples inside lapses, which the prototype leaves out.)
    checked = mismatched = 0
    for contract, start in due:
        rows = [row for row in sampled_pairs(contract, start) if not row[6]]
        if not rows:
            continue
        _services, targets = settlement._targets(contract, {})
        sampled = [t for t in targets if t.objective.indicator != "uptime" and not t.relief]
        reference = settlement._sample_aggregates(sampled, rows[0][2], rows[0][3])
        for pair, figures in reference.items():
            mine = results.get(pair)
            expected = [figures[name] for name in ("samples", "judged", "ok_count", "valued")]
            expected.append(Decimal(figures["value_sum"] or 0))
            if figures.get("meeting") is not None:
                expected.append(figures["meeting"])
            got = None if mine is None else [*mine[:4], Decimal(mine[4] or 0), mine[5]]
            checked += 1
            if got is None or got[: len(expected)] != expected:
                mismatched += 1
    print(
        f"     checked against the settlement's own aggregates on {checked:,} objective-periods: "
        + ("identical" if not mismatched else f"{mismatched} DIFFERENT")
    )
    print(f"  (run at {datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    main()
