"""The dashboard of one organisation: credits by month and contract, objectives, news."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

import engine
from contracts.models import Contract, Membership, Organization, ResponsibilityLapse
from credits.models import Notification, Statement
from credits.selectors.objectives import ObjectiveStatus, open_period_objectives
from credits.selectors.statements import latest_revisions

if TYPE_CHECKING:
    from contracts.querysets import User

DASHBOARD_MONTHS = 24
LATEST_NOTIFICATIONS = 5
ZERO = Decimal(0)


@dataclass(slots=True)
class MonthCredit:
    """The credits of the statements whose period starts in one month, in one currency."""

    month: date
    currency: str
    credit_total: Decimal
    fees_total: Decimal
    statements: int
    # Contract id → its credits in this month.
    by_contract: dict[int, Decimal] = field(default_factory=dict)

    @property
    def credit_text(self) -> str:
        return engine.format_money(self.credit_total, self.currency)

    @property
    def fees_text(self) -> str:
        return engine.format_money(self.fees_total, self.currency)


@dataclass(slots=True)
class ContractCredit:
    contract: Contract
    year_to_date: Decimal = ZERO
    total: Decimal = ZERO
    statements: int = 0
    last_period: date | None = None

    @property
    def year_to_date_text(self) -> str:
        return engine.format_money(self.year_to_date, self.contract.currency)

    @property
    def total_text(self) -> str:
        return engine.format_money(self.total, self.contract.currency)


@dataclass(slots=True)
class Dashboard:
    organization: Organization | None
    contracts: list[Contract]
    months: list[MonthCredit]
    per_contract: list[ContractCredit]
    year: int
    year_to_date: dict[str, Decimal]
    objectives: list[ObjectiveStatus]
    notifications: list[Notification]
    unread_count: int
    lapses: list[ResponsibilityLapse] = field(default_factory=list)


def dashboard_memberships(user: User) -> list[Membership]:
    """The user's memberships with their organisations, by organisation name (one query):
    the organisations whose dashboard the user may open, and the navigation's list."""
    return list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("organization")
        .order_by("organization__name", "id")
    )


def dashboard_organizations(user: User) -> list[Organization]:
    """The organisations whose dashboard the user may open: those they are a member of."""
    return [m.organization for m in dashboard_memberships(user)]


def dashboard(
    user: User,
    *,
    organization: Organization | None,
    today: date | None = None,
    unread_count: int | None = None,
) -> Dashboard:
    """Everything the dashboard shows for one organisation, in a fixed number of queries.

    ``organization`` must be one of :func:`dashboard_organizations` (or ``None`` for an
    operator without a membership: every contract). ``today`` is the UTC date that picks
    the year-to-date; each contract's open period follows its own time zone.
    ``unread_count``: the user's unread notifications when already counted.
    """
    today = today or timezone.now().date()
    contracts_qs = _dashboard_contracts(user, organization)
    contracts = list(
        contracts_qs.select_related("provider", "customer").order_by("reference", "id")
    )
    contract_ids = [c.pk for c in contracts]
    latest = latest_revisions(Statement.objects.filter(contract_id__in=contract_ids))

    # Per contract as well, for the chart's stacks; added up per month here. Only the
    # months shown (this year's are among them): a contract's older months would be
    # read and added up to be dropped, twenty contracts' five years being 1,200 rows.
    first_shown = _months_before(today, DASHBOARD_MONTHS - 1)
    month_rows = (
        latest.filter(period_start__gte=first_shown)
        .annotate(month=TruncMonth("period_start"))
        .order_by()
        .values("month", "currency", "contract_id")
        .annotate(credit=Sum("credit_total"), fees=Sum("fees_total"), n=Count("id"))
        .order_by("month", "currency", "contract_id")
    )
    by_month: dict[tuple[date, str], MonthCredit] = {}
    for row in month_rows:
        key = (_as_date(row["month"]), row["currency"])
        month = by_month.get(key)
        if month is None:
            month = by_month[key] = MonthCredit(key[0], key[1], ZERO, ZERO, 0)
        month.credit_total += row["credit"] or ZERO
        month.fees_total += row["fees"] or ZERO
        month.statements += row["n"]
        month.by_contract[row["contract_id"]] = row["credit"] or ZERO
    months = list(by_month.values())
    year_to_date: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for month in months:
        if month.month.year == today.year:
            year_to_date[month.currency] += month.credit_total

    year_start = date(today.year, 1, 1)
    by_contract = {c.pk: ContractCredit(contract=c) for c in contracts}
    contract_rows = (
        latest.order_by()
        .values("contract_id")
        .annotate(
            total=Sum("credit_total"),
            ytd=Sum(
                "credit_total", filter=Q(period_start__gte=year_start, period_start__lte=today)
            ),
            n=Count("id"),
            last=Max("period_start"),
        )
    )
    for row in contract_rows:
        entry = by_contract[row["contract_id"]]
        entry.total = row["total"] or ZERO
        entry.year_to_date = row["ytd"] or ZERO
        entry.statements = row["n"]
        entry.last_period = row["last"]

    notifications_qs = Notification.objects.visible_to(user)
    if organization is not None:
        notifications_qs = notifications_qs.filter(organization=organization)
    return Dashboard(
        organization=organization,
        contracts=contracts,
        months=months,
        per_contract=[
            e for e in by_contract.values() if e.statements or e.contract.status == "active"
        ],
        year=today.year,
        year_to_date=dict(sorted(year_to_date.items())),
        objectives=open_period_objectives(user, [c for c in contracts if c.status == "active"]),
        notifications=list(notifications_qs[:LATEST_NOTIFICATIONS]),
        unread_count=(
            Notification.objects.visible_to(user).unread().count()
            if unread_count is None
            else unread_count
        ),
        lapses=recent_lapses(user, contract_ids=contract_ids),
    )


def _dashboard_contracts(user: User, organization: Organization | None) -> QuerySet[Contract]:
    contracts = Contract.objects.visible_to(user)
    if organization is not None:
        contracts = contracts.filter(Q(provider=organization) | Q(customer=organization))
    return contracts


def _months_before(day: date, count: int) -> date:
    """The first day of the month ``count`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def recent_lapses(
    user: User, *, contract_ids: list[int], limit: int = 10
) -> list[ResponsibilityLapse]:
    """The latest responsibility lapses recorded on these contracts (one query)."""
    return list(
        ResponsibilityLapse.objects.visible_to(user)
        .filter(responsibility__contract_id__in=contract_ids)
        .select_related("responsibility__contract")
        .order_by("-start")[:limit]
    )
