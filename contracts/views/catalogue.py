"""Services: those of a contract with their fees, and the provider's catalogue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from contracts import services
from contracts.forms import ContractServiceForm, ServiceForm
from contracts.models import ContractService, Organization, Service
from contracts.querysets import may_edit
from contracts.views.common import detail_url, editable_contract, provider_for, scoped_or_none

# --------------------------------------------------------------------------- a contract's


@login_required
@require_http_methods(["GET", "POST"])
def contract_service_form(request: HttpRequest, pk: int, cs_pk: int | None = None) -> HttpResponse:
    contract = editable_contract(request, pk)
    instance = scoped_or_none(ContractService.objects.filter(contract=contract), cs_pk)
    form = ContractServiceForm(request.POST or None, instance=instance, contract=contract)
    if request.method == "POST" and form.is_valid():
        cs = services.save_contract_service(
            contract_service=form.save(commit=False),
            terms_edit=form.terms_edit(),
            user=request.user,
        )
        messages.success(
            request, gettext("%(service)s saved with its fee.") % {"service": cs.service.name}
        )
        return redirect(detail_url(contract, "services"))
    catalogue_url = reverse("service-create", args=[contract.provider.slug])
    return render(
        request,
        "contracts/contract_service_form.html",
        {"form": form, "contract": contract, "instance": instance, "catalogue_url": catalogue_url},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_service_delete(request: HttpRequest, pk: int, cs_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    cs = get_object_or_404(
        ContractService.objects.filter(contract=contract).select_related("service"), pk=cs_pk
    )
    error = None
    if request.method == "POST":
        try:
            services.remove_contract_service(contract_service=cs)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                gettext("%(service)s removed from %(contract)s.")
                % {"service": cs.service.name, "contract": contract.reference},
            )
            return redirect(detail_url(contract, "services"))
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "object": cs,
            "what": gettext("the service %(service)s") % {"service": cs.service.name},
            "consequence": gettext(
                "Its samples, incidents and contract-service objectives go with it."
            ),
            "error": error,
            "cancel_url": detail_url(contract, "services"),
        },
    )


# --------------------------------------------------------------------------- the provider's


@login_required
def service_list(request: HttpRequest, slug: str) -> HttpResponse:
    provider = provider_for(request, slug)
    return render(
        request,
        "contracts/service_list.html",
        {
            "provider": provider,
            "services": Service.objects.filter(provider=provider).order_by("code"),
            "can_edit": may_edit(request.user, provider, kind=Organization.Kind.PROVIDER),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_form(request: HttpRequest, slug: str, service_pk: int | None = None) -> HttpResponse:
    provider = provider_for(request, slug, edit=True)
    instance = (
        get_object_or_404(Service.objects.filter(provider=provider), pk=service_pk)
        if service_pk
        else Service(provider=provider)
    )
    form = ServiceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        service = services.save_service(service=form.save(commit=False))
        messages.success(request, gettext("Service %(name)s saved.") % {"name": service.name})

        back = request.GET.get("next") or ""
        if back.startswith("/") and not back.startswith("//"):
            return redirect(back)
        return redirect("service-list", slug=provider.slug)
    return render(
        request,
        "contracts/service_form.html",
        {"form": form, "provider": provider, "instance": instance},
    )
