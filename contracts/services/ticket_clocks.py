"""Ticket clocks kept as tickets arrive, so that settling a period counts its tickets from
an index instead of reading every ticket's events.

A clock set is one contract service's tickets read under one set of terms: a clock kind,
a threshold and a calendar as it is defined now (``clock_terms``). Settlement builds the
sets its objectives need the first time it meets them (``ensure_clock_sets``), under the
contract's settlement lock; from then on ``record_tickets`` refreshes the clocks of every
ticket it writes, in the same transaction, for every set of its contract service. A set
whose calendar changed since is dropped rather than refreshed: its terms no longer say
what the calendar is, and the next settlement builds the set of the new definition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

import engine
from contracts.models import (
    Contract,
    ContractService,
    ServiceCalendar,
    Ticket,
    TicketClock,
    TicketClockSet,
    TicketEvent,
)
from contracts.selectors import engine_calendar
from slaportal.db import insert_rows

_ROW_FIELDS = (
    "ticket",
    "clock_set",
    "reference",
    "priority",
    "opened",
    "done",
    "deadline",
    "business_seconds",
    "stopped_seconds",
    "fingerprint",
    "stops",
)
# Deadlines are looked for past the last instant a ticket knows: the holidays of the
# years they may fall in must be in the calendar.
_LOOK_AHEAD = timedelta(days=2 * 366)


@dataclass(frozen=True, slots=True)
class ClockTerms:
    """What a ticket objective's clock reads: its kind, its threshold in whole seconds, its
    calendar (None: around the clock) and the priority of its tickets (None: all)."""

    kind: str
    limit_seconds: int
    calendar: ServiceCalendar | None
    priority: str | None = None

    @classmethod
    def of(cls, objective: engine.Objective, calendar: ServiceCalendar | None) -> ClockTerms:
        """The clock a ticket objective reads under its stored calendar (None: always)."""
        limit = engine.threshold_seconds(objective.threshold)
        return cls(objective.clock_kind, limit, calendar, objective.priority)

    def key(self, closures: Iterable[object] | None = None) -> str:
        """The set's name: changes whenever the calendar's definition does."""
        tickets = "*" if self.priority is None else self.priority
        if self.calendar is None:
            return f"{self.kind}:{self.limit_seconds}:always:{tickets}"
        definition = self.calendar.definition_key(closures)  # type: ignore[arg-type]
        return (
            f"{self.kind}:{self.limit_seconds}:calendar-{self.calendar.pk}:{definition}:{tickets}"
        )

    def covers(self, priority: str) -> bool:
        return self.priority is None or self.priority == priority


def lock_contracts_of(contract_service_ids: Iterable[int]) -> None:
    """Hold the contracts of these services against settlement until the transaction ends
    (``FOR SHARE`` conflicts with settlement's lock): a clock set is never built from
    tickets a concurrent batch is about to change. PostgreSQL only; SQLite writes one
    transaction at a time anyway."""
    ids = sorted(set(contract_service_ids))
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {Contract._meta.db_table} c WHERE c.id IN ("
            f"SELECT cs.contract_id FROM {ContractService._meta.db_table} cs "
            "WHERE cs.id = ANY(%s)) ORDER BY c.id FOR SHARE OF c",
            [ids],
        )


@contextmanager
def keeping_clocks(needed: bool = True) -> Iterator[None]:
    """Tell the database that this transaction keeps the clocks of the tickets it writes
    itself: the triggers that drop a service's kept clocks when its tickets change behind
    their back (contracts migration 0007) stand aside until the block ends. Not
    ``needed`` when the services have no kept clocks: nothing to tell."""
    if connection.vendor != "postgresql" or not needed:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('slaportal.keeping_ticket_clocks', 'on', true)")
    yield
    # After an error the transaction (or savepoint) rolls back, and the setting with it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('slaportal.keeping_ticket_clocks', 'off', true)")


def engine_ticket(
    reference: str,
    priority: str,
    opened: datetime,
    responded: datetime | None,
    resolved: datetime | None,
    stops: Sequence[engine.Interval] = (),
    relief: Sequence[engine.Interval] = (),
) -> engine.Ticket:
    """A stored ticket as its clocks read it: one resolved without a recorded response was
    answered by its resolution."""
    return engine.Ticket(
        reference,
        priority,
        opened,
        first_response_at=responded or resolved,
        resolved_at=resolved,
        stops=tuple(stops),
        relief=tuple(relief),
    )


def _engine_tickets(
    ticket_rows: Sequence[tuple], events: dict[int, list[engine.StatusEvent]]
) -> list[tuple[int, engine.Ticket]]:
    tickets = []
    for pk, reference, priority, opened, responded, resolved, _service in ticket_rows:
        stops = engine.stops_from_events(events[pk]) if pk in events else ()
        tickets.append((pk, engine_ticket(reference, priority, opened, responded, resolved, stops)))
    return tickets


def _clock_for(calendar: ServiceCalendar | None, low: datetime, high: datetime):
    built = None if calendar is None else engine_calendar(calendar, low, high + _LOOK_AHEAD)
    return engine.BusinessClock(built, low, high)


def clock_rows(
    clock_set_id: int,
    spec: ClockTerms,
    tickets: Sequence[tuple[int, engine.Ticket]],
    clock: engine.BusinessClock,
) -> Iterable[tuple]:
    """One ``TicketClock`` row per ticket under ``spec``."""
    kind, limit = spec.kind, spec.limit_seconds
    for pk, ticket in tickets:
        done = ticket.done_at(kind)
        stops = engine.stops_while_open(ticket, kind)
        business = stopped = None
        if done is not None:
            reading = engine.ticket_clock(ticket, clock, None, kind)
            business, stopped = reading.business_seconds, reading.stopped_seconds
        yield (
            pk,
            clock_set_id,
            ticket.reference,
            ticket.priority,
            engine.to_epoch_seconds(ticket.opened_at),
            done,
            engine.clock_deadline(ticket, clock, limit, kind),
            business,
            stopped,
            engine.ticket_fingerprint(ticket, kind),
            [list(stop) for stop in stops],
        )


def _load(ticket_filter: dict) -> tuple[list[tuple], dict[int, list[engine.StatusEvent]]]:
    rows = list(
        Ticket.objects.filter(**ticket_filter)
        .order_by()
        .values_list(
            "pk",
            "reference",
            "priority",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "contract_service_id",
        )
    )
    events: dict[int, list[engine.StatusEvent]] = defaultdict(list)
    if rows:
        for ticket_id, at, status in (
            TicketEvent.objects.filter(ticket__in=[row[0] for row in rows])
            .order_by("ticket_id", "at", "pk")
            .values_list("ticket_id", "at", "status")
        ):
            events[ticket_id].append(engine.StatusEvent(at, status))
    return rows, events


def _span(rows: Sequence[tuple], now: datetime) -> tuple[datetime, datetime]:
    low = min(row[3] for row in rows)
    high = max([now, *(row[5] for row in rows if row[5] is not None)])
    return low, high


def build_clock_set(contract_service_id: int, spec: ClockTerms, *, now: datetime) -> TicketClockSet:
    """Read every ticket of the contract service under ``spec`` and keep the clocks; drop
    the service's sets of the same kind, threshold, calendar and priority under an older
    definition. Runs under the contract's settlement lock. Returns the set."""
    terms = spec.key()
    scope: dict[str, object] = {"contract_service_id": contract_service_id}
    if spec.priority is not None:
        scope["priority"] = spec.priority
    rows, events = _load(scope)
    _drop(
        TicketClockSet.objects.filter(
            contract_service_id=contract_service_id,
            kind=spec.kind,
            limit_seconds=spec.limit_seconds,
            calendar=spec.calendar,
            priority=spec.priority,
        )
    )
    clock_set = TicketClockSet.objects.create(
        contract_service_id=contract_service_id,
        terms=terms,
        kind=spec.kind,
        limit_seconds=spec.limit_seconds,
        calendar=spec.calendar,
        priority=spec.priority,
        built_at=now,
    )
    if rows:
        low, high = _span(rows, now)
        clock = _clock_for(spec.calendar, low, high)
        tickets = _engine_tickets(rows, events)
        insert_rows(TicketClock, _ROW_FIELDS, clock_rows(clock_set.pk, spec, tickets, clock))
    return clock_set


def _drop(sets) -> None:
    ids = list(sets.values_list("pk", flat=True))
    if ids:
        TicketClock.objects.filter(clock_set__in=ids).delete()
        TicketClockSet.objects.filter(pk__in=ids).delete()


def _terms_of(clock_set: TicketClockSet) -> ClockTerms:
    return ClockTerms(
        clock_set.kind, clock_set.limit_seconds, clock_set.calendar, clock_set.priority
    )


def clock_sets_of(contract_service_ids: Iterable[int]) -> list[TicketClockSet]:
    """The clock sets kept for these services (one query)."""
    return list(
        TicketClockSet.objects.filter(contract_service_id__in=set(contract_service_ids))
        .select_related("calendar")
        .prefetch_related("calendar__closures")
    )


def refresh_ticket_clocks(
    ticket_ids: Sequence[int], sets: Sequence[TicketClockSet], *, now: datetime
) -> None:
    """Recompute the clocks of these tickets in the clock sets of their services
    (``clock_sets_of``), in the caller's transaction (the batch that wrote them); sets
    whose calendar changed since they were built are dropped instead."""
    if not ticket_ids or not sets:
        return
    current: list[TicketClockSet] = []
    stale: list[int] = []
    for clock_set in sets:
        if clock_set.terms == _terms_of(clock_set).key():
            current.append(clock_set)
        else:
            stale.append(clock_set.pk)
    if stale:
        _drop(TicketClockSet.objects.filter(pk__in=stale))
    if not current:
        return
    rows, events = _load({"pk__in": list(ticket_ids)})
    TicketClock.objects.filter(
        ticket_id__in=list(ticket_ids), clock_set__in=[s.pk for s in current]
    ).delete()
    if not rows:
        return
    by_service: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_service[row[-1]].append(row)
    low, high = _span(rows, now)
    # Built before the COPY starts: building reads the calendars' closures, and the
    # connection can run no query while it copies.
    clocks = {
        clock_set.calendar_id: _clock_for(clock_set.calendar, low, high) for clock_set in current
    }

    def all_rows() -> Iterable[tuple]:
        for clock_set in current:
            service_rows = by_service.get(clock_set.contract_service_id)
            if not service_rows:
                continue
            calendar_id = clock_set.calendar_id
            spec = _terms_of(clock_set)
            yield from clock_rows(
                clock_set.pk,
                spec,
                _engine_tickets([row for row in service_rows if spec.covers(row[2])], events),
                clocks[calendar_id],
            )

    insert_rows(TicketClock, _ROW_FIELDS, all_rows())
