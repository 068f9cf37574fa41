"""The customer's responsibilities under each contract and the lapses recorded: either
party's editors record a lapse, the customer contests the provider's, the provider keeps
or withdraws a contested one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from contracts import services as contract_services
from contracts.forms import ResponsibilityLapseForm
from contracts.models import Responsibility, ResponsibilityLapse
from contracts.querysets import organizations_edited_by
from contracts.views.common import apply_form_errors
from credits import selectors


@login_required
def responsibility_list(request: HttpRequest) -> HttpResponse:
    """The customer's responsibilities under each contract and the lapses recorded."""
    user = request.user
    return render(
        request,
        "credits/responsibility_list.html",
        {
            "responsibilities": selectors.responsibilities(user),
            # Which sides the user writes for: what the page offers to do.
            "writes_for": set(organizations_edited_by(user).values_list("id", flat=True))
            if not user.is_staff
            else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def lapse_record(request: HttpRequest, r_pk: int) -> HttpResponse:
    """Record a lapse of a responsibility, as either party (times in the contract's zone)."""
    responsibility = get_object_or_404(
        Responsibility.objects.lapses_recordable_by(request.user).select_related("contract"),
        pk=r_pk,
    )
    contract = responsibility.contract
    with timezone.override(ZoneInfo(contract.timezone)):
        form = ResponsibilityLapseForm(request.POST or None, responsibility=responsibility)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                contract_services.record_lapse(
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
                return redirect("responsibility-list")
        return render(
            request,
            "contracts/simple_form.html",
            {
                "form": form,
                "title": gettext("Record a lapse of “%(title)s” (%(contract)s)")
                % {"title": responsibility.title, "contract": contract.reference},
                # The same words as the contract page's form of the same lapse.
                "intro": gettext(
                    "Incidents and samples of the objectives this responsibility affects "
                    "that fall inside the lapse will not count against the provider."
                ),
                "timezone_note": contract.timezone,
                "cancel_url": "/responsibilities/",
            },
            status=400 if form.errors else 200,
        )


def _lapse(request: HttpRequest, pk: int) -> ResponsibilityLapse:
    return get_object_or_404(ResponsibilityLapse.objects.visible_to(request.user), pk=pk)


@login_required
@require_POST
def lapse_contest(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer contests a lapse the provider recorded."""
    lapse = _lapse(request, pk)
    try:
        contract_services.contest_lapse(
            lapse=lapse, user=request.user, reason=request.POST.get("reason") or ""
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, gettext("Lapse contested; the provider is told and will decide."))
    return redirect("responsibility-list")


@login_required
@require_POST
def lapse_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider keeps or withdraws a contested lapse."""
    lapse = _lapse(request, pk)
    try:
        contract_services.resolve_lapse_contest(
            lapse=lapse,
            user=request.user,
            outcome=request.POST.get("outcome") or "",
            resolution=request.POST.get("resolution") or "",
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, gettext("Decision recorded; both parties are notified."))
    return redirect("responsibility-list")
