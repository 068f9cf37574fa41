"""Reads of a ticket line's drill-down: every ticket the line counted, with its clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from credits.models import StatementLine, StatementLineTicket

if TYPE_CHECKING:
    from contracts.querysets import User


@dataclass(frozen=True, slots=True)
class LineTickets:
    """A statement line and the tickets it counted: breached first, then the longest
    clocks, then by reference. A line of another indicator has none."""

    line: StatementLine
    tickets: list[StatementLineTicket]


def line_tickets(user: User, line_id: int) -> LineTickets:
    """The line ``line_id`` the user may read, with its statement, contract, parties and
    service, and every ticket it counted; two queries whatever the number of tickets.
    ``StatementLine.DoesNotExist`` when it does not exist or the user may not read it."""
    line = (
        StatementLine.objects.visible_to(user)
        .select_related(
            "statement__contract__provider",
            "statement__contract__customer",
            "contract_service__service",
        )
        .get(pk=line_id)
    )
    tickets = list(
        StatementLineTicket.objects.filter(line=line).order_by(
            "within", "-business_seconds", "reference"
        )
    )
    return LineTickets(line, tickets)
