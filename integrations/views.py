"""Browser pages of the integrations, and the receivers' webhook endpoint.

The webhook endpoint is not a page: no session, no CSRF token; the receiver's secret
token is its authentication. Everything else is a provider member's page.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from contracts.models import Contract, Organization
from contracts.querysets import may_edit
from integrations import selectors, services
from integrations.forms import OpenSLOImportForm
from integrations.models import PrometheusPull, Receiver
from integrations.services import openslo

EVENTS_PER_PAGE = 100


def _unauthorized() -> JsonResponse:
    response = JsonResponse(
        {"detail": "Unknown receiver or wrong token: send the receiver's token as a bearer token."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="sla-portal"'
    return response


@csrf_exempt
@require_POST
def hook(request: HttpRequest, public_id: str) -> HttpResponse:
    """Where Alertmanager and ticket systems post. A wrong or missing token is a 401 and
    nothing is stored; a malformed payload a 400 with the reason, logged on the page."""
    receiver = services.authenticate(public_id, request.headers)
    if receiver is None:
        return _unauthorized()
    now = timezone.now()
    try:
        payload: Any = json.loads(request.body or b"null")
    except RequestDataTooBig:
        return JsonResponse({"detail": "The delivery is too large."}, status=413)
    except (ValueError, UnicodeDecodeError):
        services.log_event(
            organization_id=receiver.organization_id,
            channel=receiver.kind,
            outcome="refused",
            at=now,
            summary="A delivery that is not JSON",
            refusals=["the body is not JSON"],
            receiver=receiver,
        )
        return JsonResponse({"non_field_errors": ["The body is not JSON."]}, status=400)
    if receiver.kind == Receiver.Kind.ALERTMANAGER:
        try:
            received = services.receive_alerts(receiver=receiver, payload=payload, now=now)
        except services.PayloadRefused as refused:
            return JsonResponse(refused.errors, status=400)
        return JsonResponse(received.as_dict(), status=200)
    try:
        recorded = services.receive_tickets(receiver=receiver, payload=payload, now=now)
    except services.TicketsRefused as refused:
        return JsonResponse({"errors": refused.errors}, status=400)
    answer = recorded.as_dict() if recorded else {}
    return JsonResponse(answer, status=201 if recorded and recorded.created else 200)


def _provider(request: HttpRequest, slug: str) -> Organization:
    organization = selectors.provider_of(request.user, slug)
    if organization is None:
        raise Http404("No such provider.")
    return organization


def _editable(request: HttpRequest, slug: str) -> Organization:
    organization = _provider(request, slug)
    if not may_edit(request.user, organization, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied("Only the provider's editors change its integrations.")
    return organization


@login_required
def integrations_home(request: HttpRequest) -> HttpResponse:
    first = selectors.providers_of(request.user).order_by("name").first()
    if first is None:
        raise Http404("Integrations belong to providers.")
    return redirect("integrations", slug=first.slug)


@login_required
def integrations_page(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _provider(request, slug)
    page = selectors.integrations_page(request.user, organization)
    events = Paginator(page.events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    hook_base = request.build_absolute_uri(reverse("integration-hook", args=[_ZERO_UUID]))
    return render(
        request,
        "integrations/organization.html",
        {
            "organization": organization,
            "providers": selectors.providers_of(request.user).order_by("name"),
            "page": page,
            "events": events,
            "hook_base": hook_base.replace(f"{_ZERO_UUID}/", ""),
            "contracts": Contract.objects.visible_to(request.user)
            .filter(provider=organization)
            .order_by("reference"),
        },
    )


_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


@login_required
@require_POST
def send_test_event(request: HttpRequest, slug: str, receiver_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = get_object_or_404(
        Receiver.objects.editable_by(request.user).filter(organization=organization),
        pk=receiver_pk,
    )
    result = services.send_test_event(receiver=receiver, now=timezone.now())
    messages.info(request, f"Test event to {receiver.name}: {result}")
    return HttpResponseRedirect(reverse("integrations", args=[slug]) + "#events")


@login_required
@require_POST
def test_pull(request: HttpRequest, slug: str, pull_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    pull = get_object_or_404(
        PrometheusPull.objects.editable_by(request.user).filter(source__organization=organization),
        pk=pull_pk,
    )
    answer = services.test_pull(pull=pull, now=timezone.now())
    if "error" in answer:
        messages.error(request, f"Test pull of {pull.key}: {answer['error']}")
    else:
        messages.info(
            request,
            f"Test pull of {pull.key}: {answer['samples']} sample(s) would be recorded, "
            f"{len(answer['refused'])} refused.",
        )
    return HttpResponseRedirect(reverse("integrations", args=[slug]) + "#events")


@login_required
@require_http_methods(["GET", "POST"])
def openslo_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Paste or upload an OpenSLO document, see what it would create, then import it."""
    organization = _editable(request, slug)
    contracts = Contract.objects.editable_by(request.user).filter(provider=organization)
    form = OpenSLOImportForm(request.POST or None, request.FILES or None, contracts=contracts)
    plan = None
    if request.method == "POST" and form.is_valid():
        contract = form.cleaned_data["contract"]
        text = form.cleaned_data["text"]
        try:
            if "confirm" in request.POST:
                with transaction.atomic():
                    plan = openslo.import_document(
                        provider=organization, contract=contract, text=text, now=timezone.now()
                    )
                messages.success(request, f"Imported {len(plan.objectives)} objective(s).")
                return redirect("integrations", slug=slug)
            plan = openslo.plan_import(provider=organization, contract=contract, text=text)
            # An uploaded file is not sent again with the confirmation: the text is.
            form.data = form.data.copy()
            form.data["document"] = text
        except openslo.OpenSLORefused as refused:
            plan = openslo.ImportPlan(errors=refused.problems)
    return render(
        request,
        "integrations/openslo_import.html",
        {"organization": organization, "form": form, "plan": plan},
    )


@login_required
def openslo_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A contract's effective objectives as OpenSLO YAML, for either party."""
    contract = get_object_or_404(Contract.objects.visible_to(request.user), pk=pk)
    response = HttpResponse(
        openslo.export_contract(contract), content_type="application/yaml; charset=utf-8"
    )
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in contract.reference)
    response["Content-Disposition"] = f'attachment; filename="{name}-openslo.yaml"'
    return response
