"""Micro-benchmark of business time: ticket clocks per second against wall-clock subtraction.

    python -m bench.business_time [--tickets 1000000] [--seed 7] [--check]

Builds ``--tickets`` tickets (deterministic for a seed) opened through 2026 in
Europe/Berlin, resolved after up to ten days or still open at the end of the year, with
up to two waits on the customer and now and then a lapse of the customer's; the
calendar is Mon–Fri 08:00–18:00 with the public holidays of Berlin. Times, on the same
timestamps (aware datetimes, as the database gives them):

- wall clock: resolution (or the end of the year) minus opening, less the waits, by
  plain ``datetime`` subtraction;
- business time: a :class:`engine.Ticket` built from the row (validated) and its
  :func:`engine.ticket_clock` in the calendar's :class:`engine.BusinessClock` — every
  wait and lapse subtracted once, in business seconds.

Input generation is not timed; the clock is built once and timed. Times are the CPU time
of this process (the machine may be busy with other work), and both sides run chunk by
chunk, in turn, so whatever slows one slows the other alike. Prints tickets/s for both and the
ratio; exits with status 1 when fewer tickets were clocked than built, and with
``--check`` when the ratio is above the target of 20.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine import BusinessClock, ServiceCalendar, Ticket, describe_calendar, ticket_clock

TARGET_RATIO = 20
CHUNK = 100_000
SECOND = timedelta(seconds=1)
BERLIN = ZoneInfo("Europe/Berlin")
YEAR_START = datetime(2026, 1, 1, tzinfo=BERLIN).astimezone(UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=BERLIN).astimezone(UTC)
EASTER = {2025: date(2025, 4, 20), 2026: date(2026, 4, 5), 2027: date(2027, 3, 28)}

Row = tuple[str, str, datetime, datetime | None, datetime | None, tuple]


def berlin_holidays() -> dict[date, str]:
    """Public holidays of Berlin (Germany, BE), 2025–2027, as plain dates."""
    days: dict[date, str] = {}
    for year, easter in EASTER.items():
        days |= {
            date(year, 1, 1): "New Year's Day",
            date(year, 3, 8): "International Women's Day",
            easter - timedelta(days=2): "Good Friday",
            easter + timedelta(days=1): "Easter Monday",
            date(year, 5, 1): "Labour Day",
            easter + timedelta(days=39): "Ascension Day",
            easter + timedelta(days=50): "Whit Monday",
            date(year, 10, 3): "German Unity Day",
            date(year, 12, 25): "Christmas Day",
            date(year, 12, 26): "Second Day of Christmas",
        }
    return days


def calendar() -> ServiceCalendar:
    """Mon–Fri 08:00–18:00 Europe/Berlin, Berlin's public holidays closed."""
    return ServiceCalendar(
        "Europe/Berlin",
        {day: [("08:00", "18:00")] for day in range(5)},
        closed_days=berlin_holidays(),
    )


def build_rows(n: int, rng: random.Random) -> list[Row]:
    """``n`` tickets as rows of aware UTC datetimes, the way the database returns them."""
    year = int((YEAR_END - YEAR_START) / SECOND)
    rows: list[Row] = []
    for index in range(n):
        opened = YEAR_START + timedelta(seconds=rng.randrange(year - 11 * 86_400))
        length = rng.randrange(1, 10 * 86_400)
        resolved = opened + timedelta(seconds=length) if rng.random() < 0.9 else None
        responded = opened + timedelta(seconds=rng.randrange(0, min(length, 7200)))
        stops: list[tuple[datetime, datetime | None]] = []
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            start = opened + timedelta(seconds=rng.randrange(length))
            stops.append((start, start + timedelta(seconds=rng.randrange(1, 2 * 86_400))))
        if rng.random() < 0.05:  # a lapse of the customer's, still going for some
            start = opened + timedelta(seconds=rng.randrange(length))
            end = None if rng.random() < 0.2 else start + timedelta(seconds=86_400)
            stops.append((start, end))
        rows.append(
            (
                f"INC-{index}",
                rng.choice(("P1", "P2", "P3")),
                opened,
                responded,
                resolved,
                tuple(stops),
            )
        )
    return rows


def wall_seconds(rows: list[Row]) -> int:
    """Wall-clock seconds to resolution (or the end of the year) less the waits."""
    total = 0
    for _reference, _priority, opened, _responded, resolved, stops in rows:
        end = YEAR_END if resolved is None else resolved
        seconds = (end - opened) // SECOND
        for start, stop_end in stops:
            seconds -= ((YEAR_END if stop_end is None else stop_end) - start) // SECOND
        total += seconds
    return total


def business_seconds(rows: list[Row], clock: BusinessClock) -> tuple[int, int]:
    """How many tickets were clocked, and their business seconds less stopped time."""
    count = total = 0
    for reference, priority, opened, responded, resolved, stops in rows:
        ticket = Ticket(
            reference,
            priority,
            opened,
            first_response_at=responded,
            resolved_at=resolved,
            stops=stops,
        )
        total += ticket_clock(ticket, clock, YEAR_END).business_seconds
        count += 1
    return count, total


def _rate(count: int, nanoseconds: int) -> str:
    return f"{count * 1_000_000_000 // max(nanoseconds, 1):,}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print tickets per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets (1000000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help=f"fail above {TARGET_RATIO}×")
    args = parser.parse_args(argv)
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    rng = random.Random(args.seed)
    service = calendar()
    built = clocked = 0
    wall_ns = business_ns = 0
    wall_total = business_total = 0
    started = time.process_time_ns()
    clock = BusinessClock(service, YEAR_START - timedelta(days=31), YEAR_END + timedelta(days=31))
    build_ns = time.process_time_ns() - started
    business_ns += build_ns
    business_seconds(build_rows(1000, random.Random(0)), clock)  # warm, as a running worker is
    while built < args.tickets:
        rows = build_rows(min(CHUNK, args.tickets - built), rng)
        built += len(rows)
        started = time.process_time_ns()
        wall_total += wall_seconds(rows)
        wall_ns += time.process_time_ns() - started
        started = time.process_time_ns()
        count, seconds = business_seconds(rows, clock)
        business_ns += time.process_time_ns() - started
        clocked += count
        business_total += seconds
    ratio = business_ns / max(wall_ns, 1)
    verdict = "meets" if ratio <= TARGET_RATIO else "ABOVE"
    hours = describe_calendar(service, "public holidays in Berlin")
    print(f"business time: {built:,} tickets, {hours}; CPU time")
    print(
        f"  wall clock (datetime subtraction): {_rate(built, wall_ns)} tickets/s "
        f"({wall_ns / 1e9:.3f} s)"
    )
    print(
        f"  business minutes (Ticket + ticket_clock): {_rate(clocked, business_ns)} tickets/s "
        f"({business_ns / 1e9:.3f} s, of which {build_ns / 1e6:.1f} ms to build the clock)"
    )
    print(f"  ratio: {ratio:.1f}× — {verdict} the target of ≤ {TARGET_RATIO}×")
    print(
        f"  checksum: {wall_total // 60:,} wall minutes, {business_total // 60:,} business minutes"
    )
    if clocked < built:
        print(f"  only {clocked:,} of {built:,} tickets were clocked", file=sys.stderr)
        return 1
    return 1 if args.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
