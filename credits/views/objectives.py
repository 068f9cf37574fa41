"""One objective of a contract service: attainment against target over the last
periods, with the credits it earned."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from contracts.models import ContractService
from credits import charts, selectors
from engine import text

SOURCE_LEVELS = {
    "corporate": "corporate",
    "service": "service",
    "customer": "customer",
    "contract_service": "contract-service",
}


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
    states = {None: gettext("no data"), True: gettext("met"), False: gettext("breached")}
    for point in history.points:
        line, statement = point.line, point.statement
        label = text.period_label(statement.period_start, statement.period_end)
        line.state = states[line.met]
        attainment_data.append(
            charts.Datum(
                period=statement.period_start,
                label=label,
                value=line.attainment,
                target=line.target,
                comparator=line.comparator,
                state="met" if line.met else "breached",
                state_text=line.state,
            )
        )
        credit_data.append(
            charts.StackedPeriod(period=statement.period_start, label=label, amounts=[line.amount])
        )
    progress = history.progress
    if progress is not None and progress.attainment is not None:
        # The open period as measured so far: drawn hollow, after the settled ones.
        attainment_data.append(
            charts.Datum(
                period=progress.period_start,
                label=text.period_label(history.open_period.start, history.open_period.end),
                value=progress.attainment,
                target=progress.target,
                comparator=progress.comparator,
                state_text=history.open_state_label,
                provisional=True,
            )
        )
    name = history.name
    drawn = min(len(history.points), charts.CHART_PERIODS)
    context = {
        "history": history,
        "contract": contract,
        "unit": unit,
        "chart_periods": drawn,
        "attainment_chart": charts.attainment_chart(
            attainment_data,
            chart_id="attainment-chart",
            title=gettext("%(objective)s: attainment against target") % {"objective": name},
            description=gettext(
                "Attainment of %(objective)s in each of the last %(count)s settled periods"
                " and in this period so far (hollow); the dashed line is the target."
            )
            % {"objective": name, "count": drawn},
            percentage=percentage,
        ),
        "credit_chart": charts.stacked_bar_chart(
            credit_data,
            series=[name],
            currency=contract.currency,
            chart_id="credit-chart",
            title=gettext("%(objective)s: credits earned") % {"objective": name},
            description=gettext("The service credit this objective earned in each period."),
        ),
        "open_attainment_text": text.format_measured(
            history.progress.attainment, percentage=percentage
        )
        if history.progress is not None and history.progress.attainment is not None
        else "",
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
