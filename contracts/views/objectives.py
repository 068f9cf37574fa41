"""Objectives at every level, with their credit rules and the what-if preview: a
contract's own (contract-wide or one service) and the provider's (corporate, per service)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from contracts import hooks, selectors, services
from contracts.forms import ServiceLevelForm
from contracts.models import Contract, ContractService, Organization, Service, ServiceLevel
from contracts.querysets import may_edit, organizations_of
from contracts.views.common import (
    PREVIEW_PERIODS,
    detail_url,
    editable_contract,
    provider_for,
    sentence,
)

# The preview's closed periods reach back at most this far (12 quarters and a margin):
# the calendar's holidays and closures are read for these days.
PREVIEW_DAYS = PREVIEW_PERIODS * 92 + 7


@dataclass
class Preview:
    sentence: str = ""
    rows: list[hooks.PreviewRow] = field(default_factory=list)
    total: Decimal = Decimal(0)
    currency: str = ""
    contract: Contract | None = None
    error: str = ""
    unavailable: bool = False
    computed: bool = False


def _what_if(form: ServiceLevelForm, contract: Contract | None) -> Preview:
    """The credits the objective on the form would have produced over the last closed
    periods of ``contract``, computed from the stored data without saving anything."""
    instance: ServiceLevel = form.instance
    objective = form.objective()
    if objective is None:
        return Preview(computed=True, error=gettext("Fix the objective to see its preview."))
    service_name = instance.service.name if instance.service_id else gettext("each service")
    preview = Preview(
        computed=True,
        sentence=sentence(
            instance, service_name, (contract.settlement_period if contract else "month")
        ),
        contract=contract,
        currency=contract.currency if contract else "",
    )
    if contract is None:
        preview.error = "No contract to preview on yet."
        return preview
    settlement = hooks.settlement()
    if settlement is None:
        preview.unavailable = True
        return preview
    if instance.calendar_id is not None:
        # The calendar as edited, not as stored: the preview of a saved objective reads
        # the stored one unless the objective brings its own.
        now = timezone.now()
        objective = dataclasses.replace(
            objective,
            calendar=selectors.engine_calendar(
                instance.calendar, now - timedelta(days=PREVIEW_DAYS), now + timedelta(days=1)
            ),
            priority=instance.priority or None,
        )
    try:
        preview.rows = settlement.what_if(instance, objective, contract, PREVIEW_PERIODS)
    except hooks.PreviewUnavailable as exc:
        preview.error = str(exc)
        return preview
    preview.total = sum((row.credit for row in preview.rows), Decimal(0))
    return preview


def _contract_scopes(contract: Contract) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    contract_services = contract.services.select_related("service").order_by("service__code")
    scopes = [("customer", gettext("Every service of this contract (contract-wide)"))]
    targets: dict[str, Any] = {
        "customer": {
            "level": ServiceLevel.Level.CUSTOMER,
            "provider_id": contract.provider_id,
            "contract": contract,
            "service": None,
        }
    }
    for cs in contract_services:
        value = f"cs:{cs.service_id}"
        scopes.append((value, gettext("%(service)s only") % {"service": cs.service.name}))
        targets[value] = {
            "level": ServiceLevel.Level.CONTRACT_SERVICE,
            "provider_id": contract.provider_id,
            "contract": contract,
            "service": cs.service,
        }
    return scopes, targets


def _provider_scopes(provider: Organization) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    scopes = [("corporate", gettext("Every service of every contract (corporate)"))]
    targets: dict[str, Any] = {
        "corporate": {
            "level": ServiceLevel.Level.CORPORATE,
            "provider_id": provider.pk,
            "contract": None,
            "service": None,
        }
    }
    for service in Service.objects.filter(provider=provider).order_by("code"):
        value = f"service:{service.pk}"
        scopes.append(
            (
                value,
                gettext("%(service)s, in every contract (service)") % {"service": service.name},
            )
        )
        targets[value] = {
            "level": ServiceLevel.Level.SERVICE,
            "provider_id": provider.pk,
            "contract": None,
            "service": service,
        }
    return scopes, targets


def _scope_of(sl: ServiceLevel) -> str:
    return {
        "corporate": "corporate",
        "service": f"service:{sl.service_id}",
        "customer": "customer",
        "contract_service": f"cs:{sl.service_id}",
    }[sl.level]


def _override_initial(request: HttpRequest, user: User) -> dict[str, Any]:
    """Prefill a new objective from an inherited one (?override=<id>)."""
    source_id = request.GET.get("override") or ""
    initial: dict[str, Any] = {}
    if source_id.isdigit():
        source = ServiceLevel.objects.visible_to(user).filter(pk=int(source_id)).first()
        if source is not None:
            initial = {
                "key": source.key,
                "name": source.name,
                "indicator": source.indicator,
                "comparator": source.comparator,
                "target": f"{source.target.normalize():f}",
                "threshold": (
                    f"{source.threshold.normalize():f}" if source.threshold is not None else None
                ),
                "threshold_comparator": source.threshold_comparator,
                "calendar": source.calendar_id,
                "priority": source.priority,
                "credit_rule": source.credit_rule,
                "enabled": True,
            }
    if request.GET.get("scope"):
        initial["scope"] = request.GET["scope"]
    return initial


def _objective_page(
    request: HttpRequest,
    *,
    instance: ServiceLevel,
    scopes: list[tuple[str, str]],
    targets: dict[str, Any],
    preview_contract: Contract | None,
    preview_contracts: list[Contract] | None,
    done_url: str,
    context: dict[str, Any],
) -> HttpResponse:
    initial = _override_initial(request, request.user) if not instance.pk else {}
    if instance.pk:
        initial["scope"] = _scope_of(instance)
    form = ServiceLevelForm(
        request.POST or None,
        instance=instance,
        initial=initial,
        scopes=scopes,
        scope_targets=targets,
    )
    preview = None
    if request.method == "POST":
        action = request.POST.get("action") or "save"
        if form.adding_tier:
            pass
        elif action == "preview":
            if form.is_valid():
                preview = _what_if(form, preview_contract)
            else:
                preview = Preview(
                    computed=True,
                    error=gettext("Correct the errors shown beside the fields first."),
                )
        elif form.is_valid():
            sl = services.save_service_level(
                service_level=form.save(commit=False),
                terms_edit=form.terms_edit(),
                user=request.user,
            )
            messages.success(
                request,
                gettext("Objective %(name)s (%(key)s) saved.") % {"name": sl.name, "key": sl.key},
            )
            return redirect(done_url)
    if preview is None and instance.pk and request.method == "GET":
        objective_contract = preview_contract if instance.contract_id else None
        preview = Preview(
            sentence=sentence(
                instance,
                instance.service.name if instance.service_id else gettext("each service"),
                objective_contract.settlement_period if objective_contract else "month",
            )
        )
    return render(
        request,
        "contracts/objective_form.html",
        {
            "form": form,
            "instance": instance,
            "preview": preview,
            "preview_contract": preview_contract,
            "preview_contracts": preview_contracts,
            "done_url": done_url,
            **context,
        },
    )


# --------------------------------------------------------------------------- a contract's own


@login_required
@require_http_methods(["GET", "POST"])
def contract_objective_form(
    request: HttpRequest, pk: int, sl_pk: int | None = None
) -> HttpResponse:
    """A contract-wide or one-service objective of a contract, with its credit rule."""
    contract = editable_contract(request, pk)
    if sl_pk:
        instance = get_object_or_404(
            ServiceLevel.objects.editable_by(request.user).filter(
                contract=contract, level__in=("customer", "contract_service")
            ),
            pk=sl_pk,
        )
    else:
        instance = ServiceLevel(provider_id=contract.provider_id)
    scopes, targets = _contract_scopes(contract)
    return _objective_page(
        request,
        instance=instance,
        scopes=scopes,
        targets=targets,
        preview_contract=contract,
        preview_contracts=None,
        done_url=detail_url(contract, "objectives"),
        context={"contract": contract, "period_name": contract.settlement_period},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_objective_delete(request: HttpRequest, pk: int, sl_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    sl = get_object_or_404(
        ServiceLevel.objects.editable_by(request.user).filter(
            contract=contract, level__in=("customer", "contract_service")
        ),
        pk=sl_pk,
    )
    if request.method == "POST":
        try:
            services.delete_service_level(service_level=sl)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                gettext("Objective %(name)s (%(key)s) deleted.") % {"name": sl.name, "key": sl.key},
            )
        return redirect(detail_url(contract, "objectives"))
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "what": gettext("the objective %(name)s (%(key)s)") % {"name": sl.name, "key": sl.key},
            "consequence": (
                gettext(
                    "An objective it overrides (if any) applies again. Issued statements keep "
                    "their snapshot of it."
                )
                if sl.enabled
                else gettext("The inherited objective it removed applies again.")
            ),
            "cancel_url": detail_url(contract, "objectives"),
        },
    )


@login_required
@require_POST
def contract_objective_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch an inherited objective off for one service of the contract (or for all)."""
    contract = editable_contract(request, pk)
    sl_id = request.POST.get("service_level") or ""
    inherited = get_object_or_404(
        ServiceLevel.objects.visible_to(request.user).filter(provider_id=contract.provider_id),
        pk=int(sl_id) if sl_id.isdigit() else 0,
    )
    service = None
    service_id = request.POST.get("service") or ""
    if service_id:
        cs = get_object_or_404(
            ContractService.objects.filter(contract=contract).select_related("service"),
            service_id=service_id if service_id.isdigit() else 0,
        )
        service = cs.service
    try:
        services.remove_inherited_service_level(
            inherited=inherited, contract=contract, service=service
        )
    except ValidationError as exc:
        messages.error(request, gettext("Not removed: %(why)s") % {"why": " ".join(exc.messages)})
    else:
        where = service.name if service else gettext("every service of this contract")
        messages.success(
            request,
            gettext("%(name)s (%(key)s) removed for %(where)s.")
            % {"name": inherited.name, "key": inherited.key, "where": where},
        )
    return redirect(detail_url(contract, "objectives"))


# --------------------------------------------------------------------------- the provider's


@login_required
def objective_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The provider-wide objectives: corporate and per service."""
    provider = provider_for(request, slug)
    can_edit = may_edit(request.user, provider, kind=Organization.Kind.PROVIDER)
    levels = (
        ServiceLevel.objects.visible_to(request.user)
        .filter(provider=provider, level__in=("corporate", "service"))
        .select_related("calendar")
    )
    corporate = [
        (sl, sentence(sl, gettext("each service"), "month"))
        for sl in levels.filter(level="corporate").order_by("key")
    ]
    by_service = []
    service_levels = list(
        levels.filter(level="service").select_related("service").order_by("service__code", "key")
    )
    for service in Service.objects.filter(provider=provider).order_by("code"):
        rows = [
            (sl, sentence(sl, service.name, "month"))
            for sl in service_levels
            if sl.service_id == service.pk
        ]
        by_service.append((service, rows))
    return render(
        request,
        "contracts/objective_list.html",
        {
            "provider": provider,
            "can_edit": can_edit,
            "corporate": corporate,
            "by_service": by_service,
            "providers": organizations_of(request.user, Organization.Kind.PROVIDER).order_by(
                "name"
            ),
        },
    )


def _preview_contracts(provider: Organization, instance: ServiceLevel) -> list[Contract]:
    contracts = Contract.objects.filter(provider=provider).exclude(status="draft")
    if instance.level == ServiceLevel.Level.SERVICE and instance.service_id:
        contracts = contracts.filter(services__service_id=instance.service_id)
    return list(contracts.select_related("customer").order_by("reference")[:100])


@login_required
@require_http_methods(["GET", "POST"])
def objective_form(request: HttpRequest, slug: str, sl_pk: int | None = None) -> HttpResponse:
    """A corporate or service-level objective of the provider."""
    provider = provider_for(request, slug, edit=True)
    if sl_pk:
        instance = get_object_or_404(
            ServiceLevel.objects.editable_by(request.user).filter(
                provider=provider, level__in=("corporate", "service")
            ),
            pk=sl_pk,
        )
    else:
        instance = ServiceLevel(provider=provider)
    scopes, targets = _provider_scopes(provider)
    contracts = _preview_contracts(provider, instance)
    wanted = request.POST.get("preview_contract") or request.GET.get("preview_contract") or ""
    preview_contract = next((c for c in contracts if str(c.pk) == wanted), None) or (
        contracts[0] if contracts else None
    )
    return _objective_page(
        request,
        instance=instance,
        scopes=scopes,
        targets=targets,
        preview_contract=preview_contract,
        preview_contracts=contracts,
        done_url=reverse("objective-list", args=[provider.slug]),
        context={"provider": provider, "period_name": "month"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_delete(request: HttpRequest, slug: str, sl_pk: int) -> HttpResponse:
    provider = provider_for(request, slug, edit=True)
    sl = get_object_or_404(
        ServiceLevel.objects.editable_by(request.user).filter(
            provider=provider, level__in=("corporate", "service")
        ),
        pk=sl_pk,
    )
    back = reverse("objective-list", args=[provider.slug])
    if request.method == "POST":
        try:
            services.delete_service_level(service_level=sl)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                gettext("Objective %(name)s (%(key)s) deleted.") % {"name": sl.name, "key": sl.key},
            )
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "what": gettext("the objective %(name)s (%(key)s)") % {"name": sl.name, "key": sl.key},
            "consequence": gettext(
                "Every contract that inherits it loses it. Issued statements keep "
                "their snapshot of it."
            ),
            "cancel_url": back,
        },
    )
