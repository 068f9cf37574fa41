"""Reads of a ticket line's drill-down: every ticket the line counts, with its clock.

A line keeps its counts, its worst tickets and the digest of every ticket's clock, not the
tickets themselves: the drill-down reads them again from the tickets as they stand and
compares the digest, so that a ticket changed after the statement was issued is said to
have changed (and settling the period again would issue a revision) instead of being
shown as if it were what the statement counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from credits.models import StatementLine, StatementLineTicket
from credits.selectors.line_records import visible_line
from credits.settlement.periods import period_of
from credits.settlement.tickets import line_outcomes

if TYPE_CHECKING:
    from contracts.querysets import User


@dataclass(frozen=True, slots=True)
class LineTicket:
    """One ticket as the line counts it."""

    reference: str
    priority: str
    opened_at: datetime
    # The response or resolution the clock ran to; None when still open at the period's end.
    done_at: datetime | None
    business_seconds: int
    stopped_seconds: int
    wall_seconds: int
    within: bool


@dataclass(frozen=True, slots=True)
class LineTickets:
    """A statement line and the tickets it counts: breached first, then the longest clocks,
    then by reference. ``changed``: the tickets no longer give the clocks the line counted
    (their digest differs); a line of another indicator has no tickets."""

    line: StatementLine
    tickets: list[LineTicket]
    changed: bool


def line_tickets(user: User, line_id: int) -> LineTickets:
    """The line ``line_id`` the user may read, with its statement, contract, parties and
    service, and every ticket it counts. ``StatementLine.DoesNotExist`` when it does not
    exist or the user may not read it."""
    line = visible_line(user, line_id)
    # Lines issued before clocks were kept stored their tickets: those stay as issued.
    stored = [
        LineTicket(
            row.reference,
            row.priority,
            row.opened_at,
            row.done_at,
            row.business_seconds,
            row.stopped_seconds,
            row.wall_seconds,
            row.within,
        )
        for row in StatementLineTicket.objects.filter(line=line).order_by(
            "within", "-business_seconds", "reference"
        )
    ]
    if stored:
        return LineTickets(line, stored, False)
    figures = line.measure or {}
    if "tickets_digest" not in figures:
        return LineTickets(line, [], False)
    statement = line.statement
    read = line_outcomes(
        statement.contract,
        period_of(statement.contract, statement.period_start),
        line.contract_service_id,
        line.service_level_id,
        Decimal(str(figures["threshold_minutes"])),
        figures.get("priority"),
    )
    if read is None:
        return LineTickets(line, [], True)
    tickets = []
    for outcome in read.outcomes:
        record = read.records[outcome.reference]
        clock = outcome.clock
        tickets.append(
            LineTicket(
                outcome.reference,
                outcome.priority,
                record.opened_at,
                None if clock.running else record.done_at(read.kind),
                clock.business_seconds,
                clock.stopped_seconds,
                clock.wall_seconds,
                outcome.met,
            )
        )
    tickets.sort(key=lambda t: (t.within, -t.business_seconds, t.reference))
    return LineTickets(line, tickets, read.digest != figures["tickets_digest"])
