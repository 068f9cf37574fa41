"""The customer's responsibilities and their lapses (relief for the provider)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from contracts import services
from contracts.forms import ResponsibilityForm, ResponsibilityLapseForm
from contracts.models import Responsibility
from contracts.views.common import (
    apply_form_errors,
    detail_url,
    editable_contract,
    in_zone,
    scoped_or_none,
)
from contracts.views.records import LAPSES, record_delete


@login_required
@require_http_methods(["GET", "POST"])
def responsibility_form(request: HttpRequest, pk: int, r_pk: int | None = None) -> HttpResponse:
    contract = editable_contract(request, pk)
    instance = scoped_or_none(Responsibility.objects.filter(contract=contract), r_pk)
    form = ResponsibilityForm(request.POST or None, instance=instance, contract=contract)
    if request.method == "POST" and form.is_valid():
        responsibility = services.save_responsibility(
            responsibility=form.save(commit=False),
            service_levels=form.cleaned_data["service_levels"],
        )
        messages.success(
            request,
            gettext("Responsibility “%(title)s” saved.") % {"title": responsibility.title},
        )
        return redirect(detail_url(contract, "responsibilities"))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": gettext("Edit responsibility")
            if instance
            else gettext("New customer responsibility"),
            "cancel_url": detail_url(contract, "responsibilities"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def responsibility_delete(request: HttpRequest, pk: int, r_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    responsibility = get_object_or_404(Responsibility.objects.filter(contract=contract), pk=r_pk)
    back = detail_url(contract, "responsibilities")
    if request.method == "POST":
        services.delete_responsibility(responsibility=responsibility)
        messages.success(
            request,
            gettext("Responsibility “%(title)s” deleted.") % {"title": responsibility.title},
        )
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "what": gettext("the responsibility “%(title)s”") % {"title": responsibility.title},
            "consequence": gettext(
                "Its lapses go with it: incidents inside them count again "
                "in statements settled from now on."
            ),
            "cancel_url": back,
        },
    )


@login_required
@in_zone
@require_http_methods(["GET", "POST"])
def lapse_form(request: HttpRequest, pk: int, r_pk: int) -> HttpResponse:
    """Record that the customer did not meet a responsibility for a while."""
    contract = editable_contract(request, pk)
    responsibility = get_object_or_404(Responsibility.objects.filter(contract=contract), pk=r_pk)
    form = ResponsibilityLapseForm(request.POST or None, responsibility=responsibility)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_lapse(
                responsibility=responsibility,
                start=data["start"],
                end=data["end"],
                note=data.get("note") or "",
                user=request.user,
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, gettext("Lapse recorded; both parties are notified."))
            return redirect(detail_url(contract, "responsibilities"))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": gettext("Record a lapse of “%(title)s”") % {"title": responsibility.title},
            "intro": gettext(
                "Incidents and samples of the objectives this responsibility affects "
                "that fall inside the lapse will not count against the provider."
            ),
            "timezone_note": contract.timezone,
            "cancel_url": detail_url(contract, "responsibilities"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def lapse_delete(request: HttpRequest, pk: int, lapse_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    return record_delete(request, contract, LAPSES, lapse_pk)
