"""A ticket line's drill-down: every ticket a statement line counted, with its clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from credits import selectors
from credits.models import StatementLine
from credits.selectors import line_records as records
from credits.views.records import filter_query, filtered_tickets, records_form, records_tabs

TICKETS_PER_PAGE = 200


@login_required
def line_tickets(request: HttpRequest, line_id: int) -> HttpResponse:
    """The tickets of a response or resolution time line, breached and longest first:
    reference, priority, opened, answered or resolved, business, stopped and wall-clock
    time, within or not. Scoped like its statement: any other line is a 404."""
    try:
        detail = selectors.line_tickets(request.user, line_id)
    except StatementLine.DoesNotExist:
        raise Http404("No such statement line.") from None
    line = detail.line
    contract = line.statement.contract
    within = sum(1 for ticket in detail.tickets if ticket.within)
    # Times as both parties read the contract: in its time zone.
    with timezone.override(ZoneInfo(contract.timezone)):
        form = records_form(request, line, records.TICKETS)
        shown = [] if form.errors else filtered_tickets(detail.tickets, form.chosen())
        page = Paginator(shown, TICKETS_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "credits/line_tickets.html",
            {
                "line": line,
                "statement": line.statement,
                "contract": contract,
                "tickets": page.object_list,
                "page": page,
                "form": form,
                "kind": records.TICKETS,
                "tabs": records_tabs(line) if line.indicator in records.TICKET_INDICATORS else [],
                "query": filter_query(request),
                "shown_count": len(shown),
                "changed": detail.changed,
                "ticket_count": len(detail.tickets),
                "within_count": within,
                "breached_count": len(detail.tickets) - within,
                "done_label": "Answered" if line.indicator == "response_time" else "Resolved",
            },
            status=400 if form.errors else 200,
        )
