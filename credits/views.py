"""Browser pages of the credits app: the dashboard, statements (HTML, CSV, PDF), disputes,
objectives, responsibilities, the notification inbox, and settling a period by hand.

Both parties use these pages. Every read starts from a ``visible_to`` scope, so anything
outside the user's contracts is a 404, exactly like an id that does not exist; every write
goes through ``credits.services``, whose errors are shown beside the field they concern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_spaces_between_tags
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from contracts.forms import SettleForm
from contracts.models import ContractService, Organization
from contracts.querysets import may_edit
from contracts.views.common import PREVIEW_PERIODS, editable_contract
from credits import exports, selectors, services, settlement
from credits.contract_pages import settle_choices
from credits.exports import Datum
from credits.forms import DisputeForm, ResolveDisputeForm, StatementFilterForm, add_service_errors
from credits.models import Dispute, Notification, Statement, StatementLine
from engine import text

STATEMENTS_PER_PAGE = 50
NOTIFICATIONS_PER_PAGE = 50
# A backstop only: the stamp changes as soon as the page would (see selectors.dashboard_stamp).
DASHBOARD_CACHE_SECONDS = 300
SOURCE_LEVELS = {
    "corporate": "corporate",
    "service": "service",
    "customer": "customer",
    "contract_service": "contract-service",
}


# --------------------------------------------------------------------------- dashboard


@dataclass(slots=True)
class CurrencyChart:
    currency: str
    chart: exports.Chart
    months: list[selectors.MonthCredit]


def _month_series(months: list[selectors.MonthCredit], today: date) -> list[CurrencyChart]:
    """One chart per currency, one bar per month from the first month with a statement
    (within the window) to this month; months without statements are zero."""
    charts = []
    for currency in sorted({m.currency for m in months}):
        rows = {m.month: m for m in months if m.currency == currency}
        first = min(rows)
        series: list[selectors.MonthCredit] = []
        month = first
        while month <= today.replace(day=1):
            series.append(
                rows.get(month) or selectors.MonthCredit(month, currency, Decimal(0), Decimal(0), 0)
            )
            month = _next_month(month)
        data = [
            Datum(
                period=m.month,
                label=m.month.strftime("%b %Y"),
                value=m.credit_total,
                title=f"{m.month:%B %Y}: {text.format_money(m.credit_total, currency)} "
                f"credited over {m.statements} statement{'s' if m.statements != 1 else ''}",
            )
            for m in series
        ]
        chart = exports.bar_chart(
            data,
            title=f"Credits per month ({currency})",
            description="Service credits of the latest revision of each statement, by the "
            "month its period starts.",
            unit=currency,
        )
        charts.append(CurrencyChart(currency=currency, chart=chart, months=series))
    return charts


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _dashboard_body(
    request: HttpRequest,
    organization: Any,
    organizations: list[Any],
    stamp: selectors.DashboardStamp,
) -> str:
    """The dashboard's content, rendered once per version of what it shows."""
    body = cache.get(stamp.key)
    if body is not None:
        return mark_safe(body)  # our own rendering, escaped when it was made
    today = timezone.now().date()
    # Without an organisation (an operator) the dashboard covers every visible contract.
    board = selectors.dashboard(
        request.user, organization=organization, today=today, unread_count=stamp.unread
    )
    # Without the request: nothing of one request (a token, a session) may reach the cache.
    body = render_to_string(
        "credits/_dashboard_body.html",
        {
            "board": board,
            "organizations": organizations,
            "charts": _month_series(board.months, today),
            "ytd": [
                (currency, text.format_money(total, currency))
                for currency, total in board.year_to_date.items()
            ],
            "is_customer": organization is not None and organization.kind == "customer",
        },
    )
    # The whitespace between tags (a seventh of a big dashboard) goes once, here, rather
    # than out with every view of it.
    body = strip_spaces_between_tags(str(body))
    cache.set(stamp.key, body, DASHBOARD_CACHE_SECONDS)
    return mark_safe(body)  # our own rendering, escaped when it was made


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Credits per period and per contract, the year to date, the open period's objectives,
    the latest notifications and lapses, for one of the user's organisations.

    The content is cached under a stamp of everything it shows (one query), so a page
    costs the stamp and the layout until a statement, a notification, a read mark, a
    progress measure or an edit of the contracts changes it."""
    memberships = selectors.dashboard_memberships(request.user)
    organizations = [m.organization for m in memberships]
    slug = request.GET.get("organization")
    if slug:
        organization = next((o for o in organizations if o.slug == slug), None)
        if organization is None:
            raise Http404("No such organisation.")
    else:
        organization = organizations[0] if organizations else None
    stamp = selectors.dashboard_stamp(
        request.user, organization=organization, organizations=organizations
    )
    return render(
        request,
        "credits/dashboard.html",
        {
            "body": _dashboard_body(request, organization, organizations, stamp),
            # Already read: the navigation reuses them instead of querying again.
            "unread_notifications": stamp.unread,
            "memberships": memberships,
        },
    )


# --------------------------------------------------------------------------- statements


def _filtered_statements(request: HttpRequest) -> tuple[StatementFilterForm, Any]:
    form = StatementFilterForm(request.GET or None, user=request.user)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {
            "contract": form.cleaned_data["contract"],
            "period_from": form.cleaned_data["period_from"],
            "period_to": form.cleaned_data["period_to"],
            "include_superseded": not form.cleaned_data["latest_only"],
        }
    elif form.is_bound:
        # Invalid filters show their errors and no rows, never someone else's statements.
        return form, Statement.objects.none()
    return form, selectors.statement_list(request.user, **filters)


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    """Every statement the user may read, newest first, filterable, 50 a page."""
    form, statements = _filtered_statements(request)
    page = Paginator(statements, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "credits/statement_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def statement_export(request: HttpRequest) -> HttpResponse:
    """The statement list, with its filters, as CSV: one row per line."""
    form, statements = _filtered_statements(request)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "credits/statement_list.html",
            {"form": form, "page": None, "query": ""},
            status=400,
        )
    lines = selectors.statement_lines_for_export(statements.order_by())
    response = StreamingHttpResponse(
        exports.csv_stream(lines.iterator(chunk_size=2000)), content_type="text/csv"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="statements-{timezone.now():%Y%m%d}.csv"'
    )
    return response


def _get_statement(request: HttpRequest, pk: int) -> Statement:
    try:
        return selectors.get_statement(request.user, pk)
    except Statement.DoesNotExist:
        raise Http404("No such statement.") from None


def _statement_context(
    request: HttpRequest,
    statement: Statement,
    *,
    dispute_forms: dict[int, DisputeForm] | None = None,
    resolve_forms: dict[int, ResolveDisputeForm] | None = None,
) -> dict[str, Any]:
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
        if can_dispute and (line.open_dispute is None or line.pk in dispute_forms):
            line.dispute_form = dispute_forms.get(line.pk) or DisputeForm(
                auto_id=f"id_line{line.pk}_%s"
            )
        for dispute in line.all_disputes:
            dispute.resolve_form = None
            if can_resolve and dispute.status == Dispute.Status.OPEN:
                dispute.resolve_form = resolve_forms.get(dispute.pk) or ResolveDisputeForm(
                    auto_id=f"id_dispute{dispute.pk}_%s"
                )
    return {
        "statement": statement,
        "contract": contract,
        "lines": lines,
        "revisions": selectors.statement_revisions(statement),
        "lines_total_text": text.format_money(
            sum((ln.amount for ln in lines), Decimal(0)), currency
        ),
        "can_dispute": can_dispute,
        "can_resolve": can_resolve,
    }


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A statement with every line, its rule, explanation and disputes, and its revisions."""
    statement = _get_statement(request, pk)
    return render(request, "credits/statement_detail.html", _statement_context(request, statement))


def _download_name(statement: Statement, extension: str) -> str:
    reference = "".join(
        ch if ch.isalnum() or ch in "-_" else "-" for ch in statement.contract.reference
    )
    return (
        f"statement-{reference}-{statement.period_start:%Y-%m-%d}-r{statement.revision}.{extension}"
    )


@login_required
def statement_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement as CSV, one row per line."""
    statement = _get_statement(request, pk)
    lines = selectors.statement_lines(statement)
    response = HttpResponse(exports.statement_csv(statement, lines), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(statement, "csv")}"'
    return response


@login_required
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement as a PDF for accounts payable: both parties, period, lines, totals,
    cap adjustment and revision."""
    statement = _get_statement(request, pk)
    context = _statement_context(request, statement)
    context["generated_at"] = timezone.now()
    pdf = exports.statement_pdf(context)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(statement, "pdf")}"'
    return response


# --------------------------------------------------------------------------- disputes


def _post_about_line(
    request: HttpRequest,
    line: StatementLine,
    form: DisputeForm | ResolveDisputeForm,
    act: Callable[[dict[str, Any]], object],
    *,
    missing: type[Exception],
    missing_message: str,
    done: str,
    page_forms: dict[str, dict[int, DisputeForm | ResolveDisputeForm]],
) -> HttpResponse:
    """Run a dispute service on a valid form, then go back to the line; a refusal shows
    the statement again with the form's errors beside its fields (400). ``missing`` is
    what the service raises for an object outside the user's scope: a 404, like a wrong
    id."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except missing:
            raise Http404(missing_message) from None
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            statement_url = reverse("statement-detail", args=[line.statement_id])
            return redirect(f"{statement_url}#line-{line.pk}")
    statement = _get_statement(request, line.statement_id)
    context = _statement_context(request, statement, **page_forms)
    return render(request, "credits/statement_detail.html", context, status=400)


@login_required
@require_POST
def dispute_open(request: HttpRequest, line_id: int) -> HttpResponse:
    """A customer disputes one line; errors come back beside the reason field."""
    line = get_object_or_404(StatementLine.objects.visible_to(request.user), pk=line_id)
    form = DisputeForm(request.POST, auto_id=f"id_line{line.pk}_%s")
    return _post_about_line(
        request,
        line,
        form,
        lambda data: services.open_dispute(line=line, user=request.user, reason=data["reason"]),
        missing=StatementLine.DoesNotExist,
        missing_message="No such line.",
        done="Your dispute is open; the provider has been told.",
        page_forms={"dispute_forms": {line.pk: form}},
    )


@login_required
@require_POST
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider accepts or rejects a dispute with a resolution."""
    dispute = get_object_or_404(
        Dispute.objects.visible_to(request.user).select_related("line"), pk=pk
    )
    form = ResolveDisputeForm(request.POST, auto_id=f"id_dispute{dispute.pk}_%s")
    return _post_about_line(
        request,
        dispute.line,
        form,
        lambda data: services.resolve_dispute(
            dispute=dispute,
            user=request.user,
            status=data["status"],
            resolution=data["resolution"],
        ),
        missing=Dispute.DoesNotExist,
        missing_message="No such dispute.",
        done="The dispute is resolved; the customer has been told.",
        page_forms={"resolve_forms": {dispute.pk: form}},
    )


@login_required
def dispute_list(request: HttpRequest) -> HttpResponse:
    """Every dispute on the user's statements, to follow their status."""
    status = request.GET.get("status") or ""
    if status not in ("", *Dispute.Status.values):
        status = ""
    disputes = selectors.dispute_list(request.user, status=status or None)
    page = Paginator(disputes, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/dispute_list.html",
        {"page": page, "status": status, "statuses": Dispute.Status.choices},
    )


# --------------------------------------------------------------------------- objectives


@login_required
def objective_detail(request: HttpRequest, contract_service_id: int, key: str) -> HttpResponse:
    """Attainment against target over the last periods of one objective, with credits."""
    try:
        history = selectors.objective_history(
            request.user, contract_service_id=contract_service_id, key=key
        )
    except ContractService.DoesNotExist:
        raise Http404("No such objective.") from None
    contract = history.contract_service.contract
    kind = contract.settlement_period
    percentage = history.indicator != "count"
    unit = " %" if percentage else ""
    attainment_data = []
    credit_data = []
    for point in history.points:
        line, statement = point.line, point.statement
        label = text.period_label(statement.period_start, statement.period_end)
        attained = (
            "no data"
            if line.attainment is None
            else text.format_measured(line.attainment, percentage=percentage)
        )
        target = text.format_decimal(line.target) + unit
        amount = text.format_money(line.amount, statement.currency)
        state = "no data" if line.met is None else ("met" if line.met else "breached")
        line.state = state
        attainment_data.append(
            Datum(
                period=statement.period_start,
                label=label,
                value=line.attainment,
                target=line.target,
                css_class="met" if line.met else "breached",
                title=f"{label}: {attained} against {target}, {state}; credit {amount}",
            )
        )
        credit_data.append(
            Datum(
                period=statement.period_start,
                label=label,
                value=line.amount,
                title=f"{label}: {amount} credited ({state})",
            )
        )
    name = history.name
    context = {
        "history": history,
        "contract": contract,
        "unit": unit,
        "attainment_chart": exports.attainment_chart(
            attainment_data,
            title=f"{name}: attainment against target",
            description=f"Attainment of {name} in each of the last {len(attainment_data)} "
            "settled periods; the dashed line is the target.",
            percentage=percentage,
        ),
        "credit_chart": exports.bar_chart(
            credit_data,
            title=f"{name}: credits earned",
            description="The service credit this objective earned in each period.",
            unit=contract.currency,
        ),
        "open_attainment_text": text.format_measured(history.open_attainment, percentage=percentage)
        if history.open_attainment is not None
        else (
            text.format_measured(history.warning.attainment, percentage=percentage)
            if history.warning is not None and history.warning.attainment is not None
            else ""
        ),
        "source_text": SOURCE_LEVELS.get(history.service_level.level, "")
        if history.service_level is not None
        else "",
        "sentence": history.service_level.describe(
            service_name=history.contract_service.service.name, period_name=kind
        )
        if history.service_level is not None
        else "",
    }
    return render(request, "credits/objective_detail.html", context)


# --------------------------------------------------------------------------- responsibilities


@login_required
def responsibility_list(request: HttpRequest) -> HttpResponse:
    """The customer's responsibilities under each contract and the lapses recorded."""
    return render(
        request,
        "credits/responsibility_list.html",
        {"responsibilities": selectors.responsibilities(request.user)},
    )


# --------------------------------------------------------------------------- notifications


@login_required
def notification_inbox(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first, with the unread count."""
    notifications = Notification.objects.visible_to(request.user).select_related("organization")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        notifications = notifications.unread()
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    unread_count = Notification.objects.visible_to(request.user).unread().count()
    return render(
        request,
        "credits/notification_inbox.html",
        {
            "page": page,
            "unread_count": unread_count,
            "unread_notifications": unread_count,  # the navigation badge, counted once
            "only_unread": only_unread,
        },
    )


def _back_to_inbox(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notification-inbox")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read (someone else's is a 404)."""
    notification = get_object_or_404(Notification.objects.visible_to(request.user), pk=pk)
    services.mark_notifications_read(user=request.user, ids=[notification.pk])
    return _back_to_inbox(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the user read."""
    count = services.mark_notifications_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return _back_to_inbox(request)


# --------------------------------------------------------------------------- settling by hand


@login_required
@require_http_methods(["GET", "POST"])
def contract_settle(request: HttpRequest, pk: int) -> HttpResponse:
    """Settle a closed period of a contract now (provider editors) and show its statement."""
    contract = editable_contract(request, pk)
    form = SettleForm(request.POST or None, periods=settle_choices(contract, PREVIEW_PERIODS))
    if request.method == "POST" and form.is_valid():
        try:
            result = settlement.settle_period(
                contract=contract, period_start=form.cleaned_data["period_start"]
            )
        except settlement.SettlementError as exc:
            form.add_error("period_start", str(exc))
        else:
            statement = result.statement
            if result.created:
                messages.success(
                    request,
                    f"Statement revision {statement.revision} issued for the period starting "
                    f"{statement.period_start:%Y-%m-%d}.",
                )
            else:
                messages.info(
                    request,
                    "Nothing changed since the last settlement: this is the statement "
                    "already issued.",
                )
            return redirect("statement-detail", pk=statement.pk)
    return render(request, "contracts/settle.html", {"form": form, "contract": contract})
