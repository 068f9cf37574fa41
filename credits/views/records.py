"""A statement line's drill-down: the samples, incidents and lapses behind it, paged,
filtered by time range and by what weighs against the provider, and downloadable as CSV
of exactly the filtered rows (streamed: a month of samples may be large).

The tickets of a ticket line have their own page (``credits.views.tickets``), filtered
and downloaded with the same form.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

import engine
from contracts.forms.common import DateTimeInput
from contracts.models import Incident, ResponsibilityLapse
from credits import selectors
from credits.exports import csv_text, safe_cell
from credits.models import StatementLine
from credits.selectors import line_records as records
from credits.selectors.line_tickets import LineTicket
from engine.text import format_instant, plain_decimal

SAMPLES_PER_PAGE = 200
RECORDS_PER_PAGE = 50

KIND_LABELS = {
    records.SAMPLES: gettext_lazy("Samples"),
    records.INCIDENTS: gettext_lazy("Incidents"),
    records.LAPSES: gettext_lazy("Lapses"),
    records.TICKETS: gettext_lazy("Tickets"),
}
ONLY_LABELS = {
    records.SAMPLES: gettext_lazy("Only samples that count against the objective"),
    records.INCIDENTS: gettext_lazy("Only incidents the provider caused (those that count)"),
    records.LAPSES: gettext_lazy("Only lapses that relieve the provider (not withdrawn)"),
    records.TICKETS: gettext_lazy("Only breached tickets"),
}


class LineRecordsForm(forms.Form):
    """A time range inside the line's period, read in the contract's time zone (the view
    validates under it), and whether to show only what weighs against the provider."""

    since = forms.DateTimeField(label=gettext_lazy("From"), required=False, widget=DateTimeInput())
    until = forms.DateTimeField(
        label=gettext_lazy("Until"),
        required=False,
        widget=DateTimeInput(),
        help_text=gettext_lazy("Empty: the whole period."),
    )
    only = forms.BooleanField(required=False)

    def __init__(self, *args: Any, period: engine.Period, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period = period
        self.fields["only"].label = ONLY_LABELS[kind]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = self.period.start_at, self.period.end_at
        since = cleaned.get("since") or start
        until = cleaned.get("until") or end
        outside = gettext("Choose a moment inside the period (%(start)s to %(end)s).") % {
            "start": format_instant(start, timezone.get_current_timezone_name()),
            "end": format_instant(end, timezone.get_current_timezone_name()),
        }
        if "since" in cleaned and not start <= since < end:
            self.add_error("since", outside)
        if "until" in cleaned and not start < until <= end:
            self.add_error("until", outside)
        if not self.errors and until <= since:
            self.add_error("until", gettext("The end must be after the start."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def chosen(self) -> records.RecordFilter:
        """The range and filter asked for; the whole period when the form is unbound."""
        if not self.is_bound:
            return records.RecordFilter(self.period.start_at, self.period.end_at)
        data = self.cleaned_data
        ranged = bool(self.data.get("since") or self.data.get("until"))
        return records.RecordFilter(data["since"], data["until"], bool(data.get("only")), ranged)


def line_or_404(request: HttpRequest, line_id: int) -> StatementLine:
    try:
        return records.visible_line(request.user, line_id)
    except StatementLine.DoesNotExist:
        raise Http404("No such statement line.") from None


def records_form(request: HttpRequest, line: StatementLine, kind: str) -> LineRecordsForm:
    """The filter of the query string, validated in the contract's time zone."""
    form = LineRecordsForm(
        request.GET if any(k in request.GET for k in ("since", "until", "only")) else None,
        period=records.line_period(line),
        kind=kind,
    )
    form.is_valid()
    return form


def filter_query(request: HttpRequest) -> str:
    """The filter as a query string, without the page, for the pages' and CSV's links."""
    query = request.GET.copy()
    for name in ("page", "after"):
        query.pop(name, None)
    return query.urlencode()


def records_tabs(line: StatementLine) -> list[tuple[str, str]]:
    return [(kind, KIND_LABELS[kind]) for kind in records.record_kinds(line)]


@login_required
def line_records(request: HttpRequest, line_id: int, kind: str) -> HttpResponse:
    """The samples, incidents or lapses behind a statement line, filtered and paged.
    Scoped like its statement: any other line is a 404, and so is a kind the line is not
    measured from."""
    line = line_or_404(request, line_id)
    if kind not in records.record_kinds(line) or kind == records.TICKETS:
        raise Http404("This line is not measured from these records.")
    contract = line.statement.contract
    with timezone.override(ZoneInfo(contract.timezone)):
        form = records_form(request, line, kind)
        context: dict[str, Any] = {
            "line": line,
            "statement": line.statement,
            "contract": contract,
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "tabs": records_tabs(line),
            "form": form,
            "query": filter_query(request),
            "rows": [],
            "page": None,
            "next_cursor": None,
        }
        if form.errors:
            return render(request, "credits/line_records.html", context, status=400)
        chosen = form.chosen()
        if kind == records.SAMPLES:
            try:
                page = records.sample_page(
                    records.line_samples(line, chosen),
                    request.GET.get("after"),
                    SAMPLES_PER_PAGE,
                )
            except ValueError:
                context["cursor_error"] = gettext("This page link is not valid: start again.")
                return render(request, "credits/line_records.html", context, status=400)
            for sample in page.samples:
                sample.result = records.sample_result(line, sample)
            context.update(rows=page.samples, next_cursor=page.next_cursor)
        else:
            rows = (
                records.line_incidents(line, chosen)
                if kind == records.INCIDENTS
                else records.line_lapses(line, chosen)
            )
            page_obj = Paginator(rows, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
            context.update(rows=page_obj.object_list, page=page_obj)
        return render(request, "credits/line_records.html", context)


# --------------------------------------------------------------------------- CSV


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def sample_csv(line: StatementLine, chosen: records.RecordFilter) -> Iterator[list[str]]:
    yield ["observed_at", "value", "ok", "result"]
    for sample in records.line_samples(line, chosen).iterator(chunk_size=2000):
        yield [
            _moment(sample.observed_at),
            plain_decimal(sample.value),
            "" if sample.ok is None else str(sample.ok).lower(),
            records.sample_result(line, sample),
        ]


def incident_csv(incidents: Iterable[Incident]) -> Iterator[list[str]]:
    yield ["started_at", "ended_at", "minutes", "cause", "counts", "description"]
    for incident in incidents:
        seconds = int((incident.ended_at - incident.started_at).total_seconds())
        yield [
            _moment(incident.started_at),
            _moment(incident.ended_at),
            plain_decimal((Decimal(seconds) / 60).quantize(Decimal("0.01"))),
            incident.cause,
            str(incident.cause == Incident.Cause.PROVIDER).lower(),
            safe_cell(incident.description),
        ]


def lapse_csv(lapses: Iterable[ResponsibilityLapse]) -> Iterator[list[str]]:
    yield ["responsibility", "start", "end", "status", "relieves", "note"]
    for lapse in lapses:
        yield [
            safe_cell(lapse.responsibility.title),
            _moment(lapse.start),
            _moment(lapse.end),
            lapse.status,
            str(lapse.status != ResponsibilityLapse.Status.WITHDRAWN).lower(),
            safe_cell(lapse.note),
        ]


def ticket_csv(tickets: Iterable[LineTicket]) -> Iterator[list[str]]:
    yield [
        "reference",
        "priority",
        "opened_at",
        "done_at",
        "business_seconds",
        "stopped_seconds",
        "wall_seconds",
        "within",
    ]
    for ticket in tickets:
        yield [
            safe_cell(ticket.reference),
            safe_cell(ticket.priority),
            _moment(ticket.opened_at),
            _moment(ticket.done_at),
            str(ticket.business_seconds),
            str(ticket.stopped_seconds),
            str(ticket.wall_seconds),
            str(ticket.within).lower(),
        ]


def filtered_tickets(tickets: list[LineTicket], chosen: records.RecordFilter) -> list[LineTicket]:
    """The tickets opened in the chosen range (every ticket the line counts when no range
    was chosen); ``only``: the breached ones."""
    return [
        ticket
        for ticket in tickets
        if not (chosen.ranged and not chosen.since <= ticket.opened_at < chosen.until)
        and not (chosen.only and ticket.within)
    ]


@login_required
def line_records_csv(request: HttpRequest, line_id: int, kind: str) -> HttpResponse:
    """Exactly the rows the filtered drill-down shows, every page of them, as CSV."""
    line = line_or_404(request, line_id)
    if kind not in records.record_kinds(line):
        raise Http404("This line is not measured from these records.")
    with timezone.override(ZoneInfo(line.statement.contract.timezone)):
        form = records_form(request, line, kind)
    if form.errors:
        message = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    chosen = form.chosen()
    if kind == records.SAMPLES:
        rows: Iterable[list[str]] = sample_csv(line, chosen)
    elif kind == records.INCIDENTS:
        rows = incident_csv(records.line_incidents(line, chosen).iterator())
    elif kind == records.LAPSES:
        rows = lapse_csv(records.line_lapses(line, chosen).iterator())
    else:
        detail = selectors.line_tickets(request.user, line_id)
        rows = ticket_csv(filtered_tickets(detail.tickets, chosen))
    response = StreamingHttpResponse(csv_text(rows), content_type="text/csv")
    statement = line.statement
    response["Content-Disposition"] = (
        f'attachment; filename="line-{line.pk}-{kind}-{statement.period_start:%Y-%m-%d}'
        f'-r{statement.revision}.csv"'
    )
    return response
