"""Statements: the list (filtered, and as CSV), one statement with its lines, disputes
and revisions, and the statement as CSV and PDF."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from contracts.models import Organization
from contracts.querysets import may_edit
from credits import exports, selectors
from credits.forms import DisputeForm, ResolveDisputeForm, StatementFilter
from credits.models import Dispute, Statement
from credits.selectors.statement_changes import statement_changes, statement_summary
from engine import text

STATEMENTS_PER_PAGE = 50


def _filtered_statements(
    request: HttpRequest, statements: QuerySet[Statement] | None = None
) -> tuple[StatementFilter, QuerySet[Statement]]:
    """The filters and what they leave of ``statements`` (by default the list's, with
    what the page shows annotated)."""
    if statements is None:
        statements = selectors.statement_list(request.user)
    statements = StatementFilter(request.GET or None, queryset=statements, request=request)
    if statements.is_bound and not statements.is_valid():
        # Invalid filters show their errors and no rows, never someone else's statements.
        return statements, Statement.objects.none()
    return statements, statements.qs


def _filter_query(request: HttpRequest) -> str:
    """The filters as a query string, for the pages' and the downloads' links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    """Every statement the user may read, newest first, filterable, 50 a page, with the
    totals of every page per currency below."""
    filterset, statements = _filtered_statements(request)
    page = Paginator(statements, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/statement_list.html",
        {
            "form": filterset.form,
            "page": page,
            "query": _filter_query(request),
            "totals": selectors.statement_totals(statements) if page.object_list else [],
        },
    )


def _refused_export(request: HttpRequest, filterset: StatementFilter) -> HttpResponse:
    return render(
        request,
        "credits/statement_list.html",
        {"form": filterset.form, "page": None, "query": "", "totals": []},
        status=400,
    )


def _csv_response(rows: Iterator[str], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d}.csv"'
    return response


@login_required
def statement_export(request: HttpRequest) -> HttpResponse:
    """The statement list, with its filters, as CSV: one row per line."""
    filterset, statements = _filtered_statements(request)
    if filterset.is_bound and not filterset.is_valid():
        return _refused_export(request, filterset)
    lines = selectors.statement_lines_for_export(statements.order_by())
    return _csv_response(exports.csv_stream(lines.iterator(chunk_size=2000)), "statements")


@login_required
def statement_summary_export(request: HttpRequest) -> HttpResponse:
    """The statement list, with its filters, as CSV: one row per statement, streamed.
    No totals among the rows: each row is a statement, so a spreadsheet's sum of a
    currency's rows is its total."""
    # The scoped statements without the page's annotations, which each row would compute.
    filterset, statements = _filtered_statements(
        request, Statement.objects.visible_to(request.user)
    )
    if filterset.is_bound and not filterset.is_valid():
        return _refused_export(request, filterset)
    rows = selectors.statements_for_export(statements)
    return _csv_response(
        exports.statement_list_csv_stream(rows.iterator(chunk_size=2000)), "statement-list"
    )


def get_statement_or_404(request: HttpRequest, pk: int) -> Statement:
    """A statement the user may read; any other id is a 404, as if it did not exist."""
    try:
        return selectors.get_statement(request.user, pk)
    except Statement.DoesNotExist:
        raise Http404("No such statement.") from None


def statement_context(
    request: HttpRequest,
    statement: Statement,
    *,
    dispute_forms: dict[int, DisputeForm] | None = None,
    resolve_forms: dict[int, ResolveDisputeForm] | None = None,
) -> dict[str, Any]:
    """What the statement page (and its PDF) shows: every line with its rule and
    disputes, and the forms to dispute or resolve for those allowed to. Forms refused by
    a service come back in ``dispute_forms`` / ``resolve_forms`` with their errors."""
    contract = statement.contract
    currency = statement.currency
    can_dispute = not statement.superseded and may_edit(request.user, contract.customer_id)
    can_resolve = may_edit(request.user, contract.provider_id, kind=Organization.Kind.PROVIDER)
    dispute_forms = dispute_forms or {}
    resolve_forms = resolve_forms or {}
    lines = selectors.statement_lines(statement)
    for line in lines:
        line.statement = statement
        line.rule_text = exports.rule_text(line, contract.settlement_period)
        line.all_disputes = list(line.disputes.all())
        line.open_dispute = next(
            (d for d in line.all_disputes if d.status == Dispute.Status.OPEN), None
        )
        line.dispute_form = None
        # A refused form is shown again with its errors, even beside an open dispute.
        # A line is disputed once: a resolved dispute comes back only if the provider
        # reopens it; new grounds are disputed on a new revision's line.
        if can_dispute and (not line.all_disputes or line.pk in dispute_forms):
            line.dispute_form = dispute_forms.get(line.pk) or DisputeForm(
                auto_id=f"id_line{line.pk}_%s"
            )
        for dispute in line.all_disputes:
            dispute.resolve_form = None
            dispute.may_reopen = can_resolve and dispute.status == Dispute.Status.REJECTED
            if can_resolve and dispute.status == Dispute.Status.OPEN:
                dispute.resolve_form = resolve_forms.get(dispute.pk) or ResolveDisputeForm(
                    auto_id=f"id_dispute{dispute.pk}_%s"
                )
    revisions = selectors.statement_revisions(statement)
    adjustments = selectors.statement_adjustments(statement)
    changes = statement_changes(statement, lines, revisions, adjustments)
    return {
        "statement": statement,
        "contract": contract,
        "lines": lines,
        "revisions": revisions,
        "summary": statement_summary(statement, lines, changes),
        "lines_total_text": text.format_money(
            sum((ln.amount for ln in lines), Decimal(0)), currency
        ),
        "can_dispute": can_dispute,
        "can_resolve": can_resolve,
        "adjustments": adjustments,
        "terms_text": selectors.terms_version_text(statement),
    }


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A statement with every line, its rule, explanation and disputes, and its revisions."""
    statement = get_statement_or_404(request, pk)
    return render(request, "credits/statement_detail.html", statement_context(request, statement))


def _download_name(statement: Statement, extension: str) -> str:
    reference = "".join(
        ch if ch.isalnum() or ch in "-_" else "-" for ch in statement.contract.reference
    )
    return (
        f"statement-{reference}-{statement.period_start:%Y-%m-%d}-r{statement.revision}.{extension}"
    )


@login_required
def statement_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement as CSV, one row per line, then the rows below the lines and the total."""
    statement = get_statement_or_404(request, pk)
    lines = selectors.statement_lines(statement)
    adjustments = selectors.statement_adjustments(statement)
    response = HttpResponse(
        exports.statement_csv(statement, lines, adjustments), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{_download_name(statement, "csv")}"'
    return response


@login_required
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement as a PDF for accounts payable: both parties, period, lines, totals,
    cap adjustment and revision."""
    statement = get_statement_or_404(request, pk)
    context = statement_context(request, statement)
    context["generated_at"] = timezone.now()
    pdf = exports.statement_pdf(context)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(statement, "pdf")}"'
    return response
