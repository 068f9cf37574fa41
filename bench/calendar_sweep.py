"""Sweep with service calendars: the sweep benchmark's book, half its objectives in service hours.

    python -m bench.calendar_sweep [--contracts 2000] [--samples 5000000] [--workers 2]
                                   [--runs 3] [--seed 1] [--timeout 1800] [--check]

Loads (or reuses, when its ``bench_book`` marker matches) the book of ``bench.sweep`` —
monthly contracts, all active, ``--samples`` samples in the latest month due for every
contract whatever the day — in its own database (``slaportal_bench_calendar_sweep``;
``$BENCH_DATABASE_URL`` overrides). Three calendars per provider (calendars belong to a
provider): Berlin office hours (Mon–Fri 08:00–18:00 Europe/Berlin, public holidays of
Germany (BE), and a company day off in the book's month), New York office hours (Mon–Fri
09:00–17:00 America/New_York, public holidays of the United States (NY)) and 24×5 (Mon–Fri
all day, UTC). Half the objectives of each indicator — uptime, ratio, threshold, count;
corporate, service, customer and contract-service level alike — are given one of them, in
turn; the others stay around the clock.

Then ``--runs`` rounds, each timing the sweep once on the book as generated (no calendar)
and once with the calendars attached, in alternating order. A sweep is timed as
``bench.sweep`` times it: every statement deleted, the due periods after the book settled
untimed, ``--workers`` fresh Celery workers (``--concurrency 1``, Redis db 9 or
``$BENCH_BROKER_URL``), the ``credits.sweep`` task sent as Celery beat sends it, and the
clock stopped when every due period of the book has a statement (the notifications that
follow are not waited for). Prints both medians and the ratio with/without (target ≤ 1.3).

A sweep that settles less than the book's due periods within ``--timeout`` seconds, a book
of which not every period is due, or a calendar run in which no line was measured in
service hours reports no figures: status 1 and one line. ``--check`` also exits with
status 1 when the ratio is above the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.common import Refused, Worker, bench_url, machine, process_env, setup_django, timed
from bench.sweep import (
    count_due,
    count_lines,
    count_statements,
    delete_statements,
    last_day,
    load_book,
    send_sweep,
    settle_after_the_book,
)
from tests.processes import purge_queue

BENCHMARK = "bench.calendar_sweep"
TARGET_RATIO = 1.3
WEEKDAYS_ONLY = [[], []]
# (name, timezone, hours Mon..Sun, holiday country, subdivision, a closed day in the month)
CALENDARS = (
    (
        "Berlin office hours",
        "Europe/Berlin",
        [[["08:00", "18:00"]] for _ in range(5)] + WEEKDAYS_ONLY,
        "DE",
        "BE",
        True,
    ),
    (
        "New York office hours",
        "America/New_York",
        [[["09:00", "17:00"]] for _ in range(5)] + WEEKDAYS_ONLY,
        "US",
        "NY",
        False,
    ),
    ("24×5", "UTC", [[["00:00", "24:00"]] for _ in range(5)] + WEEKDAYS_ONLY, "", "", False),
)
INDICATORS = ("uptime", "ratio", "threshold", "count")


@dataclass(frozen=True)
class Sweep:
    """One timed sweep: its seconds and what it settled."""

    seconds: float
    due: int
    statements: int
    lines: int
    lines_in_service_hours: int


def company_day_off(summary: dict[str, Any]) -> date:
    """The book month's second Friday: a day Berlin's office is closed, by hand."""
    day = date.fromisoformat(summary["last_day"]).replace(day=1)
    fridays = [
        day + timedelta(days=n) for n in range(31) if (day + timedelta(days=n)).weekday() == 4
    ]
    return fridays[1]


def create_calendars(summary: dict[str, Any]) -> dict[tuple[int, int], int]:
    """Replace the book's calendars by the three of :data:`CALENDARS` for every provider;
    returns the calendar id per (provider id, index in CALENDARS)."""
    from django.db import transaction

    from contracts.models import CalendarClosure, Organization, ServiceCalendar, ServiceLevel

    with transaction.atomic():
        ServiceLevel.objects.filter(calendar__isnull=False).update(calendar=None)
        CalendarClosure.objects.all().delete()
        ServiceCalendar.objects.all().delete()
        providers = list(
            Organization.objects.filter(kind=Organization.Kind.PROVIDER).values_list(
                "pk", flat=True
            )
        )
        made = ServiceCalendar.objects.bulk_create(
            ServiceCalendar(
                provider_id=provider,
                name=name,
                timezone=zone,
                hours=hours,
                holiday_country=country,
                holiday_subdivision=subdivision,
            )
            for provider in providers
            for name, zone, hours, country, subdivision, _day_off in CALENDARS
        )
        ids = {}
        for n, calendar in enumerate(made):
            ids[(providers[n // len(CALENDARS)], n % len(CALENDARS))] = calendar.pk
        day_off = company_day_off(summary)
        CalendarClosure.objects.bulk_create(
            CalendarClosure(calendar_id=ids[(provider, index)], name="Company day off", day=day_off)
            for provider in providers
            for index, calendar in enumerate(CALENDARS)
            if calendar[5]
        )
    return ids


def choose_objectives(calendars: dict[tuple[int, int], int]) -> dict[int, list[int]]:
    """Half the objectives of each indicator, every other one by id, each given the next
    of the provider's calendars in turn: the service level ids per calendar id."""
    from contracts.models import ServiceLevel

    chosen: dict[int, list[int]] = defaultdict(list)
    for indicator in INDICATORS:
        levels = ServiceLevel.objects.filter(indicator=indicator).order_by("pk")
        for rank, (pk, provider) in enumerate(levels.values_list("pk", "provider_id")):
            if rank % 2 == 0:
                calendar = calendars[(provider, rank // 2 % len(CALENDARS))]
                chosen[calendar].append(pk)
    return chosen


def attach(chosen: dict[int, list[int]] | None) -> None:
    """Give the chosen objectives their calendars, or (None) take every calendar away."""
    from django.db import transaction

    from contracts.models import ServiceLevel

    with transaction.atomic():
        ServiceLevel.objects.filter(calendar__isnull=False).update(calendar=None)
        for calendar, levels in (chosen or {}).items():
            ServiceLevel.objects.filter(pk__in=levels).update(calendar_id=calendar)


def lines_in_service_hours(until: date) -> int:
    """Statement lines of the book whose objective has a calendar."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM credits_statementline l "
            "JOIN credits_statement s ON s.id = l.statement_id "
            "JOIN contracts_servicelevel o ON o.id = l.service_level_id "
            "WHERE s.period_start <= %s AND o.calendar_id IS NOT NULL",
            [until],
        )
        return cursor.fetchone()[0]


def timed_sweep(
    url: str, summary: dict[str, Any], workers: int, timeout: float, label: str
) -> Sweep:
    """Settle every period of the book with ``workers`` fresh workers, as ``bench.sweep``
    does, the clock stopped once every due period of the book has a statement."""
    from django.db import connection

    env = process_env(url)
    until = last_day(summary)
    delete_statements()
    purge_queue(env)
    settle_after_the_book(until)
    due = count_due(until)
    if due != summary["contract_periods"]:
        raise Refused(
            BENCHMARK,
            f"{due:,} of the book's {summary['contract_periods']:,} contract periods are due "
            f"now (book up to {until}); the run would not measure the book",
        )
    pool = [Worker(env, name=f"calendar-{label}-{n}") for n in range(workers)]
    try:
        for worker in pool:
            worker.start()
        with timed() as elapsed:
            send_sweep()
            started = time.perf_counter()
            done = count_statements(until)
            while done < due and time.perf_counter() - started < timeout:
                time.sleep(0.05)
                done = count_statements(until)
    finally:
        for worker in pool:
            worker.stop()
    if done < due:
        raise Refused(
            BENCHMARK,
            f"the sweep {label} settled {done:,} of the book's {due:,} contract periods "
            f"within {timeout:g} s; no figures reported",
        )
    with connection.cursor() as cursor:
        lines = count_lines(cursor, until)
    return Sweep(elapsed[0], due, done, lines, lines_in_service_hours(until))


def main(argv: list[str] | None = None) -> int:
    """Time the sweep without and with calendars, ``--runs`` times each; print the ratio."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {BENCHMARK}", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--contracts", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="timed sweeps of each kind")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per sweep")
    parser.add_argument("--check", action="store_true", help=f"fail above {TARGET_RATIO:g}×")
    args = parser.parse_args(argv)
    if not 1 <= args.contracts <= 20_000 or not 1 <= args.samples <= 10_000_000:
        parser.error("--contracts must be 1–20,000 and --samples 1–10,000,000")
    if not 1 <= args.workers <= 8 or not 1 <= args.runs <= 20:
        parser.error("--workers must be 1–8 and --runs 1–20")
    if not 0 < args.timeout <= 7200:
        parser.error("--timeout must be above 0 and at most 7,200 seconds")

    os.environ["CELERY_BROKER_URL"] = process_env("")["CELERY_BROKER_URL"]
    url = setup_django(bench_url("bench_calendar_sweep"))
    print(f"machine: {machine()}")
    summary = load_book(args.contracts, args.samples, args.seed)
    chosen = choose_objectives(create_calendars(summary))
    objectives = sum(len(levels) for levels in chosen.values())
    print(
        f"calendars: {len(CALENDARS)} per provider ("
        + "; ".join(f"{name}, {zone}" for name, zone, *_rest in CALENDARS)
        + f"), attached to {objectives:,} of the book's {summary['service_levels']:,} "
        "objectives (every other one of each indicator)"
    )
    plain: list[Sweep] = []
    in_hours: list[Sweep] = []
    for round_ in range(args.runs):
        # Alternate which goes first, so that a load that comes and goes hits both alike.
        order = [("without", plain), ("with", in_hours)]
        for kind, results in order if round_ % 2 == 0 else order[::-1]:
            attach(chosen if kind == "with" else None)
            result = timed_sweep(url, summary, args.workers, args.timeout, f"{kind}-{round_}")
            if kind == "with" and not result.lines_in_service_hours:
                raise Refused(BENCHMARK, "no line of the calendar run had a calendar")
            results.append(result)
            print(
                f"  sweep {kind} calendars: {result.statements:,} statements, {result.lines:,} "
                f"objective-periods ({result.lines_in_service_hours:,} in service hours) in "
                f"{result.seconds:.2f} s",
                flush=True,
            )
    attach(None)
    without = statistics.median(run.seconds for run in plain)
    with_ = statistics.median(run.seconds for run in in_hours)
    ratio = with_ / without
    share = in_hours[0].lines_in_service_hours / in_hours[0].lines
    print(
        f"sweep, {args.workers} worker{'s' if args.workers != 1 else ''}, without calendars: "
        f"{without:.2f} s (median of {', '.join(f'{run.seconds:.2f}' for run in plain)})"
    )
    print(
        f"sweep, {args.workers} worker{'s' if args.workers != 1 else ''}, with calendars: "
        f"{with_:.2f} s (median of {', '.join(f'{run.seconds:.2f}' for run in in_hours)}); "
        f"{in_hours[0].lines_in_service_hours:,} of {in_hours[0].lines:,} objective-periods "
        f"({100 * share:.0f} %) in service hours"
    )
    verdict = "meets" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio with/without calendars: {ratio:.2f}× — {verdict} the target of ≤ {TARGET_RATIO}×")
    if args.check and ratio > TARGET_RATIO:
        print(
            f"python -m {BENCHMARK}: the ratio {ratio:.2f}× is above the target of {TARGET_RATIO}×",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
