"""One objective of a contract service: attainment against target over the last
periods, with the credits it earned."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from contracts.models import ContractService
from credits import exports, selectors
from credits.exports import Datum
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
