"""Uploading a contract's samples as a CSV file."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from contracts import services
from contracts.forms import MeasurementUploadForm
from contracts.models import Contract, ContractService, ServiceLevel
from contracts.selectors import candidate_service_levels, resolve
from contracts.views.common import detail_url, editable_contract

Indicator = ServiceLevel.Indicator
# The column a sample of each kind of objective fills; the others come from incidents
# (uptime) or from the ticket feed (response and resolution times).
SAMPLE_COLUMN = {Indicator.RATIO: "ok", Indicator.THRESHOLD: "value", Indicator.COUNT: "value"}
EXAMPLE_CELLS = {"ok": ",true", "value": "24,"}


@dataclass(frozen=True, slots=True)
class UploadKey:
    """A key a sample of one contract service may name, and the column it fills."""

    contract_service: ContractService
    service_level: ServiceLevel
    column: str | None

    @property
    def source(self) -> str:
        if self.column:
            return f"the {self.column} column"
        if self.service_level.indicator == Indicator.UPTIME:
            return "incidents, not samples"
        return "the ticket feed, not samples"


def upload_keys(contract: Contract) -> list[UploadKey]:
    """Every objective in force on the contract's services, with the column its samples
    fill: what the upload accepts, from the same resolution the upload checks against."""
    contract_services = list(
        contract.services.select_related("service").order_by("service__code", "pk")
    )
    levels = candidate_service_levels(contracts=[contract], contract_services=contract_services)
    return [
        UploadKey(cs, sl, SAMPLE_COLUMN.get(sl.indicator))
        for cs in contract_services
        for sl in sorted(resolve(cs, contract, levels).service_levels, key=lambda sl: sl.key)
    ]


def example_csv(keys: list[UploadKey]) -> str:
    """A file the upload accepts: one row for the first key of each column (empty when
    no key takes samples)."""
    rows = ["contract_service,key,observed_at,value,ok"]
    for column in ("ok", "value"):
        key = next((k for k in keys if k.column == column), None)
        if key is not None:
            rows.append(
                f"{key.contract_service.service.code},{key.service_level.key},"
                f"2026-10-05T09:00:00+00:00,{EXAMPLE_CELLS[column]}"
            )
    return "\n".join(rows) + "\n" if len(rows) > 1 else ""


@login_required
@require_http_methods(["GET", "POST"])
def measurement_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload samples as CSV: all rows are stored, or none and every bad row is listed."""
    contract = editable_contract(request, pk)
    form = MeasurementUploadForm(request.POST or None, request.FILES or None)
    row_errors = None
    if request.method == "POST" and form.is_valid():
        try:
            stored = services.record_measurements_csv(
                content=form.cleaned_data["file"].read(),
                contract=contract,
                contract_services=ContractService.objects.editable_by(request.user),
            )
        except services.CsvRejected as rejected:
            row_errors = rejected.errors
            form.add_error(
                "file",
                gettext("The file was rejected: %(count)d problem(s), nothing was stored.")
                % {"count": len(row_errors)},
            )
        else:
            messages.success(
                request,
                gettext("%(count)s sample(s) stored for %(reference)s.")
                % {"count": f"{stored:,}", "reference": contract.reference},
            )

            return redirect(detail_url(contract, "measurements"))
    keys = upload_keys(contract)
    return render(
        request,
        "contracts/measurement_upload.html",
        {
            "form": form,
            "contract": contract,
            "row_errors": row_errors,
            "keys": keys,
            "example": example_csv(keys),
            "can_edit": True,  # only the provider's editors reach this page
        },
    )
