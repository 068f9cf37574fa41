"""Ticket objectives of closed periods counted from the clocks kept at ingestion.

Each ticket's clock under an objective's terms is kept as two instants
(``contracts.services.ticket_clocks``): when it was answered or resolved, and the last
instant it was within the threshold (``engine.clock_deadline``). A period's counts are then
two index-only range scans per objective, like samples: the tickets done in the period
(met when done by their deadline), and those still open whose deadline fell in it
(breached). The digest adds up the tickets' fingerprints in the same scans. Only the worst
tickets, which the explanation names, are read as rows; an open one's clock at the
period's end is computed for the few whose deadline came first.

Targets this cannot count go to :mod:`credits.settlement.tickets` (the reference): open
periods (early warnings), a calendar given by a what-if preview, a period whose linked
responsibilities lapsed while its tickets were open (relief), SQLite, and clock sets not
built yet outside a settlement (only settlement, holding the contract's lock, builds them).
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Min, Q
from django.utils import timezone

import engine
from contracts.models import (
    ResponsibilityLapse,
    ServiceCalendar,
    Ticket,
    TicketClock,
    TicketClockSet,
)
from contracts.selectors import engine_calendar
from contracts.services.ticket_clocks import ClockTerms, build_clock_set
from credits.settlement.inputs import Plan, Target, TicketInputs

# The most tickets an explanation names (engine.evaluate names fewer).
WORST_KEPT = 3
# Open tickets read at a time while looking for the worst.
_CANDIDATES = 64

_COUNTS_SQL = f"""
SELECT t.idx, d.counted, d.met, d.fingerprints, r.counted, r.fingerprints
FROM unnest(%(idx)s::int[], %(clock_set)s::bigint[], %(priority)s::text[],
            %(low)s::bigint[], %(high)s::bigint[], %(lim)s::bigint[])
     AS t(idx, clock_set, priority, low, high, lim)
CROSS JOIN LATERAL (
    SELECT count(*) AS counted,
           count(*) FILTER (WHERE c.deadline IS NULL OR c.done <= c.deadline) AS met,
           coalesce(sum(c.fingerprint), 0) AS fingerprints
    FROM {TicketClock._meta.db_table} c
    WHERE c.clock_set_id = t.clock_set
      AND c.done >= t.low AND c.done < t.high
      AND (c.deadline IS NULL OR c.deadline >= t.low)
      AND (t.priority IS NULL OR c.priority = t.priority)
) d
CROSS JOIN LATERAL (
    SELECT count(*) AS counted, coalesce(sum(c.fingerprint), 0) AS fingerprints
    FROM {TicketClock._meta.db_table} c
    WHERE c.clock_set_id = t.clock_set
      AND c.deadline >= t.low AND c.deadline < t.high
      AND (c.done IS NULL OR c.done >= t.high)
      AND (t.priority IS NULL OR c.priority = t.priority)
) r
"""


@dataclass(frozen=True, slots=True)
class CountedTickets(engine.TicketMeasure):
    """A ticket measure counted from the kept clocks: its counts, and as ``outcomes`` only
    the worst tickets (what an explanation names)."""

    counted: int = 0
    counted_within: int = 0

    @property
    def total(self) -> int:
        return self.counted

    @property
    def within(self) -> int:
        return self.counted_within

    def merge(self, other: engine.TicketMeasure) -> engine.TicketMeasure:
        raise TypeError("a measure counted from kept clocks does not hold every ticket to merge")


def _eligible(plans: Sequence[Plan]) -> list[tuple[Plan, Target]]:
    if connection.vendor != "postgresql":
        return []
    chosen = []
    for plan in plans:
        if plan.window is None or plan.job.until < plan.job.period.end_at:
            continue
        if plan.window[0].microsecond or plan.window[1].microsecond:
            continue
        for target in plan.targets:
            # A calendar the objective brings itself (a what-if) has no kept clocks.
            objective = target.objective
            if objective.is_ticket and target.tickets is None and objective.calendar is None:
                chosen.append((plan, target))
    return _without_relief(chosen)


def _without_relief(chosen: list[tuple[Plan, Target]]) -> list[tuple[Plan, Target]]:
    """Leave out the targets whose linked responsibilities lapsed while any of their
    period's tickets may have been open: relief stops those clocks, which the kept ones do
    not know. Two queries when any target has linked responsibilities, none otherwise."""
    linked = [(plan, target) for plan, target in chosen if target.linked_ids]
    if not linked:
        return chosen
    low = min(plan.window[0] for plan, _target in linked)
    high = max(plan.window[1] for plan, _target in linked)
    lapses: dict[tuple[int, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    for contract_id, level_id, start, end in (
        ResponsibilityLapse.objects.relieving()
        .filter(
            responsibility__contract__in={plan.job.contract.pk for plan, _target in linked},
            responsibility__service_levels__in={i for _p, t in linked for i in t.linked_ids},
            start__lt=high,
        )
        .values_list(
            "responsibility__contract_id", "responsibility__service_levels", "start", "end"
        )
    ):
        lapses[(contract_id, level_id)].append((start, end))
    if not lapses:
        return chosen
    # The oldest ticket of each service that any of the periods may count (at least as
    # old as any one period's: a lapse after it may have stopped a clock).
    earliest = dict(
        Ticket.objects.filter(
            contract_service__in={target.contract_service.pk for _plan, target in linked},
            opened_at__lt=high,
        )
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=low))
        .order_by()
        .values("contract_service")
        .annotate(first=Min("opened_at"))
        .values_list("contract_service", "first")
    )
    relieved = set()
    for plan, target in linked:
        first = earliest.get(target.contract_service.pk)
        if first is not None and any(
            start < plan.window[1] and end > first
            for level_id in target.linked_ids
            for start, end in lapses.get((plan.job.contract.pk, level_id), ())
        ):
            relieved.add(id(target))
    return [(plan, target) for plan, target in chosen if id(target) not in relieved]


def count_from_kept_clocks(plans: Sequence[Plan]) -> None:
    """Count every ticket objective of the plans that the kept clocks can count, giving
    each its counted inputs; the others keep ``tickets`` None for the reference. A job
    that settles (under its contract's lock) builds the clock sets not built yet."""
    chosen = _eligible(plans)
    if not chosen:
        return
    wanted = {t.service_level.calendar_id for _p, t in chosen} - {None}
    calendars = {
        calendar.pk: calendar
        for calendar in ServiceCalendar.objects.filter(pk__in=wanted).prefetch_related("closures")
    }
    terms: dict[int, tuple[ClockTerms, str]] = {}
    for _plan, target in chosen:
        calendar = calendars.get(target.service_level.calendar_id)
        spec = ClockTerms.of(target.objective, calendar)
        terms[id(target)] = (spec, spec.key(calendar.closures.all() if calendar else None))
    needed = {(t.contract_service.pk, terms[id(t)][1]) for _p, t in chosen}
    built = {
        (cs_id, key): pk
        for pk, cs_id, key in TicketClockSet.objects.filter(
            contract_service__in={cs for cs, _key in needed},
            terms__in={key for _cs, key in needed},
        ).values_list("pk", "contract_service_id", "terms")
    }
    now = timezone.now()
    for plan, target in chosen:
        spec, key = terms[id(target)]
        pair = (target.contract_service.pk, key)
        if pair not in built and plan.job.settling:
            built[pair] = build_clock_set(pair[0], spec, now=now).pk
    chosen = [(p, t) for p, t in chosen if (t.contract_service.pk, terms[id(t)][1]) in built]
    if not chosen:
        return
    params: dict[str, list[object]] = defaultdict(list)
    for idx, (plan, target) in enumerate(chosen):
        params["idx"].append(idx)
        params["clock_set"].append(built[(target.contract_service.pk, terms[id(target)][1])])
        params["priority"].append(target.objective.priority)
        params["low"].append(engine.to_epoch_seconds(plan.window[0]))
        params["high"].append(engine.to_epoch_seconds(plan.window[1]))
        params["lim"].append(terms[id(target)][0].limit_seconds)
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS_SQL, params)
        counts = {row[0]: row[1:] for row in cursor.fetchall()}
    clocks = _Clocks()
    worst_done = _worst_done(params)
    worst_open = _worst_open(chosen, params, terms, counts, clocks)
    for idx, (plan, target) in enumerate(chosen):
        spec, key = terms[id(target)]
        done, met, done_sum, running, running_sum = counts[idx]
        worst = heapq.nsmallest(
            WORST_KEPT,
            worst_done.get(idx, []) + worst_open.get(idx, []),
            key=lambda o: (-o.clock.business_seconds, o.reference),
        )
        objective = target.objective
        clock = clocks.of(spec.calendar, plan.window[0], plan.window[1])
        measure = CountedTickets(
            objective.clock_kind,
            Decimal(objective.threshold),
            objective.priority,
            tuple(worst),
            clock.calendar is not None,
            counted=done + running,
            counted_within=met,
        )
        digest = engine.tickets_digest([int(done_sum), int(running_sum)], key)
        target.tickets = TicketInputs(clock=clock, window=plan.window, counted=(measure, digest))


class _Clocks:
    """Business clocks of the batch's calendars, for the years a reading needs."""

    def __init__(self) -> None:
        self._clocks: dict[tuple[int | None, int, int], engine.BusinessClock] = {}

    def of(
        self, calendar: ServiceCalendar | None, low: datetime, high: datetime
    ) -> engine.BusinessClock:
        # Holidays are known for the years a calendar is built for: one clock per span
        # of years.
        key = (None if calendar is None else calendar.pk, low.year, high.year)
        clock = self._clocks.get(key)
        if clock is None:
            built = None if calendar is None else engine_calendar(calendar, low, high)
            clock = self._clocks[key] = engine.BusinessClock(built, low, high)
        return clock


_TARGETS = """
unnest(%(idx)s::int[], %(clock_set)s::bigint[], %(priority)s::text[],
       %(low)s::bigint[], %(high)s::bigint[], %(lim)s::bigint[])
    AS t(idx, clock_set, priority, low, high, lim)
"""

# The longest clocks of the tickets done in each period, longest first and then by
# reference: read down the index of the longest clocks until the first few done in the
# period (ids from the index alone), then their rows.
_WORST_DONE_SQL = f"""
SELECT w.idx, c.reference, c.priority, c.opened, c.done, c.business_seconds,
       c.stopped_seconds, c.business_seconds <= w.lim
FROM (
    SELECT t.idx, t.lim, top.id
    FROM {_TARGETS}
    CROSS JOIN LATERAL (
        SELECT c.id FROM {TicketClock._meta.db_table} c
        WHERE c.clock_set_id = t.clock_set
          -- "+ 0": not a range for the index of the period's tickets, whose rows would
          -- all be read and sorted; down the index of the longest clocks instead.
          AND c.done + 0 >= t.low AND c.done + 0 < t.high
          AND (c.deadline IS NULL OR c.deadline >= t.low)
          AND (t.priority IS NULL OR c.priority = t.priority)
        ORDER BY c.business_seconds DESC, c.reference COLLATE "C"
        LIMIT {WORST_KEPT}
    ) top
) w
JOIN {TicketClock._meta.db_table} c ON c.id = w.id
"""

# Tickets still open at each period's end whose clock passed the threshold in it, in the
# order of their deadlines (the earliest can have run longest).
_OPEN_SQL = f"""
SELECT t.idx, c.reference, c.priority, c.opened, c.deadline, c.stops
FROM {_TARGETS}
CROSS JOIN LATERAL (
    SELECT c.* FROM {TicketClock._meta.db_table} c
    WHERE c.clock_set_id = t.clock_set
      AND c.deadline >= t.low AND c.deadline < t.high
      AND (c.done IS NULL OR c.done >= t.high)
      AND (t.priority IS NULL OR c.priority = t.priority)
    ORDER BY c.deadline, c.id
    OFFSET %(offset)s LIMIT {_CANDIDATES}
) c
"""


def _worst_done(params: dict[str, list[object]]) -> dict[int, list[engine.TicketOutcome]]:
    found: dict[int, list[engine.TicketOutcome]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_WORST_DONE_SQL, params)
        for idx, reference, priority, opened, done, business, stopped, met in cursor.fetchall():
            reading = engine.TicketClock(business, stopped, done - opened, False)
            found[idx].append(engine.TicketOutcome(reference, priority, reading, met))
    return found


def _worst_open(
    chosen: Sequence[tuple[Plan, Target]],
    params: dict[str, list[object]],
    terms: dict[int, tuple[ClockTerms, str]],
    counts: dict[int, tuple],
    clocks: _Clocks,
) -> dict[int, list[engine.TicketOutcome]]:
    """The longest clocks at each period's end of the tickets still open then and past
    their threshold: read from their stops, a few at a time in the order of their
    deadlines, until no later deadline can give a longer clock than the ones found (past
    its deadline a clock has run at most the business time since). One query for the
    first few of every target; another per target only where those do not settle it."""
    best: dict[int, list[engine.TicketOutcome]] = defaultdict(list)
    pending = {idx for idx in range(len(chosen)) if counts[idx][3]}
    offset = 0
    while pending:
        keep = [i for i, idx in enumerate(params["idx"]) if idx in pending]
        subset: dict[str, object] = {
            name: [values[i] for i in keep] for name, values in params.items()
        }
        subset["offset"] = offset
        rows: dict[int, list[tuple]] = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(_OPEN_SQL, subset)
            for row in cursor.fetchall():
                rows[row[0]].append(row[1:])
        for idx in list(pending):
            plan, target = chosen[idx]
            spec = terms[id(target)][0]
            if not _read_open(best[idx], rows.get(idx, []), plan, spec, clocks):
                pending.discard(idx)
        offset += _CANDIDATES
    return best


def _read_open(
    best: list[engine.TicketOutcome],
    rows: Sequence[tuple],
    plan: Plan,
    spec: ClockTerms,
    clocks: _Clocks,
) -> bool:
    """Add ``rows`` to ``best`` (kept sorted, at most WORST_KEPT); whether later rows may
    still matter."""
    if not rows:
        return False
    high = engine.to_epoch_seconds(plan.window[1])
    limit = spec.limit_seconds
    opened = datetime.fromtimestamp(min(row[2] for row in rows), UTC)
    clock = clocks.of(spec.calendar, opened, plan.window[1])
    for reference, priority, opened_at, deadline, stops in rows:
        bound = limit + 1 + clock.at(high) - clock.at(deadline + 1)
        if len(best) >= WORST_KEPT and bound < best[-1].clock.business_seconds:
            return False
        # Django reads jsonb as text (its JSONField decodes it).
        spans = [(first, last) for first, last in json.loads(stops)]
        stopped = clock.stopped_seconds(opened_at, high, spans) if spans else 0
        business = clock.at(high) - clock.at(opened_at) - stopped
        reading = engine.TicketClock(business, stopped, high - opened_at, True)
        best.append(engine.TicketOutcome(reference, priority, reading, False))
        best.sort(key=lambda o: (-o.clock.business_seconds, o.reference))
        del best[WORST_KEPT:]
    return len(rows) == _CANDIDATES
