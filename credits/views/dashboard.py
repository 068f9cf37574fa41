"""The dashboard: credits per period and per contract, the year to date, the open
period's objectives, the latest notifications and lapses, for one organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_spaces_between_tags
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from contracts.models import Contract, Organization
from credits import charts, selectors
from engine import text
from people.selectors import acting_organization

# A backstop only: the stamp changes as soon as the page would (see selectors.dashboard_stamp).
DASHBOARD_CACHE_SECONDS = 300


@dataclass(slots=True)
class CurrencyChart:
    currency: str
    chart: charts.Chart
    months: list[selectors.MonthCredit]
    # Per month, newest first: its label and each contract's part, for the table.
    rows: list[tuple[selectors.MonthCredit, str, str]]


def _month_series(
    months: list[selectors.MonthCredit], contracts: list[Contract], today: date
) -> list[CurrencyChart]:
    """One chart per currency, one bar per month (the last ``charts.CHART_PERIODS``; the
    table has them all) from the first month with a statement to this month, stacked by
    contract; months without statements are zero. The drawn months' parts are written
    once, by the chart, and the table takes them from its bars."""
    references = {c.pk: c.reference for c in contracts}

    def by_reference(pk: int) -> tuple[str, int]:
        return references.get(pk, ""), pk

    result = []
    for currency in sorted({m.currency for m in months}):
        rows = {m.month: m for m in months if m.currency == currency}
        series: list[selectors.MonthCredit] = []
        month = min(rows)
        while month <= today.replace(day=1):
            series.append(
                rows.get(month) or selectors.MonthCredit(month, currency, Decimal(0), Decimal(0), 0)
            )
            month = _next_month(month)
        labels = [_month_label(m.month) for m in series]
        drawn = series[-charts.CHART_PERIODS :]
        contract_ids = sorted(
            {pk for m in drawn for pk, amount in m.by_contract.items() if amount},
            key=by_reference,
        )
        data = [
            charts.StackedPeriod(
                period=m.month,
                label=label,
                amounts=[m.by_contract.get(pk, Decimal(0)) for pk in contract_ids],
            )
            for m, label in zip(drawn, labels[-len(drawn) :], strict=True)
        ]
        chart = charts.stacked_bar_chart(
            data,
            series=[references.get(pk, "") for pk in contract_ids],
            currency=currency,
            chart_id=f"credits-chart-{currency}",
            title=gettext("Credits per month (%(currency)s)") % {"currency": currency},
            description=gettext(
                "Service credits of the latest revision of each statement, by the month "
                "its period starts, stacked by contract, over the last %(count)s months."
            )
            % {"count": len(drawn)},
        )
        undrawn = series[: len(series) - len(drawn)]
        parts = [
            ", ".join(
                f"{references.get(pk, '')} {text.format_money(m.by_contract[pk], currency)}"
                for pk in sorted(m.by_contract, key=by_reference)
                if m.by_contract[pk]
            )
            for m in undrawn
        ] + [bar.parts_text for bar in chart.bars]
        table = list(zip(series, labels, parts, strict=True))
        table.reverse()
        result.append(CurrencyChart(currency=currency, chart=chart, months=series, rows=table))
    return result


def _month_label(month: date) -> str:
    return text.period_label(month, _next_month(month) - timedelta(days=1))


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _dashboard_body(
    request: HttpRequest,
    organization: Organization | None,
    organizations: list[Organization],
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
            "charts": _month_series(board.months, board.contracts, today),
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
        # The organisation the person acts for (the header's switcher).
        organization = acting_organization(request.user, memberships)
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
