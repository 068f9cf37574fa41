"""Settling tickets: one contract's 100,000 tickets in a month against 100,000 ratio samples.

    python -m bench.tickets [--tickets 100000] [--samples N] [--runs 5] [--month YYYY-MM]
                            [--seed 7] [--profile] [--check]

Writes, with ``COPY``, into its own database (``slaportal_bench_tickets``;
``$BENCH_DATABASE_URL`` overrides; its name must contain ``bench``, since the book
replaces whatever it held), two contracts that differ only in what they measure, both
monthly in Europe/Berlin with one service desk service:

- the ticket contract: ``--tickets`` tickets opened in the month, P1 10 %, P2 30 %, P3
  60 %, and three ``resolution_time`` objectives, one per priority (4, 8 and 24 business
  hours), with a calendar Mon–Fri 08:00–18:00 Europe/Berlin whose closed days are the
  public holidays of Germany (BE); status events for every ticket (open, in progress, a
  third of them waiting on the customer a while, one in twenty resolved and reopened), 8 %
  never resolved (opened in the first 40 % of the month, so that each is past its
  threshold when the month ends and counts in it);
- the sample contract: ``--samples`` ratio samples (default: as many as tickets) spread
  over the month, one ``ratio`` objective, around the clock.

The month (``--month``; default: the latest month entirely due whatever the day, as
``bench.generate`` chooses it: closed in every zone and past the longest settlement delay)
is then settled for each contract with the real ``credits.settlement.settle_periods``
(statements deleted before each run, nothing announced), in turn, ``--runs`` times after
one untimed warm-up each. The book is written with ``COPY``, round ``record_tickets``, so
the first ticket settlement builds the kept ticket clocks (``contracts.TicketClock``), as
it would after any change of calendar or threshold: it is timed and printed on its own.
Prints the median wall time of each, the ratio tickets/samples and the target (≤ 2).
Exits with status 1 and one line when a run counted fewer tickets (the ticket lines'
totals, and the kept clocks) or samples than were written, or could not settle the month;
with ``--check`` also when the ratio is above the target.
``--profile`` also shows, under cProfile, where one ticket settlement spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.common import Refused, bench_url, machine, setup_django
from bench.generate import (
    ArgumentError,
    _copy_rows,
    _existing_tables,
    _reset_sequence,
    check_database_url,
    last_due_month,
)
from engine import describe_calendar

BENCHMARK = "bench.tickets"
TARGET_RATIO = 2.0
ZONE = "Europe/Berlin"
# (priority, share of the tickets, resolution threshold in business minutes, target %)
PRIORITIES = (("P1", 0.1, 240, "95"), ("P2", 0.3, 480, "90"), ("P3", 0.6, 1440, "90"))
NEVER_RESOLVED = 0.08
WAITING = 1 / 3
REOPENED = 0.05
HOURS = [[["08:00", "18:00"]] for _ in range(5)] + [[], []]
SAMPLE_KEY = "tickets-closed-first-time"
TABLES = (
    "contracts_organization",
    "contracts_measurement",
    "credits_statement",
    "credits_statementline",
    "credits_earlywarning",
    "credits_notification",
    "credits_delivery",
)
# The steps of a ticket settlement shown by --profile: (label, module path, function).
PROFILED = (
    (
        "the tickets counted from the kept clocks",
        "credits/settlement/ticket_clocks.py",
        "count_from_kept_clocks",
    ),
    ("  the worst tickets done", "credits/settlement/ticket_clocks.py", "_worst_done"),
    ("  the worst tickets still open", "credits/settlement/ticket_clocks.py", "_worst_open"),
    ("the reference's tickets (none expected)", "credits/settlement/tickets.py", "load_tickets"),
    ("the explanation", "engine/tickets.py", "explain_tickets"),
)


@dataclass(frozen=True)
class TicketBook:
    """What was written: the contracts, the month's first day and the counts."""

    ticket_contract: int
    sample_contract: int
    month: date
    tickets: int
    samples: int
    by_priority: dict[str, int]
    never_resolved: int
    waited: int
    reopened: int
    events: int


@dataclass(frozen=True)
class Settled:
    """One settlement: its wall and CPU seconds and what its statement counted."""

    seconds: float
    cpu_seconds: float
    counted: int
    lines: int


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The month as UTC instants: local midnights in the contracts' zone."""
    zone = ZoneInfo(ZONE)
    following = (first + timedelta(days=32)).replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
    return start, end


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def ticket_rows(
    count: int, first: date, rng: random.Random, now: datetime
) -> tuple[list[tuple], list[tuple], Counter[str]]:
    """``count`` tickets of contract service 1 opened in the month, with their status events
    (oldest first, as a ticket system sends them); every ticket counts in the month: it is
    resolved before the month ends or, never resolved, past its threshold by then."""
    start, end = (int(moment.timestamp()) for moment in month_bounds(first))
    span = end - start
    tickets: list[tuple] = []
    events: list[tuple] = []
    tally: Counter[str] = Counter()
    weights = [share for _priority, share, _minutes, _target in PRIORITIES]
    codes = [priority for priority, _share, _minutes, _target in PRIORITIES]
    for index in range(count):
        pk = index + 1
        priority = rng.choices(codes, weights)[0]
        tally[priority] += 1
        never = rng.random() < NEVER_RESOLVED
        if never:
            opened = start + rng.randrange(int(span * 0.4))
            resolved = None
            last = opened + rng.randrange(4 * 86_400, 10 * 86_400)
        else:
            opened = start + rng.randrange(span - 3600)
            resolved = min(opened + rng.randrange(600, 5 * 86_400), end - 60)
            last = resolved
        responded = opened + rng.randrange(0, max(1, min(last - opened, 4 * 3600)))
        history = [(opened, "open"), (responded, "in_progress")]
        pauses = []
        if rng.random() < WAITING:
            pauses.append(("waiting_on_customer", "in_progress"))
            tally["waited"] += 1
        if resolved is not None and rng.random() < REOPENED:
            pauses.append(("resolved", "reopened"))
            tally["reopened"] += 1
        rng.shuffle(pauses)
        if pauses and last - responded > 4 * len(pauses):
            marks = sorted(rng.sample(range(responded + 1, last), 2 * len(pauses)))
            for position, (stop, resume) in enumerate(pauses):
                history += [(marks[2 * position], stop), (marks[2 * position + 1], resume)]
        if resolved is not None:
            history.append((resolved, "resolved"))
        else:
            tally["never_resolved"] += 1
        tickets.append(
            (
                pk,
                1,
                f"INC-{pk:07d}",
                priority,
                "",
                _instant(opened),
                _instant(responded),
                None if resolved is None else _instant(resolved),
                now,
            )
        )
        events.extend((pk, _instant(at), status) for at, status in history)
    return tickets, events, tally


def sample_rows(count: int, first: date, rng: random.Random) -> list[tuple]:
    """``count`` ratio samples of contract service 2, evenly over the month, ~97 % ok."""
    start, end = (int(moment.timestamp()) for moment in month_bounds(first))
    step = (end - start) / max(count, 1)
    return [
        (2, SAMPLE_KEY, _instant(start + int(index * step)), None, rng.random() < 0.97)
        for index in range(count)
    ]


def write_book(tickets: int, samples: int, first: date, seed: int) -> TicketBook:
    """Replace the database's contracts by the two contracts of the benchmark."""
    from django.db import connection, transaction

    rng = random.Random(seed)
    now = datetime.now(UTC)
    ticket_data, event_data, tally = ticket_rows(tickets, first, rng, now)
    sample_data = sample_rows(samples, first, rng)
    priorities = json.dumps(["P1", "P2", "P3", "P4"])
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor: COPY lives there
        tables = _existing_tables(cursor, TABLES)
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        _copy_rows(
            cursor,
            "contracts_organization",
            [
                "id",
                "name",
                "slug",
                "kind",
                "created_at",
            ],
            [
                (1, "Acme Service Desk", "acme-service-desk", "provider", now),
                (2, "Globex", "globex", "customer", now),
            ],
        )
        _copy_rows(
            cursor,
            "contracts_service",
            ["id", "provider_id", "code", "name", "description"],
            [(1, 1, "service-desk", "Service desk", "Tickets answered and resolved.")],
        )
        _copy_rows(
            cursor,
            "contracts_contract",
            [
                "id", "provider_id", "customer_id", "reference", "title", "currency",
                "start_date", "end_date", "status", "settlement_period", "timezone",
                "credit_cap_percent", "settlement_delay_days", "created_at", "ticket_priorities",
            ],
            [
                (pk, 1, 2, reference, "Service desk", "EUR", first, None, "active", "month",
                 ZONE, None, 2, now, priorities)
                for pk, reference in ((1, "DESK-TICKETS"), (2, "DESK-SAMPLES"))
            ],
        )  # fmt: skip
        _copy_rows(
            cursor,
            "contracts_contractservice",
            ["id", "contract_id", "service_id", "fee"],
            [(1, 1, 1, "12000.00"), (2, 2, 1, "12000.00")],
        )
        _copy_rows(
            cursor,
            "contracts_servicecalendar",
            [
                "id", "provider_id", "name", "timezone", "hours", "holiday_country",
                "holiday_subdivision", "created_at", "updated_at",
            ],
            [(1, 1, "Berlin office hours", ZONE, json.dumps(HOURS), "DE", "BE", now, now)],
        )  # fmt: skip
        rule = json.dumps({"kind": "per_step", "step": "1", "percent": "2", "max_percent": "20"})
        _copy_rows(
            cursor,
            "contracts_servicelevel",
            [
                "id", "level", "provider_id", "contract_id", "service_id", "key", "name",
                "indicator", "comparator", "target", "threshold", "threshold_comparator",
                "enabled", "credit_rule", "priority", "calendar_id",
            ],
            [
                (
                    n + 1, "contract_service", 1, 1, 1, f"resolution-{priority.lower()}",
                    f"{priority} tickets resolved within {minutes // 60} business hours",
                    "resolution_time", "gte", target, minutes, None, True, rule, priority, 1,
                )
                for n, (priority, _share, minutes, target) in enumerate(PRIORITIES)
            ]
            + [
                (
                    len(PRIORITIES) + 1, "contract_service", 1, 2, 1, SAMPLE_KEY,
                    "Tickets closed at the first attempt", "ratio", "gte", "95", None, None,
                    True, rule, "", None,
                )
            ],
        )  # fmt: skip
        _copy_rows(
            cursor,
            "contracts_ticket",
            [
                "id", "contract_service_id", "reference", "priority", "title", "opened_at",
                "first_response_at", "resolved_at", "updated_at",
            ],
            ticket_data,
        )  # fmt: skip
        _copy_rows(cursor, "contracts_ticketevent", ["ticket_id", "at", "status"], event_data)
        _copy_rows(
            cursor,
            "contracts_measurement",
            ["contract_service_id", "key", "observed_at", "value", "ok"],
            sample_data,
        )
        for table in (
            "contracts_organization",
            "contracts_service",
            "contracts_contract",
            "contracts_contractservice",
            "contracts_servicecalendar",
            "contracts_servicelevel",
            "contracts_ticket",
        ):
            _reset_sequence(cursor, table)
    with connection.cursor() as cursor:
        # A closed month's rows have long been vacuumed in real life: index-only scans.
        for table in ("contracts_ticket", "contracts_ticketevent", "contracts_measurement"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return TicketBook(
        ticket_contract=1,
        sample_contract=2,
        month=first,
        tickets=len(ticket_data),
        samples=len(sample_data),
        by_priority={priority: tally[priority] for priority, *_rest in PRIORITIES},
        never_resolved=tally["never_resolved"],
        waited=tally["waited"],
        reopened=tally["reopened"],
        events=len(event_data),
    )


def settle(contract_id: int, month: date, indicators: tuple[str, ...]) -> Settled:
    """Delete every statement, then settle the contract's month once, timed; what its
    statement's lines of ``indicators`` counted (a ticket line's or a sample line's total)."""
    from bench.sweep import delete_statements
    from credits.models import StatementLine
    from credits.settlement import SettlementError, settle_periods

    delete_statements()
    wall, cpu = time.perf_counter(), time.process_time()
    (outcome,) = settle_periods([(contract_id, month)], announce=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if isinstance(outcome, SettlementError):
        raise Refused(BENCHMARK, f"contract {contract_id}, {month:%B %Y}: not settled: {outcome}")
    lines = list(
        StatementLine.objects.filter(
            statement=outcome.statement, indicator__in=indicators
        ).values_list("measure", flat=True)
    )
    counted = sum(int(measure.get("total") or 0) for measure in lines)
    return Settled(wall, cpu, counted, len(lines))


def check_counted(settled: Settled, built: int, what: str) -> None:
    """Refuse to report a run whose statement counted less than the book holds."""
    if settled.counted != built:
        raise Refused(
            BENCHMARK,
            f"the statement's {what} lines counted {settled.counted:,} of the {built:,} {what} "
            "written; no figures reported",
        )


def check_kept(built: int) -> int:
    """Refuse to report when the kept clocks are not every ticket's, once each."""
    from contracts.models import TicketClock

    kept = TicketClock.objects.count()
    if kept != built:
        raise Refused(
            BENCHMARK,
            f"{kept:,} kept ticket clocks for the {built:,} tickets written; no figures reported",
        )
    return kept


def profile_tickets(book: TicketBook) -> list[str]:
    """One ticket settlement under cProfile: the cumulative time of its main steps."""
    from bench.sweep import delete_statements
    from credits.settlement import settle_periods

    delete_statements()
    profiler = cProfile.Profile()
    profiler.enable()
    settle_periods([(book.ticket_contract, book.month)], announce=False)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    lines = [f"  profile of one ticket settlement (cProfile, {total:.2f} s under the profiler):"]
    for label, module, function in PROFILED:
        seconds = sum(
            entry[3]
            for (path, _line, name), entry in stats.stats.items()
            if name == function and path.endswith(module)
        )
        lines.append(f"    {100 * seconds / total:5.1f} %  {label} ({function})")
    return lines


def median_of(runs: list[Settled]) -> tuple[float, float]:
    return (
        statistics.median(run.seconds for run in runs),
        statistics.median(run.cpu_seconds for run in runs),
    )


def parse_month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ArgumentError("--month must look like 2026-10") from None


def main(argv: list[str] | None = None) -> int:
    """Build the two contracts, settle each ``--runs`` times, print the times and ratio."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {BENCHMARK}", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--samples", type=int, help="ratio samples (default: --tickets)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs each, after a warm-up")
    parser.add_argument("--month", default="", help="YYYY-MM (default: the latest month due)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="where a ticket settlement goes")
    parser.add_argument("--check", action="store_true", help=f"fail above {TARGET_RATIO:g}×")
    args = parser.parse_args(argv)
    samples = args.tickets if args.samples is None else args.samples
    if not 1 <= args.tickets <= 1_000_000 or not 1 <= samples <= 10_000_000:
        parser.error("--tickets must be 1–1,000,000 and --samples 1–10,000,000")
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be between 1 and 50")
    url = bench_url("bench_tickets")
    try:
        first = parse_month(args.month) if args.month else None
        check_database_url(url)
    except ArgumentError as error:
        parser.error(str(error))
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    setup_django(url)
    print(f"machine: {machine()}")
    first = first or last_due_month(("month",), datetime.now(UTC))

    from contracts.models import ServiceCalendar
    from contracts.selectors import engine_calendar

    built = time.perf_counter()
    book = write_book(args.tickets, samples, first, args.seed)
    calendar = ServiceCalendar.objects.get(pk=1)
    start, end = month_bounds(first)
    hours = describe_calendar(engine_calendar(calendar, start, end), calendar.holidays_text)
    spread = ", ".join(f"{priority} {count:,}" for priority, count in book.by_priority.items())
    print(
        f"book: written in {time.perf_counter() - built:.1f} s; the month {first:%B %Y} "
        f"({ZONE}, settlement delay 2 days)\n"
        f"  tickets contract: {book.tickets:,} tickets ({spread}; {book.never_resolved:,} never "
        f"resolved, {book.waited:,} waited on the customer, {book.reopened:,} reopened; "
        f"{book.events:,} status events), three resolution_time objectives (P1 4 h, P2 8 h, "
        f"P3 24 h) {hours}\n"
        f"  samples contract: {book.samples:,} ratio samples, one ratio objective around the "
        "clock"
    )
    ticket_indicators = ("resolution_time", "response_time")
    building = settle(book.ticket_contract, first, ticket_indicators)
    check_counted(building, book.tickets, "tickets")
    kept = check_kept(book.tickets)
    from django.db import connection

    with connection.cursor() as cursor:
        # As the book's tables: a closed month's rows have long been vacuumed in real
        # life, so that counting them is an index-only scan.
        cursor.execute("VACUUM ANALYZE contracts_ticketclock")
    print(
        f"kept clocks: the first ticket settlement built {kept:,} (one per ticket under its "
        f"priority's objective) and settled in {building.seconds:.2f} s; record_tickets keeps "
        "them current from then on"
    )
    ticket_runs: list[Settled] = []
    sample_runs: list[Settled] = []
    for round_ in range(args.runs + 1):
        # Alternate which goes first, so that neither always follows the other's writes.
        order = [("tickets", ticket_runs), ("samples", sample_runs)]
        for what, runs in order if round_ % 2 == 0 else order[::-1]:
            if what == "tickets":
                settled = settle(book.ticket_contract, first, ticket_indicators)
                check_counted(settled, book.tickets, "tickets")
            else:
                settled = settle(book.sample_contract, first, ("ratio",))
                check_counted(settled, book.samples, "samples")
            if round_:  # the first round warms the caches and the code paths, untimed
                runs.append(settled)
    tickets_s, tickets_cpu = median_of(ticket_runs)
    samples_s, samples_cpu = median_of(sample_runs)
    ratio = tickets_s / samples_s
    print(
        f"tickets: settle_periods of the ticket contract: {tickets_s:.3f} s wall, "
        f"{tickets_cpu:.3f} s CPU of this process (median of "
        f"{', '.join(f'{run.seconds:.3f}' for run in ticket_runs)}); "
        f"{ticket_runs[0].lines} ticket lines counted {ticket_runs[0].counted:,} tickets"
    )
    print(
        f"samples: settle_periods of the sample contract: {samples_s:.3f} s wall, "
        f"{samples_cpu:.3f} s CPU of this process (median of "
        f"{', '.join(f'{run.seconds:.3f}' for run in sample_runs)}); "
        f"{sample_runs[0].lines} ratio line counted {sample_runs[0].counted:,} samples"
    )
    verdict = "meets" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio tickets/samples: {ratio:.1f}× — {verdict} the target of ≤ {TARGET_RATIO:g}×")
    if args.profile:
        print("\n".join(profile_tickets(book)))
    if args.check and ratio > TARGET_RATIO:
        print(
            f"python -m {BENCHMARK}: the ratio {ratio:.1f}× is above the target of "
            f"{TARGET_RATIO:g}×",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
