"""Ticket objectives measured in PostgreSQL: every ticket's clock and outcome in one
statement, read back as counts, worst tickets and a digest, and the statement's per-ticket
detail copied on the server.

Each calendar's business clock travels as arrays (span starts, and the cumulative business
seconds they give); a ticket's clock is the difference of two lookups (``width_bucket``)
less its stops, unioned as a multirange so overlaps count once. No ticket becomes a Python
object. :mod:`credits.settlement.tickets` is the reference (and SQLite's, and the early
warnings'); tests compare the two.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

import engine
from contracts.models import Responsibility, ResponsibilityLapse, Ticket, TicketEvent
from contracts.querysets import WITHDRAWN_LAPSE
from credits.models import StatementLine, StatementLineTicket
from credits.settlement.inputs import Plan, Span, TicketInputs
from credits.settlement.tickets import Clocks, TicketBook, ticket_targets
from engine.tickets import STOPPING_STATUSES

# How far an open ticket's clock may be from its threshold and still be warned of.

# Far past any instant a clock reads (2**62 seconds): the end of the only span of 24×7.
_FOREVER = 2**62
_STOPPING = sorted(STOPPING_STATUSES)


def _epoch(expression: str) -> str:
    # Whole seconds, floored as the engine floors them (a cast to bigint would round).
    return f"floor(extract(epoch FROM {expression}))::bigint"


def _business(instant: str, clock: str = "cal") -> str:
    """SQL for the business seconds before ``instant`` (epoch seconds) in a clock's spans:
    ``width_bucket`` finds the last span starting at or before it (the first span is a
    sentinel at the epoch, so there always is one); inside the span the instant adds its
    distance from the span's start, past its end the span's whole length."""
    index = f"width_bucket({instant}, {clock}.starts)"
    return f"LEAST({clock}.base[{index}] + {instant}, {clock}.after[{index}])"


def _stopped(spans: str, opened: str, until: str) -> str:
    """SQL for the business seconds of ``[opened, until)`` inside a ticket's stops (a
    multirange, so that overlapping stops count once; NULL without stops). Only the stops
    that meet ``[opened, until)`` are in it: a stop from the final resolution on never is."""
    part = "stop_part"
    return (
        f"CASE WHEN {spans} IS NULL THEN 0 ELSE "
        f"(SELECT coalesce(sum({_business(f'upper({part})')} - {_business(f'lower({part})')}), 0)"
        f"::bigint FROM unnest({spans} * int8multirange(int8range({opened}, {until}))) AS {part})"
        " END"
    )


# The clocks' sorts and hashes (a ticket's events in order, its stops) stay in memory for
# a few hundred thousand events instead of spilling to disk; for the rest of the
# settlement's transaction only, and sent with the statement (one round trip). Two
# statements in one call work because psycopg binds parameters on the client, Django's
# default; server-side binding would refuse them.
_WORK_MEM = "64MB"

# Every counted ticket of every target (one row per target and ticket) with its clock, as
# engine.tickets.period_outcome has it: the clock ends at the response/resolution when
# that falls inside the window, else at the window's end (running); a running clock counts
# only past the threshold, and a ticket already past it at the window's start counted in
# an earlier period. Stops are the status events' stopping intervals (each lasting to the
# ticket's next event, or on) and the lapses of the target's linked responsibilities.
_CLOCKS_SQL = f"""
SET LOCAL work_mem = '{_WORK_MEM}';
CREATE TEMP TABLE {{table}} ON COMMIT DROP AS
WITH target AS MATERIALIZED (
    SELECT * FROM unnest(
        %(idx)s::int[], %(cs)s::bigint[], %(priority)s::text[], %(contract)s::bigint[],
        %(response)s::boolean[], %(low)s::bigint[], %(high)s::bigint[], %(lim)s::bigint[],
        %(cal)s::int[]
    ) AS t(idx, cs, priority, contract, response, low, high, lim, cal)
),
clock AS MATERIALIZED (
    SELECT c.n, c.starts::bigint[] AS starts, c.base::bigint[] AS base,
           c.after::bigint[] AS after
    FROM unnest(%(cal_n)s::int[], %(cal_starts)s::text[], %(cal_base)s::text[],
                %(cal_after)s::text[]) AS c(n, starts, base, after)
),
ticket AS MATERIALIZED (
    SELECT t.idx, t.low, t.high, t.lim, t.cal, k.id AS ticket_id, k.reference, k.priority,
           k.opened_at, d.done_at, {_epoch("k.opened_at")} AS opened, {_epoch("d.done_at")} AS done
    FROM target t
    JOIN {Ticket._meta.db_table} k
      ON k.contract_service_id = t.cs
     AND (t.priority IS NULL OR k.priority = t.priority)
     AND k.opened_at < to_timestamp(t.high)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.response THEN coalesce(k.first_response_at, k.resolved_at)
                    ELSE k.resolved_at END AS done_at
    ) d
    WHERE d.done_at IS NULL OR d.done_at >= to_timestamp(t.low)
),
counted AS MATERIALIZED (
    SELECT k.*, f.until, f.running
    FROM ticket k
    CROSS JOIN LATERAL (
        SELECT CASE WHEN k.done < k.high THEN k.done ELSE k.high END AS until,
               NOT coalesce(k.done < k.high, false) AS running
    ) f
),
event AS (
    SELECT e.ticket_id, e.status, {_epoch("e.at")} AS lo,
           {_epoch("lead(e.at) OVER (PARTITION BY e.ticket_id ORDER BY e.at, e.id)")} AS hi
    FROM {TicketEvent._meta.db_table} e
    WHERE e.ticket_id IN (
        SELECT k.id FROM {Ticket._meta.db_table} k
        WHERE k.contract_service_id = ANY(%(cs)s::bigint[])
          AND k.opened_at < to_timestamp(%(top)s)
          AND (k.resolved_at IS NULL OR k.resolved_at >= to_timestamp(%(bottom)s))
    )
),
relief AS (
    SELECT DISTINCT t.idx, {_epoch("lapse.start")} AS lo, {_epoch('lapse."end"')} AS hi
    FROM unnest(%(link_idx)s::int[], %(link_level)s::bigint[]) AS link(idx, level)
    JOIN target t ON t.idx = link.idx
    JOIN {Responsibility.service_levels.through._meta.db_table} rs
      ON rs.servicelevel_id = link.level
    JOIN {Responsibility._meta.db_table} r
      ON r.id = rs.responsibility_id AND r.contract_id = t.contract
    JOIN {ResponsibilityLapse._meta.db_table} lapse
      ON lapse.responsibility_id = r.id AND lapse.status <> '{WITHDRAWN_LAPSE}'
),
stop AS (
    SELECT idx, ticket_id, range_agg(int8range(lo, hi)) AS spans
    FROM (
        SELECT c.idx, c.ticket_id, e.lo, e.hi
        FROM counted c JOIN event e ON e.ticket_id = c.ticket_id
        WHERE e.status IN ({", ".join(f"'{status}'" for status in _STOPPING)})
          AND e.lo < c.until AND (e.hi IS NULL OR e.hi > c.opened)
        UNION ALL
        SELECT c.idx, c.ticket_id, r.lo, r.hi
        FROM counted c JOIN relief r ON r.idx = c.idx AND r.lo < c.until AND r.hi > c.opened
    ) AS piece
    GROUP BY idx, ticket_id
),
read AS (
    SELECT c.*, s.spans
    FROM counted c
    LEFT JOIN stop s ON s.idx = c.idx AND s.ticket_id = c.ticket_id
),
clocked AS (
    SELECT r.idx, r.ticket_id, r.reference, r.priority, r.opened_at, r.running, r.lim,
           CASE WHEN r.running THEN NULL ELSE r.done_at END AS done_at,
           {_business("r.until")} - {_business("r.opened")} - u.stopped AS business,
           u.stopped, r.until - r.opened AS wall,
           CASE WHEN r.opened < r.low THEN
               {_business("r.low")} - {_business("r.opened")}
               - {_stopped("r.spans", "r.opened", "r.low")}
           END AS at_start
    FROM read r
    JOIN clock cal ON cal.n = r.cal
    CROSS JOIN LATERAL (SELECT {_stopped("r.spans", "r.opened", "r.until")} AS stopped) u
)
SELECT idx, ticket_id, reference, priority, opened_at, done_at, business, stopped, wall,
       running, business <= lim AS met
FROM clocked
WHERE NOT (running AND business <= lim) AND NOT coalesce(at_start > lim, false)
"""

# Per target: the counts, the worst tickets (longest clock first, then by reference) and
# the digest of every counted ticket's clock, ordered by reference as Python orders text.
_COUNTS_SQL = """
WITH ranked AS (
    SELECT t.*, row_number() OVER (
        PARTITION BY idx ORDER BY business DESC, reference COLLATE "C"
    ) AS rank
    FROM {table} t
)
SELECT idx, count(*), count(*) FILTER (WHERE met),
       encode(sha256(convert_to(string_agg(
           concat_ws(E'\\t', reference, business, stopped, wall,
                     CASE WHEN running THEN 'True' ELSE 'False' END,
                     CASE WHEN met THEN 'True' ELSE 'False' END) || E'\\n',
           '' ORDER BY reference COLLATE "C"), 'UTF8')), 'hex'),
       json_agg(json_build_array(reference, priority, business, stopped, wall, running, met)
                ORDER BY rank) FILTER (WHERE rank <= %(worst)s)
FROM ranked
GROUP BY idx
"""

# The most tickets an explanation names (engine.evaluate names fewer).
_WORST_KEPT = 3
_EMPTY_DIGEST = hashlib.sha256().hexdigest()


@dataclass(frozen=True, slots=True)
class CountedTickets(engine.TicketMeasure):
    """A ticket measure counted by the database: its counts, and as ``outcomes`` only the
    worst tickets (what an explanation names); every counted ticket stays in ``table``
    under ``index`` for the statement's per-ticket detail."""

    counted: int = 0
    counted_within: int = 0
    table: str = ""
    index: int = 0

    @property
    def total(self) -> int:
        return self.counted

    @property
    def within(self) -> int:
        return self.counted_within

    def merge(self, other: engine.TicketMeasure) -> engine.TicketMeasure:
        raise TypeError("a measure counted by the database does not keep every ticket to merge")


def _array(values: Iterable[int]) -> str:
    return "{" + ",".join(str(value) for value in values) + "}"


def _clock_arrays(spans: Sequence[Span]) -> tuple[str, str, str]:
    """A clock's spans as the SQL of :func:`_business` reads them: the starts, each start's
    business seconds before it less the start, and the business seconds by its end; the
    first span is an empty sentinel at the epoch."""
    starts, base, after = [0], [0], [0]
    total = 0
    for first, last in spans:
        starts.append(first)
        base.append(total - first)
        total += last - first
        after.append(total)
    return _array(starts), _array(base), _array(after)


def measure_in_database(plans: Sequence[Plan], book: TicketBook) -> None:
    """Measure every target's tickets in the database (two queries) and give each target
    its counted inputs."""
    targets = ticket_targets(plans)
    if not targets:
        return
    low = min(plan.window[0] for plan, _target in targets)
    high = max(plan.window[1] for plan, _target in targets)
    if book.earliest is not None:
        low = min(low, book.earliest)
    clocks = Clocks(low, high)
    numbers: dict[engine.ServiceCalendar | None, int] = {}
    calendar_params: dict[str, list[object]] = defaultdict(list)
    params: dict[str, list[object]] = defaultdict(list)
    for idx, (plan, target) in enumerate(targets):
        objective = target.objective
        calendar = objective.calendar if objective.in_service_hours else None
        if calendar not in numbers:
            numbers[calendar] = len(numbers)
            if calendar is None:
                arrays = (_array([0]), _array([0]), _array([_FOREVER]))
            else:
                arrays = _clock_arrays(engine.service_intervals(calendar, low, high))
            calendar_params["cal_n"].append(numbers[calendar])
            for name, array in zip(("cal_starts", "cal_base", "cal_after"), arrays, strict=True):
                calendar_params[name].append(array)
        params["idx"].append(idx)
        params["cs"].append(target.contract_service.pk)
        params["priority"].append(objective.priority)
        params["contract"].append(plan.job.contract.pk)
        params["response"].append(objective.clock_kind == "response")
        params["low"].append(engine.to_epoch_seconds(plan.window[0]))
        params["high"].append(engine.to_epoch_seconds(plan.window[1]))
        params["lim"].append(engine.threshold_seconds(objective.threshold))
        params["cal"].append(numbers[calendar])
        for level_id in sorted(target.linked_ids):
            params["link_idx"].append(idx)
            params["link_level"].append(level_id)
    params |= calendar_params
    params["top"] = engine.to_epoch_seconds(max(plan.window[1] for plan, _target in targets))
    params["bottom"] = engine.to_epoch_seconds(min(plan.window[0] for plan, _target in targets))
    params.setdefault("link_idx", [])
    params.setdefault("link_level", [])
    table = f"settled_tickets_{uuid.uuid4().hex}"
    # The temporary table lives until the transaction ends: settlement writes the detail
    # from it in the same transaction; a preview outside one keeps only the counts.
    scope = nullcontext() if connection.in_atomic_block else transaction.atomic()
    with scope, connection.cursor() as cursor:
        cursor.execute(_CLOCKS_SQL.format(table=table), params)
        cursor.execute(_COUNTS_SQL.format(table=table), {"worst": _WORST_KEPT})
        counts = {row[0]: row[1:] for row in cursor.fetchall()}
    for idx, (plan, target) in enumerate(targets):
        objective = target.objective
        total, within, digest, worst = counts.get(idx, (0, 0, _EMPTY_DIGEST, None))
        outcomes = tuple(
            engine.TicketOutcome(
                reference, priority, engine.TicketClock(business, stopped, wall, running), met
            )
            for reference, priority, business, stopped, wall, running, met in worst or ()
        )
        measure = CountedTickets(
            objective.clock_kind,
            Decimal(objective.threshold),
            objective.priority,
            outcomes,
            objective.in_service_hours,
            counted=total,
            counted_within=within,
            table=table,
            index=idx,
        )
        target.tickets = TicketInputs(
            clock=clocks.of(objective.calendar), window=plan.window, counted=(measure, digest)
        )


def write_ticket_details(lines: Sequence[tuple[int, int, str, CountedTickets]]) -> None:
    """The per-ticket detail of ticket lines measured in the database, copied on the server
    from the batch's temporary table: one query per table (one per batch). ``lines`` are
    (statement id, contract service id, objective key, measure)."""
    by_table: dict[str, list[tuple[int, int, str, int]]] = defaultdict(list)
    for statement_id, cs_id, key, measure in lines:
        if measure.counted:
            by_table[measure.table].append((statement_id, cs_id, key, measure.index))
    detail = StatementLineTicket._meta.db_table
    for table, rows in by_table.items():
        statements, services, keys, indexes = (list(column) for column in zip(*rows, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {detail} (line_id, ticket_id, reference, priority, opened_at,
                    done_at, business_seconds, stopped_seconds, wall_seconds, within)
                SELECT l.id, t.ticket_id, t.reference, t.priority, t.opened_at, t.done_at,
                       t.business, t.stopped, t.wall, t.met
                FROM unnest(%(statement)s::bigint[], %(cs)s::bigint[], %(key)s::text[],
                            %(idx)s::int[]) AS w(statement, cs, key, idx)
                JOIN {StatementLine._meta.db_table} l
                  ON l.statement_id = w.statement AND l.contract_service_id = w.cs
                 AND l.key = w.key AND l.indicator = ANY(%(indicators)s)
                JOIN {table} t ON t.idx = w.idx
                """,
                {
                    "statement": statements,
                    "cs": services,
                    "key": keys,
                    "idx": indexes,
                    "indicators": sorted(engine.TICKET_INDICATORS),
                },
            )
