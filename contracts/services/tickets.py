"""Tickets in: ``record_tickets`` is the one way tickets and their status events enter.

A ticket system sends a ticket again whenever it changes, so a batch is an upsert by
(contract service, reference): a ticket sent again replaces its fields and its whole
event history, and one sent exactly as stored is left alone. Like samples, a batch is
validated as a whole and stored whole, in a fixed number of statements whatever its
size, or rejected whole with the index, field and reason of every bad item.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet

from contracts.models import ContractService, Ticket, TicketEvent
from contracts.services.measurements import (
    MAX_BATCH,
    BatchRejected,
    ItemError,
    parse_aware_datetime,
    parse_contract_service_id,
)
from contracts.services.ticket_clocks import (
    clock_sets_of,
    keeping_clocks,
    lock_contracts_of,
    refresh_ticket_clocks,
)
from slaportal.db import insert_rows

TICKET_FIELDS = (
    "contract_service",
    "reference",
    "priority",
    "title",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "events",
)
EVENT_FIELDS = ("at", "status")
# A ticket's history is a few dozen changes; thousands mean a runaway sender.
MAX_EVENTS = 1_000
# Clocks of ticket systems run a little ahead of ours; more than this is a wrong offset.
_CLOCK_SKEW = timedelta(minutes=5)
_STATUSES = tuple(TicketEvent.Status.values)

Event = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class TicketsRecorded:
    """What a batch did: tickets new to the portal, changed ones, and those sent again
    exactly as stored."""

    created: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True, slots=True)
class _TicketState:
    """A ticket's fields and history as compared between a batch and the database."""

    priority: str
    title: str
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    events: tuple[Event, ...]


def _text(raw: Any, max_length: int, *, required: bool) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise ValueError("must be text")
    text = raw.strip()
    if "\x00" in text:
        raise ValueError("cannot contain NUL characters")
    if required and not text:
        raise ValueError("is required")
    if len(text) > max_length:
        raise ValueError(f"has at most {max_length} characters")
    return text


def _optional_datetime(raw: Any) -> datetime | None:
    if raw is None or raw == "":
        return None
    return parse_aware_datetime(raw)


def _event_items(raw: Any) -> list[Any]:
    """The events of an item: a JSON list of ``{"at", "status"}`` objects, or the CSV
    cell ``status@date-time;status@date-time``."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        events: list[Any] = []
        for part in raw.split(";"):
            part = part.strip()
            if not part:
                continue
            status, separator, at = part.partition("@")
            events.append({"status": status.strip(), "at": at.strip()} if separator else part)
        return events
    if isinstance(raw, Sequence) and not isinstance(raw, bytes):
        return list(raw)
    raise ValueError("must be a list of {at, status} objects")


def _parse_events(
    index: int,
    raw: Any,
    opened_at: datetime | None,
    latest: datetime,
    resolved_at: datetime | None = None,
) -> tuple[list[Event], list[ItemError]]:
    errors: list[ItemError] = []
    try:
        given = _event_items(raw)
    except ValueError as exc:
        return [], [ItemError(index, "events", str(exc))]
    if len(given) > MAX_EVENTS:
        return [], [ItemError(index, "events", f"at most {MAX_EVENTS:,} events per ticket")]
    events: list[Event] = []
    previous: datetime | None = None
    for position, event in enumerate(given):
        name = f"events[{position}]"
        if not isinstance(event, Mapping):
            message = (
                "write each event as status@date-time"
                if isinstance(event, str)
                else "must be an object with at and status"
            )
            errors.append(ItemError(index, name, message))
            continue
        unknown = set(event) - set(EVENT_FIELDS)
        if unknown:
            errors.append(
                ItemError(index, name, f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
            )
        status = event.get("status")
        if status not in _STATUSES:
            errors.append(
                ItemError(
                    index,
                    f"{name}.status",
                    f"unknown status {status!r}; a status is one of {', '.join(_STATUSES)}",
                )
            )
        try:
            at = parse_aware_datetime(event.get("at"))
        except ValueError as exc:
            errors.append(ItemError(index, f"{name}.at", str(exc)))
            continue
        if previous is not None and at < previous:
            errors.append(
                ItemError(
                    index,
                    f"{name}.at",
                    f"is earlier than the event before it ({previous.isoformat()}): "
                    "events go oldest first",
                )
            )
        elif opened_at is not None and at < opened_at:
            errors.append(
                ItemError(index, f"{name}.at", "is before the ticket was opened (opened_at)")
            )
        elif at > latest:
            errors.append(ItemError(index, f"{name}.at", "lies in the future"))
        elif resolved_at is not None and at > resolved_at:
            errors.append(
                ItemError(
                    index,
                    f"{name}.at",
                    "is after the final resolution (resolved_at): a reopened ticket is sent "
                    "without resolved_at until it is resolved again",
                )
            )
        previous = at
        events.append((at, status))
    return events, errors


def _parse_item(
    index: int,
    item: Any,
    known: Mapping[int, ContractService],
    latest: datetime,
) -> tuple[int | None, str | None, _TicketState | None, list[ItemError]]:
    """One item of a batch: its contract service id, reference and state, or its errors."""
    if not isinstance(item, Mapping):
        return None, None, None, [ItemError(index, "non_field_errors", "must be an object")]
    errors: list[ItemError] = []
    unknown = set(item) - set(TICKET_FIELDS) - {"id"}
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        errors.append(ItemError(index, "non_field_errors", f"unknown field(s): {names}"))

    contract_service: ContractService | None = None
    try:
        cs_id = parse_contract_service_id(item.get("contract_service"))
        contract_service = known.get(cs_id)
        if contract_service is None:
            raise ValueError(f"contract service {cs_id} does not exist")
    except ValueError as exc:
        errors.append(ItemError(index, "contract_service", str(exc)))

    fields: dict[str, Any] = {}
    checks = {
        "reference": lambda raw: _text(raw, _max_length("reference"), required=True),
        "priority": lambda raw: _text(raw, _max_length("priority"), required=True),
        "title": lambda raw: _text(raw, _max_length("title"), required=False),
        "opened_at": parse_aware_datetime,
        "first_response_at": _optional_datetime,
        "resolved_at": _optional_datetime,
    }
    for name, check in checks.items():
        try:
            fields[name] = check(item.get(name))
        except ValueError as exc:
            errors.append(ItemError(index, name, str(exc)))

    priority = fields.get("priority")
    if priority and contract_service is not None:
        known_priorities = contract_service.contract.ticket_priorities
        if priority not in known_priorities:
            errors.append(
                ItemError(
                    index,
                    "priority",
                    f"unknown priority {priority!r}; this contract knows "
                    f"{', '.join(known_priorities)}",
                )
            )

    opened_at = fields.get("opened_at")
    first_response_at = fields.get("first_response_at")
    resolved_at = fields.get("resolved_at")
    for name in ("opened_at", "first_response_at", "resolved_at"):
        if fields.get(name) is not None and fields[name] > latest:
            errors.append(ItemError(index, name, "lies in the future"))
    order_errors: list[ItemError] = []
    if opened_at is not None:
        if first_response_at is not None and first_response_at < opened_at:
            order_errors.append(
                ItemError(index, "first_response_at", "is before the ticket was opened")
            )
        if resolved_at is not None and resolved_at < opened_at:
            order_errors.append(ItemError(index, "resolved_at", "is before the ticket was opened"))
    if (
        not order_errors
        and first_response_at is not None
        and resolved_at is not None
        and first_response_at > resolved_at
    ):
        # The ticket clocks refuse it: the response clock would outrun the resolution.
        order_errors.append(
            ItemError(index, "first_response_at", "is after the ticket was resolved")
        )
    errors.extend(order_errors)

    # A resolution already refused says nothing about the events.
    final = None if any(error.field == "resolved_at" for error in errors) else resolved_at
    events, event_errors = _parse_events(index, item.get("events"), opened_at, latest, final)
    errors.extend(event_errors)
    if errors or contract_service is None:
        return None, None, None, errors
    state = _TicketState(
        priority=priority,
        title=fields["title"],
        opened_at=opened_at,
        first_response_at=first_response_at,
        resolved_at=resolved_at,
        events=tuple(events),
    )
    return contract_service.pk, fields["reference"], state, []


def _max_length(name: str) -> int:
    return Ticket._meta.get_field(name).max_length


def _stored_states(
    keys: set[tuple[int, str]], batch: Mapping[tuple[int, str], _TicketState]
) -> dict[tuple[int, str], tuple[int, _TicketState | None]]:
    """The stored tickets among ``keys``: id and state, the state only for tickets whose
    fields are the batch's (the others are replaced whatever their events)."""
    cs_ids = {cs_id for cs_id, _ in keys}
    references = {reference for _, reference in keys}
    rows = Ticket.objects.filter(
        contract_service_id__in=cs_ids, reference__in=references
    ).values_list(
        "id",
        "contract_service_id",
        "reference",
        "priority",
        "title",
        "opened_at",
        "first_response_at",
        "resolved_at",
    )
    stored: dict[tuple[int, str], tuple[int, _TicketState | None]] = {}
    same_fields: dict[int, tuple[int, str]] = {}
    for pk, cs_id, reference, *values in rows:
        key = (cs_id, reference)
        if key not in keys:
            continue  # another service's reference that happens to match
        sent = batch[key]
        same = tuple(values) == (
            sent.priority,
            sent.title,
            sent.opened_at,
            sent.first_response_at,
            sent.resolved_at,
        )
        stored[key] = (pk, None)
        if same:
            same_fields[pk] = key
    if same_fields:
        histories: dict[int, list[Event]] = {pk: [] for pk in same_fields}
        events = (
            TicketEvent.objects.filter(ticket_id__in=same_fields)
            .order_by("ticket_id", "at", "id")
            .values_list("ticket_id", "at", "status")
        )
        for ticket_id, at, status in events:
            histories[ticket_id].append((at, status))
        for pk, key in same_fields.items():
            sent = batch[key]
            stored[key] = (pk, sent if tuple(histories[pk]) == sent.events else None)
    return stored


def record_tickets(
    *,
    user: AbstractBaseUser,
    items: Sequence[Mapping[str, Any]],
    now: datetime,
) -> TicketsRecorded:
    """Validate a batch of tickets as a whole and upsert it by (contract service,
    reference).

    Each item is ``{"contract_service", "reference", "priority", "title"?, "opened_at",
    "first_response_at"?, "resolved_at"?, "events"?}``; ``events`` is the ticket's full
    history, oldest first, as ``[{"at", "status"}]`` or the CSV cell
    ``status@date-time;status@date-time``. Date-times carry a UTC offset and lie no later
    than ``now`` (give or take a few minutes of clock skew). A contract service the
    ``user`` may not write for is reported exactly like a missing one.

    Returns how many tickets were created, updated and left unchanged; raises
    ``BatchRejected`` and stores nothing when any item is bad.
    """
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise BatchRejected([ItemError(0, "non_field_errors", "expected a list of tickets")])
    if len(items) == 0:
        raise BatchRejected([ItemError(0, "non_field_errors", "the batch is empty")])
    if len(items) > MAX_BATCH:
        raise BatchRejected(
            [ItemError(0, "non_field_errors", f"at most {MAX_BATCH:,} tickets per batch")]
        )

    ids: set[int] = set()
    for item in items:
        if isinstance(item, Mapping):
            with contextlib.suppress(ValueError):
                ids.add(parse_contract_service_id(item.get("contract_service")))
    scope = ContractService.objects.editable_by(user).filter(pk__in=ids)
    known = {cs.pk: cs for cs in scope.select_related("contract")}

    latest = now + _CLOCK_SKEW
    errors: list[ItemError] = []
    batch: dict[tuple[int, str], _TicketState] = {}
    first_index: dict[tuple[int, str], int] = {}
    for index, item in enumerate(items):
        cs_id, reference, state, item_errors = _parse_item(index, item, known, latest)
        if item_errors:
            errors.extend(item_errors)
            continue
        key = (cs_id, reference)
        if key in batch:
            errors.append(
                ItemError(
                    index,
                    "reference",
                    f"ticket {reference!r} of contract service {cs_id} is also item "
                    f"{first_index[key]} of this batch",
                )
            )
            continue
        batch[key] = state
        first_index[key] = index
    if errors:
        raise BatchRejected(errors)

    with transaction.atomic():
        # Settlement must not build a clock set from tickets this batch is changing.
        services = {cs_id for cs_id, _reference in batch}
        lock_contracts_of(services)
        sets = clock_sets_of(services)
        stored = _stored_states(set(batch), batch)
        changed = {
            key: state
            for key, state in batch.items()
            if key not in stored or stored[key][1] is None
        }
        if changed:
            with keeping_clocks(bool(sets)):
                refresh_ticket_clocks(_write(changed, now=now), sets, now=now)
    updated = sum(1 for key in changed if key in stored)
    return TicketsRecorded(
        created=len(changed) - updated, updated=updated, unchanged=len(batch) - len(changed)
    )


def _write(changed: Mapping[tuple[int, str], _TicketState], *, now: datetime) -> list[int]:
    """Upsert the changed tickets in one statement, then replace their histories; returns
    their ids."""
    tickets = [
        Ticket(
            contract_service_id=cs_id,
            reference=reference,
            priority=state.priority,
            title=state.title,
            opened_at=state.opened_at,
            first_response_at=state.first_response_at,
            resolved_at=state.resolved_at,
            updated_at=now,
        )
        for (cs_id, reference), state in changed.items()
    ]
    # ON CONFLICT rather than a separate UPDATE: one statement for new and changed
    # tickets, and a ticket another batch created meanwhile is updated, not a crash.
    Ticket.objects.bulk_create(
        tickets,
        update_conflicts=True,
        unique_fields=["contract_service", "reference"],
        update_fields=[
            "priority",
            "title",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "updated_at",
        ],
    )
    # Every upserted ticket's history goes, not only those known to be stored: a ticket
    # another batch created meanwhile must not keep that batch's events beside these.
    TicketEvent.objects.filter(ticket_id__in=[ticket.pk for ticket in tickets]).delete()
    insert_rows(
        TicketEvent,
        ("ticket", "at", "status"),
        (
            (ticket.pk, at, status)
            for ticket, state in zip(tickets, changed.values(), strict=True)
            for at, status in state.events
        ),
    )
    return [ticket.pk for ticket in tickets]


def delete_tickets(*, tickets: QuerySet) -> int:
    """Delete tickets with their events (say, a faulty import); returns how many tickets.
    Issued statements keep the figures they were settled with."""
    with transaction.atomic():
        lock_contracts_of(tickets.order_by().values_list("contract_service_id", flat=True))
        # The kept clocks of the others stay right: a deleted ticket's go with it.
        with keeping_clocks():
            _, by_model = tickets.delete()
    return by_model.get(Ticket._meta.label, 0)
