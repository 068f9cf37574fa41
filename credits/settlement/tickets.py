"""Tickets of a batch: each ticket objective's tickets, their stops, and their clocks.

A ``response_time`` or ``resolution_time`` objective is measured from the tickets of its
contract service (of its priority, when it has one) that matter for the period: the ones
answered or resolved in it and the ones still open at its end (SPEC §6, and the period
rule of :mod:`engine.tickets`). A batch reads them in three queries whatever the number
of contracts, objectives or tickets: the tickets, their status events (which give the
stops: waiting on the customer, resolved before a reopen) and the lapses of the
responsibilities linked to the objectives (relief, also a stop). Each calendar's business
clock is built once per batch.

On PostgreSQL the objectives of closed periods are counted from the clocks kept at
ingestion instead (:mod:`credits.settlement.ticket_clocks`); this module is the reference
for them, and measures the rest: SQLite's, open periods' (early warnings read open tickets
one by one), relieved ones and what-if calendars. Tests compare the two.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

import engine
from contracts.models import Contract, ResponsibilityLapse, Ticket, TicketEvent
from contracts.services.ticket_clocks import engine_ticket
from credits.settlement.calendars import attach_calendars
from credits.settlement.inputs import (
    Instants,
    Job,
    Plan,
    Target,
    TicketInputs,
    attach_relief,
    overlaps,
    plan_jobs,
)
from credits.settlement.results import TicketRecord, canonical

# How far an open ticket's clock may be from its threshold and still be warned of.
WARNING_MARGIN_SECONDS = 30 * 60


@dataclass(slots=True)
class TicketBook:
    """What a batch read about tickets."""

    by_service: dict[int, list[TicketRecord]] = field(default_factory=dict)
    # Lapses per (contract id, service level id): the relief of ticket objectives.
    lapses: dict[tuple[int, int], list[Instants]] = field(default_factory=dict)
    # The first instant any clock reads: the oldest ticket's opening.
    earliest: datetime | None = None


def ticket_targets(plans: Sequence[Plan]) -> list[tuple[Plan, Target]]:
    """The ticket objectives of the plans not counted yet (by the kept clocks)."""
    return [
        (plan, target)
        for plan in plans
        if plan.window is not None
        for target in plan.targets
        if target.objective.is_ticket and target.tickets is None
    ]


def _tickets_of(targets: Sequence[tuple[Plan, Target]]) -> QuerySet[Ticket]:
    """The tickets the targets may count: of their services and priorities, opened before
    the last window ends and not resolved before the first one starts."""
    low = min(plan.window[0] for plan, _target in targets)
    high = max(plan.window[1] for plan, _target in targets)
    priorities: dict[int, set[str | None]] = defaultdict(set)
    for _plan, target in targets:
        priorities[target.contract_service.pk].add(target.objective.priority)
    scope = Q()
    for cs_id, wanted in priorities.items():
        if None in wanted:
            scope |= Q(contract_service_id=cs_id)
        else:
            scope |= Q(contract_service_id=cs_id, priority__in=sorted(wanted))
    return Ticket.objects.filter(scope, opened_at__lt=high).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=low)
    )


def load_tickets(plans: Sequence[Plan]) -> TicketBook:
    """The tickets of every ticket objective of the plans that may count in their windows:
    opened before the window ends and not resolved before it starts (a ticket resolved
    earlier has counted already). Three queries when there are ticket objectives and
    tickets, none without ticket objectives. When the database measures them
    (:func:`measured_in_database`) only the oldest ticket's opening is read (one query)."""
    targets = ticket_targets(plans)
    if not targets:
        return TicketBook()
    high = max(plan.window[1] for plan, _target in targets)
    tickets = _tickets_of(targets)
    rows = list(
        tickets.order_by().values_list(
            "pk",
            "contract_service_id",
            "reference",
            "priority",
            "opened_at",
            "first_response_at",
            "resolved_at",
        )
    )
    book = TicketBook()
    if not rows:
        return book
    events: dict[int, list[engine.StatusEvent]] = defaultdict(list)
    for ticket_id, at, status in (
        TicketEvent.objects.filter(ticket__in=tickets.values("pk"))
        .order_by("ticket_id", "at", "pk")
        .values_list("ticket_id", "at", "status")
    ):
        events[ticket_id].append(engine.StatusEvent(at, status))
    by_service: dict[int, list[TicketRecord]] = defaultdict(list)
    for pk, cs_id, reference, priority, opened, responded, resolved in rows:
        stops = engine.stops_from_events(events[pk]) if pk in events else ()
        by_service[cs_id].append(
            TicketRecord(pk, reference, priority, opened, responded, resolved, stops)
        )
    book.by_service = by_service
    book.earliest = min(row[4] for row in rows)
    linked = {level_id for _plan, target in targets for level_id in target.linked_ids}
    lapses = (
        ResponsibilityLapse.objects.relieving()
        .filter(
            responsibility__contract__in={plan.job.contract.pk for plan, _target in targets},
            responsibility__service_levels__in=linked,
            start__lt=high,
            end__gt=book.earliest,
        )
        .values_list(
            "responsibility__contract_id", "responsibility__service_levels", "start", "end"
        )
    )
    for contract_id, level_id, start, end in lapses:
        book.lapses.setdefault((contract_id, level_id), []).append((start, end))
    return book


class Clocks:
    """One business clock per calendar for the batch (None: around the clock)."""

    def __init__(self, low: datetime, high: datetime) -> None:
        self._low, self._high = low, high
        self._clocks: dict[engine.ServiceCalendar | None, engine.BusinessClock] = {}

    def of(self, calendar: engine.ServiceCalendar | None) -> engine.BusinessClock:
        clock = self._clocks.get(calendar)
        if clock is None:
            clock = self._clocks[calendar] = engine.BusinessClock(calendar, self._low, self._high)
        return clock


def attach_tickets(plans: Sequence[Plan], book: TicketBook) -> None:
    """Give each ticket objective of the plans not counted yet its tickets (as the engine
    reads them, with their stops and relief) and the clock of its calendar."""
    targets = ticket_targets(plans)
    if not targets:
        return
    low = min(plan.window[0] for plan, _target in targets)
    high = max(plan.window[1] for plan, _target in targets)
    clocks = Clocks(min(low, book.earliest) if book.earliest else low, high)
    for plan, target in targets:
        objective = target.objective
        kind = objective.clock_kind
        contract_id = plan.job.contract.pk
        relief: set[Instants] = set()
        for level_id in target.linked_ids:
            relief.update(book.lapses.get((contract_id, level_id), ()))
        inputs = TicketInputs(clock=clocks.of(objective.calendar), window=plan.window)
        for record in book.by_service.get(target.contract_service.pk, ()):
            if objective.priority is not None and record.priority != objective.priority:
                continue
            if record.opened_at >= plan.window[1]:
                continue
            done = record.done_at(kind)
            if done is not None and done < plan.window[0]:
                continue
            # Only the lapses while the ticket was open can stop its clock.
            span = (record.opened_at, done or plan.window[1])
            inputs.tickets.append(
                engine_ticket(
                    record.reference,
                    record.priority,
                    record.opened_at,
                    record.first_response_at,
                    record.resolved_at,
                    record.stops,
                    sorted(lapse for lapse in relief if overlaps(*lapse, span)),
                )
            )
            inputs.records[record.reference] = record
        target.tickets = inputs


def measure_tickets(target: Target) -> tuple[engine.TicketMeasure, dict[str, object]]:
    """The ticket measure of one ticket objective over its window, and the figures a
    statement line stores: counts, the clock and threshold, and a digest of every ticket's
    clock (so that a changed ticket issues a new revision even when the counts stay)."""
    objective = target.objective
    inputs = target.tickets
    assert inputs is not None and objective.threshold is not None
    if inputs.counted is not None:
        measure, digest = inputs.counted
        return measure, _ticket_figures(objective, measure, digest)
    measure = engine.measure_tickets(
        inputs.tickets,
        inputs.clock,
        period_start=inputs.window[0],
        period_end=inputs.window[1],
        threshold_minutes=objective.threshold,
        kind=objective.clock_kind,
        priority=objective.priority,
    )
    counted = {outcome.reference for outcome in measure.outcomes}
    digest = engine.tickets_digest(
        (
            engine.ticket_fingerprint(ticket, objective.clock_kind)
            for ticket in inputs.tickets
            if ticket.reference in counted
        ),
        target.clock_terms,
    )
    return measure, _ticket_figures(objective, measure, digest)


def _ticket_figures(
    objective: engine.Objective, measure: engine.TicketMeasure, digest: str
) -> dict[str, object]:
    return {
        "within": measure.within,
        "total": measure.total,
        "clock": measure.kind,
        "threshold_minutes": canonical(objective.threshold),
        "priority": objective.priority,
        "business_hours": measure.business_hours,
        "tickets_digest": digest,
    }


@dataclass(frozen=True, slots=True)
class AtRiskTicket:
    """An open ticket whose clock passes its objective's threshold within the warning
    margin (or has passed it), read at ``now``."""

    record: TicketRecord
    clock: engine.TicketClock


def tickets_at_risk(target: Target, now: datetime) -> list[AtRiskTicket]:
    """The open tickets of a ticket objective, at ``now``, whose clock is within
    :data:`WARNING_MARGIN_SECONDS` of the threshold or past it, leaving out those already
    past it when the period began (they counted in an earlier period)."""
    objective = target.objective
    inputs = target.tickets
    if inputs is None or objective.threshold is None:
        return []
    kind = objective.clock_kind
    limit = engine.threshold_seconds(objective.threshold)
    start = inputs.window[0]
    found = []
    for ticket in inputs.tickets:
        record = inputs.records[ticket.reference]
        done = record.done_at(kind)
        if (done is not None and done <= now) or record.opened_at > now:
            continue
        clock = engine.ticket_clock(ticket, inputs.clock, now, kind)
        if clock.business_seconds < limit - WARNING_MARGIN_SECONDS:
            continue
        if record.opened_at < start and (
            engine.ticket_clock(ticket, inputs.clock, start, kind).business_seconds > limit
        ):
            continue
        found.append(AtRiskTicket(record, clock))
    return found


@dataclass(frozen=True, slots=True)
class LineOutcomes:
    """Every ticket a ticket objective counts in a closed period, read again from the
    tickets as they stand, with their records and the digest of their clocks."""

    outcomes: tuple[engine.TicketOutcome, ...]
    records: dict[str, TicketRecord]
    digest: str
    kind: str


def line_outcomes(
    contract: Contract,
    period: engine.Period,
    contract_service_id: int,
    service_level_id: int | None,
    threshold_minutes: Decimal,
    priority: str | None,
) -> LineOutcomes | None:
    """The tickets of one statement line's objective in its period, each with its clock,
    by the reference path (every ticket, relief included); ``None`` when the objective no
    longer applies to the contract service."""
    plan = plan_jobs([Job(contract, period, period.end_at)])[0]
    targets = [
        target
        for target in plan.targets
        if target.contract_service.pk == contract_service_id
        and target.service_level.pk == service_level_id
        and target.objective.is_ticket
    ]
    if plan.window is None or not targets:
        return None
    target = targets[0]
    # Judged by the line's own threshold and priority, whatever the objective says today.
    target.objective = dataclasses.replace(
        target.objective, threshold=threshold_minutes, priority=priority
    )
    plan.targets = [target]
    attach_relief([plan])
    book = load_tickets([plan])
    attach_calendars([plan], earliest=book.earliest)
    attach_tickets([plan], book)
    measure, figures = measure_tickets(target)
    assert target.tickets is not None
    return LineOutcomes(
        measure.outcomes,
        target.tickets.records,
        str(figures["tickets_digest"]),
        target.objective.clock_kind,
    )
