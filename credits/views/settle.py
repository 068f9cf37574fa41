"""Settling a closed period of a contract by hand (provider editors), on the contract's
own path beside its other pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from contracts.forms import SettleForm
from contracts.views.common import PREVIEW_PERIODS, editable_contract
from credits import settlement
from credits.contract_pages import settle_choices


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
                    gettext(
                        "Statement revision %(revision)s issued for the period starting %(day)s."
                    )
                    % {"revision": statement.revision, "day": f"{statement.period_start:%Y-%m-%d}"},
                )
            else:
                messages.info(
                    request,
                    gettext(
                        "Nothing changed since the last settlement: this is the statement "
                        "already issued."
                    ),
                )
            return redirect("statement-detail", pk=statement.pk)
    return render(request, "contracts/settle.html", {"form": form, "contract": contract})
