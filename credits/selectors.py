"""Reads of the credits pages: dashboard figures, statements, attainment series.

Every read starts from a scoping entry point (``visible_to``), so an outsider's query
comes back empty and the view answers 404. Totals count only the latest revision of each
period: a later revision replaces the earlier one, which stays readable as "superseded".
Figures are aggregated in SQL and every function runs a fixed number of queries,
whatever the number of statements.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

import engine
from contracts.models import (
    Contract,
    ContractService,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.selectors import candidate_service_levels, effective_service_level, resolve
from credits import settlement
from credits.models import (
    Dispute,
    EarlyWarning,
    Notification,
    OpenPeriodProgress,
    Statement,
    StatementLine,
)
from credits.querysets import later_revisions

if TYPE_CHECKING:
    from contracts.querysets import User

logger = logging.getLogger(__name__)

DASHBOARD_MONTHS = 24
HISTORY_PERIODS = 24
LATEST_NOTIFICATIONS = 5
ZERO = Decimal(0)


# --------------------------------------------------------------------------- revisions


def latest_revisions(statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """Only the latest revision of each (contract, period): the ones that count in totals."""
    return statements.latest_revisions()


def with_superseded(statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """Annotate ``superseded``: a later revision exists for the same contract and period."""
    return statements.with_superseded()


def today_in(tz: str) -> date:
    """The calendar day it is now in a contract's time zone (periods are aligned to it)."""
    return timezone.now().astimezone(ZoneInfo(tz)).date()


# --------------------------------------------------------------------------- statements


def statement_list(
    user: User,
    *,
    contract: Contract | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    include_superseded: bool = True,
) -> QuerySet[Statement]:
    """The statements a user may read, newest first, with what the list shows annotated
    (superseded, number of lines, open disputes) so a page of them is one query."""
    statements = Statement.objects.visible_to(user)
    if contract is not None:
        statements = statements.filter(contract=contract)
    if period_from is not None:
        statements = statements.filter(period_end__gte=period_from)
    if period_to is not None:
        statements = statements.filter(period_start__lte=period_to)
    if not include_superseded:
        statements = latest_revisions(statements)
    line_count = (
        StatementLine.objects.filter(statement_id=OuterRef("pk"))
        .order_by()
        .values("statement_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    open_disputes = (
        Dispute.objects.filter(line__statement_id=OuterRef("pk"), status=Dispute.Status.OPEN)
        .order_by()
        .values("line__statement_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        with_superseded(statements)
        .annotate(line_count=Subquery(line_count), open_disputes=Subquery(open_disputes))
        .select_related("contract__provider", "contract__customer")
        .order_by("-period_start", "contract__reference", "-revision")
    )


def statement_lines_for_export(statements: QuerySet[Statement]) -> QuerySet[StatementLine]:
    """Every line of these statements with what a CSV row needs, in one query."""
    return (
        StatementLine.objects.filter(statement__in=statements.values("id"))
        .annotate(superseded=Exists(later_revisions("statement__")))
        .select_related(
            "statement__contract__provider",
            "statement__contract__customer",
            "contract_service__service",
        )
        .order_by(
            "-statement__period_start",
            "statement__contract__reference",
            "-statement__revision",
            "contract_service__service__code",
            "key",
        )
    )


def get_statement(user: User, statement_id: int) -> Statement:
    """One statement the user may read (``Statement.DoesNotExist`` otherwise)."""
    return with_superseded(
        Statement.objects.visible_to(user).select_related(
            "contract__provider", "contract__customer"
        )
    ).get(pk=statement_id)


def statement_lines(statement: Statement) -> list[StatementLine]:
    """The lines of a statement with their disputes (newest first), in two queries."""
    return list(
        statement.lines.select_related("contract_service__service")
        .prefetch_related(
            Prefetch(
                "disputes",
                queryset=Dispute.objects.select_related("opened_by", "resolved_by").order_by(
                    "-opened_at", "-id"
                ),
            )
        )
        .order_by("contract_service__service__code", "key")
    )


def statement_revisions(statement: Statement) -> list[Statement]:
    """Every revision of the statement's contract and period, newest first."""
    return list(
        Statement.objects.filter(
            contract_id=statement.contract_id, period_start=statement.period_start
        ).order_by("-revision")
    )


def dispute_list(user: User, *, status: str | None = None) -> QuerySet[Dispute]:
    """Disputes on lines the user may read, newest first."""
    disputes = Dispute.objects.visible_to(user)
    if status:
        disputes = disputes.filter(status=status)
    return disputes.select_related(
        "line__statement__contract__provider",
        "line__statement__contract__customer",
        "line__contract_service__service",
        "opened_by",
        "resolved_by",
    ).order_by("-opened_at", "-id")


# --------------------------------------------------------------------------- dashboard


@dataclass(slots=True)
class MonthCredit:
    """The credits of the statements whose period starts in one month, in one currency."""

    month: date
    currency: str
    credit_total: Decimal
    fees_total: Decimal
    statements: int

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
class ObjectiveStatus:
    """One effective objective of one contract service in the open period."""

    contract: Contract
    contract_service: ContractService
    service_level: ServiceLevel
    period: engine.Period
    # The last measure of the open period so far; None until one was recorded.
    progress: OpenPeriodProgress | None = None
    last_line: StatementLine | None = None

    @property
    def state(self) -> str:
        """on_track, at_risk, breached or no_data (nothing measured yet counts as no data)."""
        return self.progress.state if self.progress else OpenPeriodProgress.State.NO_DATA

    @property
    def attainment(self) -> Decimal | None:
        return self.progress.attainment if self.progress else None

    @property
    def is_percentage(self) -> bool:
        indicator = self.progress.indicator if self.progress else self.service_level.indicator
        return indicator != ServiceLevel.Indicator.COUNT

    @property
    def target_text(self) -> str:
        """``at least 99.5 %``: the target the state was judged against, once measured."""
        source = self.progress or self.service_level
        bound = "at least" if source.comparator == "gte" else "at most"
        unit = " %" if self.is_percentage else ""
        return f"{bound} {format(source.target.normalize(), 'f')}{unit}"

    @property
    def period_text(self) -> str:
        """``1 Nov–30 Nov 2026``."""
        start, end = self.period.start, self.period.end
        return f"{start.day} {start:%b}–{end.day} {end:%b %Y}"

    @property
    def last_period_text(self) -> str:
        return f"{self.last_line.statement.period_start:%b %Y}" if self.last_line else ""

    @property
    def attainment_text(self) -> str:
        """3 decimals, as statements show it; empty when no figure is known yet."""
        if self.attainment is None:
            return ""
        return engine.format_attainment(Fraction(self.attainment))


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

    month_rows = (
        latest.annotate(month=TruncMonth("period_start"))
        .order_by()
        .values("month", "currency")
        .annotate(credit=Sum("credit_total"), fees=Sum("fees_total"), n=Count("id"))
        .order_by("month", "currency")
    )
    months = [
        MonthCredit(
            month=_as_date(row["month"]),
            currency=row["currency"],
            credit_total=row["credit"] or ZERO,
            fees_total=row["fees"] or ZERO,
            statements=row["n"],
        )
        for row in month_rows
    ]
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
        months=[m for m in months if m.month >= _months_before(today, DASHBOARD_MONTHS - 1)],
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


def _months_before(day: date, count: int) -> date:
    """The first day of the month ``count`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def open_period_objectives(user: User, contracts: list[Contract]) -> list[ObjectiveStatus]:
    """Every effective objective of these (active) contracts in its open period, with its
    attainment so far as the last early-warning run recorded it, if any, and its result in
    the last settled statement.

    Four queries whatever the number of contracts: contract services, candidate objectives,
    the open periods' progress and the lines of each contract's latest statement.
    """
    if not contracts:
        return []
    by_id = {c.pk: c for c in contracts}
    contract_services = list(
        ContractService.objects.filter(contract_id__in=by_id)
        .select_related("service")
        .order_by("contract_id", "service__code")
    )
    for cs in contract_services:
        cs.contract = by_id[cs.contract_id]
    levels = candidate_service_levels(contracts=contracts, contract_services=contract_services)
    periods = {
        c.pk: engine.period_containing(today_in(c.timezone), c.settlement_period, c.timezone)
        for c in contracts
    }
    progress = {
        (row.contract_service_id, row.key, row.period_start): row
        for row in OpenPeriodProgress.objects.visible_to(user).filter(
            contract_service_id__in=[cs.pk for cs in contract_services],
            period_start__in={p.start for p in periods.values()},
        )
    }
    newest_statement = Statement.objects.filter(contract_id=OuterRef("pk")).order_by(
        "-period_start", "-revision"
    )
    last_lines = {
        (line.contract_service_id, line.key): line
        for line in StatementLine.objects.filter(
            statement_id__in=Contract.objects.filter(pk__in=by_id)
            .annotate(newest=Subquery(newest_statement.values("id")[:1]))
            .values("newest")
        ).select_related("statement")
    }
    statuses = []
    for cs in contract_services:
        contract = by_id[cs.contract_id]
        period = periods[contract.pk]
        for sl in resolve(cs, contract, levels).service_levels:
            statuses.append(
                ObjectiveStatus(
                    contract=contract,
                    contract_service=cs,
                    service_level=sl,
                    period=period,
                    progress=progress.get((cs.pk, sl.key, period.start)),
                    last_line=last_lines.get((cs.pk, sl.key)),
                )
            )
    # What needs attention first: breached, then at risk; otherwise contract order.
    urgency = {OpenPeriodProgress.State.BREACHED: 0, OpenPeriodProgress.State.AT_RISK: 1}
    return sorted(statuses, key=lambda status: urgency.get(status.state, 2))


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


# --------------------------------------------------------------------------- objectives


@dataclass(slots=True)
class AttainmentPoint:
    """One settled period of one objective (the latest revision of its statement)."""

    line: StatementLine
    statement: Statement

    @property
    def period_start(self) -> date:
        return self.statement.period_start


@dataclass(slots=True)
class ObjectiveHistory:
    contract_service: ContractService
    key: str
    service_level: ServiceLevel | None
    points: list[AttainmentPoint]
    open_period: engine.Period | None
    warning: EarlyWarning | None
    # The open period's exact attainment from its data so far (None: no data yet).
    open_attainment: Fraction | None = None
    open_explanation: str = ""
    open_computed: bool = False

    @property
    def name(self) -> str:
        if self.service_level is not None:
            return self.service_level.name
        return self.points[-1].line.name if self.points else self.key

    @property
    def indicator(self) -> str:
        if self.service_level is not None:
            return self.service_level.indicator
        return self.points[-1].line.indicator if self.points else ""


def objective_history(
    user: User, *, contract_service_id: int, key: str, periods: int = HISTORY_PERIODS
) -> ObjectiveHistory:
    """Attainment against target and the credit earned over the last ``periods`` settled
    periods of one objective of one contract service, oldest first.

    Raises ``ContractService.DoesNotExist`` when the user may not see the contract service
    or it never had that objective.
    """
    cs = (
        ContractService.objects.visible_to(user)
        .select_related("contract__provider", "contract__customer", "service")
        .get(pk=contract_service_id)
    )
    lines = list(
        StatementLine.objects.filter(contract_service=cs, key=key)
        .filter(~Exists(later_revisions("statement__")))
        .select_related("statement")
        .order_by("-statement__period_start")[:periods]
    )
    service_level = effective_service_level(cs, key)
    if service_level is None and not lines:
        raise ContractService.DoesNotExist("no such objective")
    contract = cs.contract
    open_period = None
    warning = None
    if contract.status == Contract.Status.ACTIVE:
        open_period = engine.period_containing(
            today_in(contract.timezone), contract.settlement_period, contract.timezone
        )
        warning = EarlyWarning.objects.filter(
            contract_service=cs, key=key, period_start=open_period.start
        ).first()
    history = ObjectiveHistory(
        contract_service=cs,
        key=key,
        service_level=service_level,
        points=[AttainmentPoint(line=ln, statement=ln.statement) for ln in reversed(lines)],
        open_period=open_period,
        warning=warning,
    )
    if open_period is not None and service_level is not None:
        _attach_open_attainment(history, contract, open_period)
    return history


def _attach_open_attainment(
    history: ObjectiveHistory, contract: Contract, period: engine.Period
) -> None:
    """Compute the open period from its data so far with the settlement module (a read:
    nothing is written). A preview never fails the page: the early warning and the
    settled history still show."""
    try:
        computed = settlement.compute_period(contract=contract, period_start=period.start)
    except settlement.SettlementError:
        return  # e.g. a pool rule without an at-risk amount: the statement will say so
    except Exception:
        logger.exception("previewing the open period of contract %s failed", contract.pk)
        return
    for line in computed.lines:
        if line.contract_service.pk == history.contract_service.pk and (
            line.objective.key == history.key
        ):
            history.open_computed = True
            history.open_attainment = line.result.attainment
            history.open_explanation = line.explanation
            return


# --------------------------------------------------------------------------- responsibilities


def responsibilities(user: User) -> list[Responsibility]:
    """The customer's obligations under every contract the user may read, with the
    objectives they affect and the lapses recorded against them (three queries)."""
    return list(
        Responsibility.objects.visible_to(user)
        .select_related("contract__provider", "contract__customer")
        .prefetch_related(
            Prefetch("service_levels", queryset=ServiceLevel.objects.order_by("key", "level")),
            Prefetch(
                "lapses",
                queryset=ResponsibilityLapse.objects.select_related("recorded_by").order_by(
                    "-start"
                ),
            ),
        )
        .order_by("contract__reference", "title")
    )


# --------------------------------------------------------------------------- dashboard cache


@dataclass(frozen=True, slots=True)
class DashboardStamp:
    """What the dashboard of one user and organisation depends on, read in one query: the
    same ``key`` means the same page. ``unread`` is the user's unread count (for the badge)."""

    key: str
    unread: int


# Each figure changes whenever a row the dashboard shows is written: statements are only
# ever inserted (a later revision is a new row), every save or delete of a contract, its
# services, objectives, parties, services or lapses adds a history row, notifications
# change by insertion or by a read mark (count of unread and the latest read time), and
# every early-warning run rewrites ``measured_at`` of its progress rows with its own, later
# time (their latest moves). Plain SQL that SQLite (the laptop default) runs too.
_STAMP_SQL = """
SELECT
    (SELECT max(id) FROM {statement}),
    s.total,
    (SELECT max(history_id) FROM {contract_history}),
    (SELECT max(history_id) FROM {contract_service_history}),
    (SELECT max(history_id) FROM {service_level_history}),
    (SELECT max(history_id) FROM {service_history}),
    (SELECT max(history_id) FROM {organization_history}),
    (SELECT max(history_id) FROM {lapse_history}),
    (SELECT max(id) FROM {responsibility}),
    n.total, n.last, n.unread, n.last_read,
    p.total, p.last, p.measured
FROM (
    -- Chunks of statements commit in any order: a count notices one that committed after
    -- a higher id did.
    SELECT count(*) AS total
    FROM {statement} st JOIN {contract} c ON c.id = st.contract_id
    WHERE {parties}
) AS s, (
    SELECT count(*) AS total, max(id) AS last,
           coalesce(sum(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread,
           max(read_at) AS last_read
    FROM {notification} WHERE user_id = %s
) AS n, (
    SELECT count(*) AS total, max(id) AS last,
           max(measured_at) AS measured
    FROM {progress}
    WHERE contract_service_id IN (
        SELECT cs.id FROM {contract_service} cs JOIN {contract} c ON c.id = cs.contract_id
        WHERE {parties}
    )
) AS p
"""
# Period, month and year boundaries fall on a quarter of an hour in every time zone.
_STAMP_BUCKET_SECONDS = 15 * 60


def _dashboard_contracts(user: User, organization: Organization | None) -> QuerySet[Contract]:
    contracts = Contract.objects.visible_to(user)
    if organization is not None:
        contracts = contracts.filter(Q(provider=organization) | Q(customer=organization))
    return contracts


@functools.cache
def _stamp_sql(*, everyone: bool) -> str:
    """The stamp's SQL with its table names, for one organisation's contracts or for all.
    Computed once: reaching a history model through its manager is not free."""
    return _STAMP_SQL.format(
        statement=Statement._meta.db_table,
        contract_history=Contract.history.model._meta.db_table,
        contract_service_history=ContractService.history.model._meta.db_table,
        service_level_history=ServiceLevel.history.model._meta.db_table,
        service_history=Service.history.model._meta.db_table,
        organization_history=Organization.history.model._meta.db_table,
        lapse_history=ResponsibilityLapse.history.model._meta.db_table,
        responsibility=Responsibility._meta.db_table,
        notification=Notification._meta.db_table,
        progress=OpenPeriodProgress._meta.db_table,
        contract_service=ContractService._meta.db_table,
        contract=Contract._meta.db_table,
        parties="TRUE" if everyone else "(c.provider_id = %s OR c.customer_id = %s)",
    )


def dashboard_stamp(
    user: User, *, organization: Organization | None, organizations: list[Organization]
) -> DashboardStamp:
    """The version of one user's dashboard of ``organization`` (one query): it changes as
    soon as anything the page shows changes, and at every quarter of an hour."""
    # The progress of every contract of the organisation, whether the user sees it or not:
    # a stamp only says when to render again, and reading it must stay cheap.
    if organization is None:
        sql, params = _stamp_sql(everyone=True), [user.pk]
    else:
        parties = [organization.pk, organization.pk]
        sql, params = _stamp_sql(everyone=False), [*parties, user.pk, *parties]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        figures = cursor.fetchone()
    bucket = int(timezone.now().timestamp()) // _STAMP_BUCKET_SECONDS
    parties = [(o.pk, o.slug, o.name, o.kind) for o in organizations]
    identity = (user.pk, user.is_staff, organization.pk if organization else None, parties)
    digest = hashlib.sha256(repr((identity, bucket, figures)).encode()).hexdigest()
    return DashboardStamp(key=f"dashboard:{digest}", unread=figures[11])
