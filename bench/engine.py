"""Micro-benchmark of the credit engine: objective-periods per second on one core.

    python -m bench.engine [--n 100000] [--seed 7] [--check]

Builds ``n`` objective-periods with a mix of every indicator (uptime from incident,
maintenance and relief intervals; ratio, threshold and count from aggregates, as
settlement reads them from the database) and every rule kind (per_step, tiered for
gte and lte, linear, flat percent and amount, pool, none) and times, per
objective-period: proration of the fee, the measure, :func:`engine.evaluate`
with its explanation, and the statement cap over every five lines. Input generation
is not timed. ``--check`` exits with status 1 below the target of 20,000/s. Its dates are
fixed (periods of 2026): nothing depends on the day it runs. A run that evaluates fewer
objective-periods than it built is refused (status 1, one line).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal

from bench.common import Refused
from engine import (
    CountMeasure,
    Interval,
    Measure,
    Objective,
    Period,
    RatioMeasure,
    ThresholdMeasure,
    active_fraction,
    apply_cap,
    at_risk_amount,
    evaluate,
    parse_rule,
    period_containing,
    prorate,
    quantize_money,
    uptime_attainment,
)

TARGET_PER_SECOND = 20_000
LINES_PER_STATEMENT = 5
CAP_PERCENT = Decimal(10)

RULES = [
    None,
    {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "10"},
    {"kind": "per_step", "step": "0.1", "percent": "2.5", "max_percent": None},
    {"kind": "linear", "factor": "1", "max_percent": "25"},
    {"kind": "flat", "percent": "5"},
    {"kind": "flat", "amount": "250.00"},
    {"kind": "pool", "allocation_percent": "20"},
]
GTE_TIERS = {
    "kind": "tiered",
    "tiers": [
        {"bound": "99.99", "percent": "10"},
        {"bound": "99.0", "percent": "30"},
        {"bound": "95.0", "percent": "100"},
    ],
}
LTE_TIERS = {
    "kind": "tiered",
    "tiers": [{"bound": "2", "percent": "5"}, {"bound": "5", "percent": "15"}],
}


@dataclass(frozen=True, slots=True)
class Case:
    """One objective-period to settle; ``intervals`` only for uptime."""

    objective: Objective
    period: Period
    contract_start: date
    period_fee: Decimal
    currency: str
    aggregate: tuple[int, ...] | Decimal
    intervals: tuple[tuple[Interval, ...], tuple[Interval, ...], tuple[Interval, ...]] | None


def _objectives() -> list[Objective]:
    objectives = []
    for index, spec in enumerate([*RULES, GTE_TIERS]):
        rule = parse_rule(spec)
        objectives += [
            Objective(
                f"availability-{index}", "Availability", "uptime", "gte", Decimal("99.9"), rule
            ),
            Objective(f"reports-{index}", "Reports on time", "ratio", "gte", Decimal("99.5"), rule),
            Objective(
                f"resolution-{index}",
                "Resolution time",
                "threshold",
                "gte",
                Decimal("95"),
                rule,
                threshold=Decimal("30"),
                threshold_comparator="lte",
            ),
        ]
    for index, spec in enumerate([*RULES, LTE_TIERS]):
        objectives.append(
            Objective(
                f"errors-{index}", "Failed reports", "count", "lte", Decimal("2"), parse_rule(spec)
            )
        )
    return objectives


def _intervals(
    rng: random.Random, period: Period, count: int, longest: int
) -> tuple[Interval, ...]:
    start = period.start_at.astimezone(UTC)
    span = period.seconds
    result = []
    for _ in range(count):
        offset = rng.randrange(span)
        first = start + timedelta(seconds=offset)
        result.append((first, first + timedelta(seconds=rng.randrange(1, longest))))
    return tuple(result)


def build_cases(n: int, seed: int) -> list[Case]:
    """``n`` reproducible objective-periods; every ``LINES_PER_STATEMENT`` consecutive
    cases are the lines of one statement (one period, currency and contract)."""
    rng = random.Random(seed)
    objectives = _objectives()
    zones = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"]
    currencies = ["EUR", "USD", "GBP", "JPY"]
    cases: list[Case] = []
    for index in range(n):
        statement = index // LINES_PER_STATEMENT
        if index % LINES_PER_STATEMENT == 0:
            kind = ("week", "month", "quarter")[statement % 3]
            day = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
            period = period_containing(day, kind, zones[statement % 4])
            currency = currencies[statement % 4]
            # A tenth of the contracts start inside the period, so proration is exercised.
            contract_start = (
                period.start + timedelta(days=rng.randrange(period.days))
                if statement % 10 == 0
                else date(2025, 1, 1)
            )
        objective = objectives[rng.randrange(len(objectives))]
        intervals = None
        aggregate: tuple[int, ...] | Decimal
        if objective.indicator == "uptime":
            aggregate = ()
            intervals = (
                _intervals(rng, period, rng.randrange(0, 3), 4 * 3600),
                _intervals(rng, period, rng.randrange(0, 6), 3 * 3600),
                _intervals(rng, period, rng.randrange(0, 2), 2 * 3600),
            )
        elif objective.indicator == "count":
            aggregate = Decimal(rng.randrange(0, 8))
        else:
            total = rng.randrange(0, 2000)
            aggregate = (total - min(total, rng.randrange(0, 60)), total)
        fee = Decimal(rng.randrange(100_000, 1_000_000)).scaleb(-2)
        cases.append(Case(objective, period, contract_start, fee, currency, aggregate, intervals))
    return cases


def _measure(case: Case) -> Measure:
    if case.intervals is not None:
        maintenance, incidents, relief = case.intervals
        period = case.period
        return uptime_attainment(
            period.start_at, period.end_at, None, maintenance, incidents, relief
        )
    if isinstance(case.aggregate, Decimal):
        return CountMeasure(case.aggregate, int(case.aggregate))
    if case.objective.indicator == "ratio":
        return RatioMeasure(*case.aggregate)
    return ThresholdMeasure(*case.aggregate)


def settle(cases: list[Case]) -> tuple[Decimal, int]:
    """Settle every statement the way settlement does: prorate and quantize the fees,
    derive the at-risk amount, evaluate every line, apply the cap. Returns the sum of
    the statement totals (a checksum) and the number of lines evaluated."""
    grand_total = Decimal(0)
    evaluated = 0
    for first in range(0, len(cases), LINES_PER_STATEMENT):
        lines = cases[first : first + LINES_PER_STATEMENT]
        head = lines[0]
        fraction = active_fraction(head.period, head.contract_start, None)
        fees = [quantize_money(prorate(line.period_fee, fraction), head.currency) for line in lines]
        at_risk = at_risk_amount(CAP_PERCENT, sum(fees), head.currency)
        amounts = [
            evaluate(
                line.objective, _measure(line), fee=fee, currency=head.currency, at_risk=at_risk
            ).amount
            for line, fee in zip(lines, fees, strict=True)
        ]
        grand_total += apply_cap(amounts, at_risk, head.currency).credit_total
        evaluated += len(amounts)
    return grand_total, evaluated


def _pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "one process, not pinned"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print objective-periods per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="objective-periods (100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help=f"fail below {TARGET_PER_SECOND:,}/s")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    core = _pin_to_one_core()
    cases = build_cases(args.n, args.seed)
    settle(cases[:1000])  # warm caches (currencies, zones) the way a running worker has them
    started = time.perf_counter_ns()
    total, evaluated = settle(cases)
    elapsed_ns = time.perf_counter_ns() - started
    if evaluated != args.n:
        raise Refused("bench.engine", f"evaluated {evaluated:,} of {args.n:,} objective-periods")
    per_second = args.n * 1_000_000_000 // elapsed_ns
    seconds = f"{elapsed_ns // 1_000_000_000}.{elapsed_ns % 1_000_000_000 // 1_000_000:03d}"
    verdict = "meets" if per_second >= TARGET_PER_SECOND else "BELOW"
    print(f"credit engine: {args.n:,} objective-periods in {seconds} s ({core})")
    print(f"  {per_second:,} objective-periods/s — {verdict} the target of {TARGET_PER_SECOND:,}/s")
    print(f"  checksum: credits settled {total}")
    return 1 if args.check and per_second < TARGET_PER_SECOND else 0


if __name__ == "__main__":
    sys.exit(main())
