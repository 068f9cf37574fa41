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
    credit_data = []
    for point in history.points:
        point.line.state = charts.result_text(point.line.met)
        credit_data.append(
            charts.StackedPeriod(
                period=point.statement.period_start,
                label=text.period_label(point.statement.period_start, point.statement.period_end),
                amounts=[point.line.amount],
            )
        )
    attainment_data = charts.attainment_data(
        [point.line for point in history.points],
        progress=history.progress,
        open_state_text=history.open_state_label,
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
