"""Where each objective stands: in its open period so far, and over its settled periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

import engine
from contracts.models import Contract, ContractService, ServiceLevel
from contracts.selectors import candidate_service_levels, effective_service_level, resolve
from credits.models import EarlyWarning, OpenPeriodProgress, Statement, StatementLine
from credits.querysets import later_revisions
from engine import text

if TYPE_CHECKING:
    from contracts.querysets import User


HISTORY_PERIODS = 24

State = OpenPeriodProgress.State
# The states as running text says them, in the reader's language: the model's labels are
# capitalised, and lower-casing them would also lower German nouns ("zu wenige Messwerte").
STATE_WORDS = {
    State.ON_TRACK: gettext_lazy("on track"),
    State.AT_RISK: gettext_lazy("at risk"),
    State.BREACHED: gettext_lazy("breached"),
    State.NO_DATA: gettext_lazy("no data yet"),
    State.TOO_FEW: gettext_lazy("too few samples"),
}


def state_words(state: str) -> str:
    """An open period's state in words (``on track``, ``too few samples``)."""
    return str(STATE_WORDS[State(state)])


def today_in(tz: str) -> date:
    """The calendar day it is now in a contract's time zone (periods are aligned to it)."""
    return timezone.now().astimezone(ZoneInfo(tz)).date()


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
        """on_track, at_risk, breached, too_few or no_data (nothing measured yet: no data)."""
        return self.progress.state if self.progress else OpenPeriodProgress.State.NO_DATA

    @property
    def state_label(self) -> str:
        """The state in words, as every page says it: ``on track``, ``too few samples``."""
        return state_words(self.state)

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
        bound = gettext("at least") if source.comparator == "gte" else gettext("at most")
        unit = " %" if self.is_percentage else ""
        return f"{bound} {text.format_decimal(source.target)}{unit}"


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
    # The open period as the dashboard and the contract list show it (credits.progress):
    # None until it has been measured.
    progress: OpenPeriodProgress | None = None

    @property
    def open_state(self) -> str:
        return self.progress.state if self.progress else OpenPeriodProgress.State.NO_DATA

    @property
    def open_state_label(self) -> str:
        return state_words(self.open_state)

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
    if open_period is not None:
        history.progress = OpenPeriodProgress.objects.filter(
            contract_service=cs, key=key, period_start=open_period.start
        ).first()
    return history


@dataclass(slots=True)
class ContractObjectiveHistory:
    """One objective of one service of a contract over its last settled periods (lines of
    the latest revisions, oldest first) and its open period so far."""

    contract_service: ContractService
    key: str
    name: str
    indicator: str
    lines: list[StatementLine]
    progress: OpenPeriodProgress | None = None


def contract_objective_histories(
    user: User, contract: Contract, *, periods: int
) -> list[ContractObjectiveHistory]:
    """Every objective of ``contract`` that has settled periods the user may read or an
    open period measured: its last ``periods`` settled periods, by service and key.

    Three queries whatever the number of objectives and periods: the last period starts,
    their lines, the open periods' progress.
    """
    statements = Statement.objects.visible_to(user).filter(contract=contract)
    starts = list(
        statements.order_by("-period_start")
        .values_list("period_start", flat=True)
        .distinct()[:periods]
    )
    lines = (
        StatementLine.objects.filter(statement__in=statements.filter(period_start__in=starts))
        .filter(~Exists(later_revisions("statement__")))
        .select_related("statement", "contract_service__service")
        .order_by("statement__period_start")
        if starts
        else StatementLine.objects.none()
    )
    histories: dict[tuple[int, str], ContractObjectiveHistory] = {}
    for line in lines:
        history = histories.get((line.contract_service_id, line.key))
        if history is None:
            history = histories[(line.contract_service_id, line.key)] = ContractObjectiveHistory(
                contract_service=line.contract_service,
                key=line.key,
                name=line.name,
                indicator=line.indicator,
                lines=[],
            )
        history.name, history.indicator = line.name, line.indicator  # the newest's words
        history.lines.append(line)
    if contract.status == Contract.Status.ACTIVE:
        period = engine.period_containing(
            today_in(contract.timezone), contract.settlement_period, contract.timezone
        )
        for progress in (
            OpenPeriodProgress.objects.visible_to(user)
            .filter(contract_service__contract=contract, period_start=period.start)
            .select_related("contract_service__service", "service_level")
        ):
            key = (progress.contract_service_id, progress.key)
            if key not in histories:
                histories[key] = ContractObjectiveHistory(
                    contract_service=progress.contract_service,
                    key=progress.key,
                    name=progress.service_level.name,
                    indicator=progress.indicator,
                    lines=[],
                )
            histories[key].progress = progress
    return sorted(
        histories.values(),
        key=lambda h: (h.contract_service.service.code, h.contract_service.pk, h.key),
    )
