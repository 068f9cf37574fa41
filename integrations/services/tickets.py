"""Ticket systems → tickets: a receiver reads the portal's own ticket shape, a Jira
Service Management webhook, or a Zammad/osTicket-style JSON, and hands the tickets to
``contracts.services.record_tickets`` (the API's upsert) with the rights of the receiver's
acting editor.

Jira and Zammad send one ticket as it is now, not its history; the portal keeps the
history. A status change is appended to the ticket's stored events (a status the ticket
already has adds nothing), and a first response or resolution once known is kept when a
later delivery does not carry it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import services as contract_services
from contracts.models import Organization
from contracts.querysets import may_edit
from integrations import selectors
from integrations.models import IntegrationEvent, Receiver
from integrations.services.events import log_event

# What Jira and Zammad call their priorities and statuses, in their default schemes;
# a receiver's ticket_settings add to and override these (names compared in lower case).
JIRA_PRIORITIES = {"highest": "P1", "high": "P2", "medium": "P3", "low": "P4", "lowest": "P4"}
ZAMMAD_PRIORITIES = {
    "3 high": "P1",
    "2 normal": "P2",
    "1 low": "P3",
    # osTicket's default priorities
    "emergency": "P1",
    "high": "P2",
    "normal": "P3",
    "low": "P4",
}
JIRA_STATUSES = {
    "open": "open",
    "to do": "open",
    "waiting for support": "open",
    "in progress": "in_progress",
    "waiting for customer": "waiting_on_customer",
    "pending": "waiting_on_customer",
    "resolved": "resolved",
    "done": "resolved",
    "closed": "resolved",
    "canceled": "resolved",
    "reopened": "reopened",
}
# Jira's status categories, for a status no table names.
JIRA_CATEGORIES = {"new": "open", "indeterminate": "in_progress", "done": "resolved"}
ZAMMAD_STATUSES = {
    "new": "open",
    "open": "in_progress",
    "pending reminder": "waiting_on_customer",
    "pending close": "waiting_on_customer",
    "waiting for customer": "waiting_on_customer",
    "closed": "resolved",
    "resolved": "resolved",
    "merged": "resolved",
    "reopened": "reopened",
}


class TicketsRefused(Exception):
    """A delivery whose tickets could not be recorded; nothing was stored."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


@dataclass(frozen=True)
class _Mapped:
    item: dict[str, Any]
    status: str | None
    status_at: datetime | None
    responded_at: datetime | None


def _refuse(field: str, message: str, index: int = 0) -> TicketsRefused:
    return TicketsRefused([{"index": index, "field": field, "message": message}])


def _name(raw: Any) -> str:
    """A Jira or Zammad field that is a name or an object with one."""
    if isinstance(raw, Mapping):
        raw = raw.get("name")
    return raw.strip() if isinstance(raw, str) else ""


def _lookup(
    settings: Mapping[str, Any], part: str, defaults: Mapping[str, str], name: str
) -> str | None:
    own = {k.lower(): v for k, v in settings.get(part, {}).items()}
    return own.get(name.lower(), defaults.get(name.lower()))


def _moment(raw: Any, field: str) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw / 1000, UTC)  # Jira's millisecond timestamps
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise _refuse(field, "must be an ISO 8601 date-time with offset") from None
    if value.tzinfo is None:
        raise _refuse(field, "needs a UTC offset")
    return value


def _contract_service(settings: Mapping[str, Any], names: Sequence[str], field: str) -> int:
    table = settings.get("contract_services", {})
    for name in names:
        if name and name in table:
            return table[name]
    known = ", ".join(sorted(table)) or "none"
    shown = " / ".join(n for n in names if n) or "nothing"
    raise _refuse(
        field,
        f"{shown} is mapped to no contract service (ticket_settings.contract_services "
        f"knows {known})",
    )


def _jira(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> _Mapped:
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not isinstance(issue.get("fields"), Mapping):
        raise _refuse("issue", "a Jira webhook carries the issue with its fields")
    fields = issue["fields"]
    key = issue.get("key")
    if not isinstance(key, str) or not key:
        raise _refuse("issue.key", "is required")
    project = fields.get("project")
    project_key = project.get("key") if isinstance(project, Mapping) else None
    cs_id = _contract_service(settings, [project_key or key.split("-")[0]], "issue.fields.project")
    priority_name = _name(fields.get("priority"))
    priority = _lookup(settings, "priorities", JIRA_PRIORITIES, priority_name) or priority_name
    status_name = _name(fields.get("status"))
    status = _lookup(settings, "statuses", JIRA_STATUSES, status_name)
    if status is None and isinstance(fields.get("status"), Mapping):
        category = fields["status"].get("statusCategory")
        if isinstance(category, Mapping):
            status = JIRA_CATEGORIES.get(str(category.get("key", "")).lower())
    if status is None:
        raise _refuse(
            "issue.fields.status",
            f"the status {status_name!r} is mapped to no ticket status (ticket_settings.statuses)",
        )
    opened_at = _moment(fields.get("created"), "issue.fields.created")
    at = _moment(payload.get("timestamp"), "timestamp") or _moment(
        fields.get("updated"), "issue.fields.updated"
    )
    responded_at = None
    event = str(payload.get("webhookEvent", ""))
    comment = payload.get("comment")
    if event.startswith("comment_") and isinstance(comment, Mapping):
        # An agent's public reply is the first response Jira Service Management measures.
        if comment.get("jsdPublic", True):
            responded_at = _moment(comment.get("created"), "comment.created") or at
    elif status != "open":
        responded_at = at
    resolved_at = _moment(fields.get("resolutiondate"), "issue.fields.resolutiondate")
    item = {
        "contract_service": cs_id,
        "reference": key,
        "priority": priority,
        "title": str(fields.get("summary") or "")[:300],
        "opened_at": opened_at,
        "resolved_at": resolved_at if status == "resolved" else None,
    }
    return _Mapped(item, status, at, responded_at)


def _zammad(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> _Mapped:
    ticket = payload.get("ticket", payload)
    if not isinstance(ticket, Mapping):
        raise _refuse("ticket", "expected the ticket as an object")
    reference = ticket.get("number") or ticket.get("id")
    if reference in (None, ""):
        raise _refuse("ticket.number", "is required")
    group = (
        _name(ticket.get("group")) or _name(ticket.get("department")) or _name(ticket.get("dept"))
    )
    cs_id = _contract_service(settings, [group], "ticket.group")
    priority_name = _name(ticket.get("priority"))
    priority = _lookup(settings, "priorities", ZAMMAD_PRIORITIES, priority_name) or priority_name
    state_name = _name(ticket.get("state")) or _name(ticket.get("status"))
    status = _lookup(settings, "statuses", ZAMMAD_STATUSES, state_name)
    if status is None:
        raise _refuse(
            "ticket.state",
            f"the state {state_name!r} is mapped to no ticket status (ticket_settings.statuses)",
        )
    opened_at = _moment(ticket.get("created_at") or ticket.get("created"), "ticket.created_at")
    at = _moment(ticket.get("updated_at") or ticket.get("updated"), "ticket.updated_at")
    closed_at = _moment(ticket.get("close_at") or ticket.get("closed"), "ticket.close_at")
    responded_at = _moment(ticket.get("first_response_at"), "ticket.first_response_at")
    item = {
        "contract_service": cs_id,
        "reference": str(reference),
        "priority": priority,
        "title": str(ticket.get("title") or ticket.get("subject") or "")[:300],
        "opened_at": opened_at,
        "resolved_at": (closed_at or at) if status == "resolved" else None,
    }
    return _Mapped(item, status, at or opened_at, responded_at)


def _with_history(mapped: _Mapped) -> dict[str, Any]:
    """The ticket as the portal's shape, its stored history continued by this delivery."""
    item = dict(mapped.item)
    stored = selectors.stored_ticket(item["contract_service"], item["reference"])
    events = [{"at": at, "status": status} for at, status in (stored.events if stored else [])]
    if not events and item.get("opened_at") is not None:
        events.append({"at": item["opened_at"], "status": "open"})
    if mapped.status is not None and mapped.status_at is not None:
        last = events[-1]["status"] if events else None
        if mapped.status != last and (not events or mapped.status_at >= events[-1]["at"]):
            status = mapped.status
            if last == "resolved" and status not in ("resolved",):
                status = "reopened"
            events.append({"at": mapped.status_at, "status": status})
    item["events"] = events
    first_response = stored.first_response_at if stored else None
    item["first_response_at"] = first_response or mapped.responded_at
    if item["resolved_at"] is None and events and events[-1]["status"] == "resolved":
        item["resolved_at"] = events[-1]["at"]
    return item


def tickets_of(receiver: Receiver, payload: Any) -> list[dict[str, Any]]:
    """The delivery as items of the portal's ticket shape; raises ``TicketsRefused``."""
    settings = receiver.ticket_settings or {}
    if receiver.ticket_format == Receiver.TicketFormat.GENERIC:
        if isinstance(payload, Mapping) and "tickets" in payload:
            payload = payload["tickets"]
        items = [payload] if isinstance(payload, Mapping) else payload
        if not isinstance(items, list):
            raise _refuse(
                "non_field_errors", "expected a ticket, a list of them or {tickets: [...]}"
            )
        return items
    if not isinstance(payload, Mapping):
        raise _refuse("non_field_errors", "expected the ticket system's JSON object")
    mapped = (
        _jira(payload, settings) if receiver.ticket_format == "jira" else _zammad(payload, settings)
    )
    return [_with_history(mapped)]


def _outside(receiver: Receiver, items: list[Any]) -> list[dict[str, Any]]:
    """Items naming a contract service that is not one of the receiver's provider's."""
    own = selectors.contract_service_ids_of(receiver.organization_id)
    errors = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        cs_id = item.get("contract_service")
        if isinstance(cs_id, int | str) and str(cs_id).isdigit() and int(cs_id) not in own:
            errors.append(
                {
                    "index": index,
                    "field": "contract_service",
                    "message": f"contract service {cs_id} does not exist",
                }
            )
    return errors


def receive_tickets(
    *, receiver: Receiver, payload: Any, now: datetime, test: bool = False
) -> contract_services.TicketsRecorded | None:
    """Record one delivery's tickets; raises ``TicketsRefused`` (nothing stored, the
    refusal logged). With ``test``, the tickets are checked and logged, not stored."""
    summary = f"{receiver.get_ticket_format_display()} delivery"
    try:
        user = receiver.acting_user
        if user is None or not may_edit(
            user, receiver.organization_id, kind=Organization.Kind.PROVIDER
        ):
            raise _refuse(
                "acting_user",
                f"the receiver writes as {user or 'nobody'}, who may not write for "
                f"{receiver.organization}; choose another editor",
            )
        items = tickets_of(receiver, payload)
        summary = (
            f"{summary}: "
            + ", ".join(
                str(item.get("reference")) for item in items[:5] if isinstance(item, Mapping)
            )
            + (f" and {len(items) - 5} more" if len(items) > 5 else "")
        )
        outside = _outside(receiver, items)
        if outside:
            raise TicketsRefused(outside)
        if test:
            log_event(
                organization_id=receiver.organization_id,
                channel=IntegrationEvent.Channel.TICKETS,
                outcome=IntegrationEvent.Outcome.RECORDED,
                at=now,
                summary=summary,
                result=f"test: {len(items)} ticket(s) read; nothing stored",
                receiver=receiver,
                test=True,
            )
            return None
        try:
            recorded = contract_services.record_tickets(user=user, items=items, now=now)
        except contract_services.BatchRejected as rejected:
            raise TicketsRefused([error.as_dict() for error in rejected.errors]) from None
    except TicketsRefused as refused:
        log_event(
            organization_id=receiver.organization_id,
            channel=IntegrationEvent.Channel.TICKETS,
            outcome=IntegrationEvent.Outcome.REFUSED,
            at=now,
            summary=summary,
            refusals=[f"item {e['index']}, {e['field']}: {e['message']}" for e in refused.errors],
            receiver=receiver,
            test=test,
        )
        raise
    outcome = (
        IntegrationEvent.Outcome.RECORDED
        if recorded.created or recorded.updated
        else IntegrationEvent.Outcome.UNCHANGED
    )
    log_event(
        organization_id=receiver.organization_id,
        channel=IntegrationEvent.Channel.TICKETS,
        outcome=outcome,
        at=now,
        summary=summary,
        result=f"{recorded.created} ticket(s) created, {recorded.updated} updated, "
        f"{recorded.unchanged} unchanged",
        receiver=receiver,
    )
    return recorded
