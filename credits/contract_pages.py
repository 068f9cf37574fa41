"""What settlement shows on the contract pages: this year's credits and the open period's
state on the contract list; statements, early warnings and the periods to settle on the
contract page; the what-if preview of an objective being edited.

The contract pages reach these through ``contracts.hooks`` (installed by
``CreditsConfig.ready``), so that contracts never depends on this app.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import DecimalField, Exists, Expression, OuterRef, QuerySet, Subquery, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

import engine
from contracts.forms.contract_list import OPEN_DISPUTE
from contracts.hooks import PeriodState, PreviewRow, PreviewUnavailable
from contracts.models import Contract, ServiceLevel
from contracts.selectors import engine_calendar
from credits import charts, services, settlement
from credits.models import ChronicFailure, EarlyWarning, OpenPeriodProgress, Statement
from credits.selectors.objectives import contract_objective_histories, state_words
from engine import phrases, text

State = OpenPeriodProgress.State
# A contract's period stands as its worst objective.
_SEVERITY = {
    State.NO_DATA: 0,
    State.ON_TRACK: 1,
    State.TOO_FEW: 2,
    State.AT_RISK: 3,
    State.BREACHED: 4,
}


def period_state(state: str) -> PeriodState:
    """A state with the words the dashboard shows for it ("on track", "no data yet")."""
    return PeriodState(state=state, label=state_words(state))


def _current_period_start(contract: Contract, now: datetime) -> date | None:
    try:
        tz = contract.timezone
        today = now.astimezone(ZoneInfo(tz)).date()
        return engine.period_containing(today, contract.settlement_period, tz).start
    except (ValueError, KeyError):
        return None


def settle_choices(contract: Contract, count: int) -> list[tuple[str, str]] | None:
    """The closed periods a provider may settle, newest first, marked when settled."""
    try:
        periods = settlement.closed_periods(contract, count, timezone.now())
    except (ValueError, KeyError):
        return None
    settled: dict[date, int] = {}
    for start, revision in Statement.objects.filter(
        contract=contract, period_start__in=[p.start for p in periods]
    ).values_list("period_start", "revision"):
        settled[start] = max(settled.get(start, 0), revision)
    choices = []
    for period in reversed(periods):
        label = text.period_label(period.start, period.end)
        if period.start in settled:
            label = gettext("%(period)s (settled, revision %(revision)s)") % {
                "period": label,
                "revision": settled[period.start],
            }
        choices.append((period.start.isoformat(), label))
    return choices


def _with_calendar(
    objective: engine.Objective, service_level: ServiceLevel, periods: Sequence[engine.Period]
) -> engine.Objective:
    """The edited objective with the calendar and priority on the form (unless it brings
    its own calendar): a calendar picked, or removed (around the clock), before saving
    changes the preview as it would the statements."""
    calendar = objective.calendar or engine.ALWAYS
    if objective.calendar is None and service_level.calendar_id is not None:
        calendar = engine_calendar(service_level.calendar, periods[0].start_at, periods[-1].end_at)
    return dataclasses.replace(
        objective, calendar=calendar, priority=service_level.priority or None
    )


def _statements_of_contract(start: date | None, end: date | None) -> QuerySet[Statement]:
    """The statements of the outer contract (``OuterRef("pk")``) overlapping the range."""
    return Statement.objects.filter(contract_id=OuterRef("pk")).overlapping(start, end)


def _latest_credits(statements: QuerySet[Statement]) -> Expression:
    """Per outer contract, the sum of the credits of the latest revisions among
    ``statements`` (already narrowed to ``OuterRef("pk")``)."""
    totals = (
        statements.latest_revisions()
        .order_by()
        .values("contract_id")
        .annotate(total=Sum("credit_total"))
        .values("total")
    )
    return Subquery(totals, output_field=DecimalField(max_digits=18, decimal_places=3))


class SettlementOnContractPages:
    """The credits app's side of ``contracts.hooks.Settlement``."""

    def credits_this_year(self, year: int) -> Expression:
        """Per contract, the credits of the periods starting this year (a week straddling
        New Year counts in the year it starts), counting only the latest revision of each
        period (a later revision replaces the earlier one)."""
        return _latest_credits(
            Statement.objects.filter(
                contract_id=OuterRef("pk"),
                period_start__gte=date(year, 1, 1),
                period_start__lte=date(year, 12, 31),
            )
        )

    def credits_between(self, start: date | None, end: date | None) -> Expression:
        """Per contract, the credits of its periods overlapping the range, counting only
        the latest revision of each period (as ``credits_this_year``)."""
        return _latest_credits(_statements_of_contract(start, end))

    def statements_where(
        self, *, start: date | None, end: date | None, breached: bool, disputed: str
    ) -> Expression:
        """Per contract, whether a latest revision of a period overlapping the range is
        breached, and/or any revision of such a period has an open (or any) dispute."""
        statements = _statements_of_contract(start, end)
        if breached:
            statements = statements.latest_revisions().breached()
        if disputed:
            statements = statements.disputed(open_only=disputed == OPEN_DISPUTE)
        return Exists(statements)

    def period_states(self, contracts: Sequence[Contract]) -> dict[int, PeriodState]:
        """The state of each contract's current period, from the rows the dashboard shows
        (:mod:`credits.progress`), so both pages give one answer: the worst state of its
        objectives (breached, at risk, too few samples, on track); no data yet when
        nothing has been measured in the period (or the contract is not active)."""
        now = timezone.now()
        starts = {c.pk: _current_period_start(c, now) for c in contracts}
        rows = OpenPeriodProgress.objects.filter(
            contract_service__contract_id__in=[c.pk for c in contracts],
            period_start__in={s for s in starts.values() if s is not None},
        ).values_list("contract_service__contract_id", "period_start", "state")
        worst: dict[int, str] = {}
        for contract_id, period_start, state in rows:
            if starts.get(contract_id) != period_start:
                continue
            if _SEVERITY[state] > _SEVERITY[worst.get(contract_id, State.NO_DATA)]:
                worst[contract_id] = state
        states = {}
        for contract in contracts:
            if contract.status != Contract.Status.ACTIVE or not contract.has_services:
                states[contract.pk] = period_state(State.NO_DATA)
            else:
                states[contract.pk] = period_state(worst.get(contract.pk, State.NO_DATA))
        return states

    def statements(self, contract: Contract, user: User, limit: int) -> list[Statement]:
        statements = list(Statement.objects.visible_to(user).filter(contract=contract)[:limit])
        for statement in statements:
            statement.url = reverse("statement-detail", args=[statement.pk])
        return statements

    def attainment_charts(self, contract: Contract, user: User) -> str:
        histories = contract_objective_histories(user, contract, periods=charts.CHART_PERIODS)
        if not histories:
            return ""
        figures = []
        for history in histories:
            percentage = history.indicator != "count"
            name = f"{history.contract_service.service.name}: {history.name}"
            chart = charts.attainment_chart(
                charts.attainment_data(
                    history.lines,
                    progress=history.progress,
                    open_state_text=period_state(history.progress.state).label
                    if history.progress
                    else "",
                ),
                chart_id=f"attainment-{history.contract_service.pk}-{history.key}",
                title=name,
                description=gettext(
                    "Attainment of %(objective)s in its last settled periods and this period "
                    "so far (hollow); the dashed line is the target."
                )
                % {"objective": name},
                percentage=percentage,
                compact=True,
            )
            figures.append(
                {
                    "chart": chart,
                    "history": history,
                    "url": reverse(
                        "objective-detail", args=[history.contract_service.pk, history.key]
                    ),
                }
            )
        return render_to_string("credits/_contract_charts.html", {"figures": figures})

    def early_warnings(self, contract: Contract, limit: int) -> list[EarlyWarning]:
        return list(
            EarlyWarning.objects.filter(contract_service__contract=contract)
            .select_related("contract_service__service")
            .order_by("-period_start", "contract_service__service__code", "key")[:limit]
        )

    def settle_choices(self, contract: Contract, count: int) -> list[tuple[str, str]] | None:
        return settle_choices(contract, count)

    def chronic_failures(self, contract: Contract) -> list[ChronicFailure]:
        failures = list(
            ChronicFailure.objects.filter(contract=contract)
            .select_related("contract_service__service", "statement")
            .order_by("-period_start", "contract_service__service__code", "key")
        )
        for failure in failures:
            failure.url = reverse("statement-detail", args=[failure.statement_id])
        return failures

    def what_if(
        self,
        service_level: ServiceLevel,
        objective: engine.Objective,
        contract: Contract,
        count: int,
    ) -> list[PreviewRow]:
        """What the objective on the form would have decided over the contract's last
        closed periods, computed from the stored data without saving anything."""
        periods = settlement.closed_periods(contract, count, timezone.now())
        if not periods:
            raise PreviewUnavailable(f"{contract.reference} has no closed period yet.")
        objective = _with_calendar(objective, service_level, periods)
        try:
            lines = services.what_if_lines(
                service_level=service_level, objective=objective, contract=contract, periods=periods
            )
        except settlement.SettlementError as exc:
            raise PreviewUnavailable(str(exc)) from None
        return [
            PreviewRow(
                period=period,
                service=line.contract_service.service.name,
                attainment=(
                    text.format_measured(
                        line.result.attainment,
                        percentage=line.objective.indicator != ServiceLevel.Indicator.COUNT,
                    )
                    if line.result.attainment is not None
                    else "no data"
                ),
                met=line.result.met,
                credit=line.result.amount,
                # Settled in the site's language; read in the reader's.
                explanation=phrases.render(line.parts),
            )
            for period, line in lines
        ]
