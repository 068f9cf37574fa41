"""Uploading a contract's samples as a CSV file."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from contracts import services
from contracts.forms import MeasurementUploadForm
from contracts.models import ContractService
from contracts.views.common import detail_url, editable_contract


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
                f"The file was rejected: {len(row_errors)} problem(s), nothing was stored.",
            )
        else:
            messages.success(request, f"{stored:,} sample(s) stored for {contract.reference}.")
            return redirect(detail_url(contract, "measurements"))
    contract_services = contract.services.select_related("service").order_by("service__code")
    return render(
        request,
        "contracts/measurement_upload.html",
        {
            "form": form,
            "contract": contract,
            "row_errors": row_errors,
            "contract_services": contract_services,
        },
    )
