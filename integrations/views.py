"""Browser pages of the integrations, and the receivers' webhook endpoint.

The webhook endpoint is not a page: no session, no CSRF token; the receiver's secret
token is its authentication. Everything else is a provider member's page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
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
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from contracts.models import Contract, Organization
from contracts.querysets import may_edit
from contracts.views.common import saved_by
from integrations import selectors, services
from integrations.forms import (
    AlertMappingForm,
    OpenSLOImportForm,
    PrometheusPullForm,
    PrometheusSourceForm,
    ReceiverForm,
)
from integrations.models import AlertMapping, PrometheusPull, PrometheusSource, Receiver
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
        raise PermissionDenied(gettext("Only the provider's editors change its integrations."))
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
    messages.info(
        request,
        gettext("Test event to %(receiver)s: %(result)s")
        % {"receiver": receiver.name, "result": result},
    )
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
        messages.error(
            request,
            gettext("Test pull of %(key)s: %(error)s")
            % {"key": pull.key, "error": answer["error"]},
        )
    else:
        messages.info(
            request,
            gettext(
                "Test pull of %(key)s: %(samples)s sample(s) would be recorded, "
                "%(refused)s refused."
            )
            % {"key": pull.key, "samples": answer["samples"], "refused": len(answer["refused"])},
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
                messages.success(
                    request,
                    gettext("Imported %(count)s objective(s).") % {"count": len(plan.objectives)},
                )
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


# --------------------------------------------------------------------------- setting up


def _back(slug: str, anchor: str) -> str:
    return reverse("integrations", args=[slug]) + f"#{anchor}"


def _form_page(
    request: HttpRequest,
    organization: Organization,
    *,
    form: Any,
    title: str,
    intro: str = "",
    anchor: str,
) -> HttpResponse:
    return render(
        request,
        "integrations/form.html",
        {
            "organization": organization,
            "form": form,
            "title": title,
            "intro": intro,
            "cancel_url": _back(organization.slug, anchor),
        },
    )


def _token_page(
    request: HttpRequest, organization: Organization, receiver: Receiver, token: str, *, new: bool
) -> HttpResponse:
    """The receiver's URL and token, shown this once (only a hash is kept)."""
    response = render(
        request,
        "integrations/receiver_token.html",
        {
            "organization": organization,
            "receiver": receiver,
            "token": token,
            "new": new,
            "url": request.build_absolute_uri(
                reverse("integration-hook", args=[str(receiver.public_id)])
            ),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _editable_receiver(request: HttpRequest, organization: Organization, pk: int) -> Receiver:
    return get_object_or_404(
        Receiver.objects.editable_by(request.user).filter(organization=organization), pk=pk
    )


@login_required
@require_http_methods(["GET", "POST"])
def receiver_create(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    organization = _editable(request, slug)
    if kind not in Receiver.Kind.values:
        raise Http404("No such kind of receiver.")
    receiver = Receiver(organization=organization, kind=kind)
    if kind == Receiver.Kind.TICKETS:
        # A ticket receiver writes with the rights of the editor who last saved it.
        receiver.acting_user = request.user
    form = ReceiverForm(request.POST or None, instance=receiver)
    if created := saved_by(
        request, form, lambda unsaved: services.create_receiver(receiver=unsaved)
    ):
        receiver, token = created
        return _token_page(request, organization, receiver, token, new=True)
    return _form_page(
        request,
        organization,
        form=form,
        title=gettext("New receiver for an Alertmanager")
        if kind == Receiver.Kind.ALERTMANAGER
        else gettext("New receiver for a ticket system"),
        intro=gettext("Its URL and secret token are shown once, when it is saved."),
        anchor="receivers",
    )


@login_required
@require_http_methods(["GET", "POST"])
def receiver_edit(request: HttpRequest, slug: str, receiver_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = _editable_receiver(request, organization, receiver_pk)
    if receiver.kind == Receiver.Kind.TICKETS:
        receiver.acting_user = request.user
    form = ReceiverForm(request.POST or None, instance=receiver)
    if saved_by(request, form, lambda unsaved: services.save_receiver(receiver=unsaved)):
        messages.success(request, gettext("Receiver %(name)s saved.") % {"name": receiver.name})
        return redirect(_back(slug, "receivers"))
    intro = (
        gettext("Saving makes you the editor whose rights its tickets are written with.")
        if receiver.kind == Receiver.Kind.TICKETS
        else ""
    )
    return _form_page(
        request,
        organization,
        form=form,
        title=gettext("Edit receiver %(name)s") % {"name": receiver.name},
        intro=intro,
        anchor="receivers",
    )


@login_required
@require_POST
def receiver_rotate(request: HttpRequest, slug: str, receiver_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = _editable_receiver(request, organization, receiver_pk)
    token = services.rotate_token(receiver=receiver)
    return _token_page(request, organization, receiver, token, new=False)


@login_required
@require_http_methods(["GET", "POST"])
def receiver_delete(request: HttpRequest, slug: str, receiver_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = _editable_receiver(request, organization, receiver_pk)
    return _confirm_delete(
        request,
        back=_back(slug, "receivers"),
        what=gettext("the receiver %(name)s") % {"name": receiver.name},
        consequence=gettext(
            "Deliveries to its URL are refused from now on. The incidents and "
            "tickets it recorded stay."
        ),
        delete=lambda: services.delete_receiver(receiver=receiver),
        done=gettext("Receiver %(name)s deleted.") % {"name": receiver.name},
    )


def _confirm_delete(
    request: HttpRequest,
    *,
    back: str,
    what: str,
    consequence: str,
    delete: Callable[[], object],
    done: str,
) -> HttpResponse:
    """Ask before deleting (GET); delete, say so and go back to the page's section (POST)."""
    if request.method == "POST":
        delete()
        messages.success(request, done)
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {"what": what, "consequence": consequence, "cancel_url": back},
    )


@login_required
@require_http_methods(["GET", "POST"])
def mapping_form(
    request: HttpRequest, slug: str, receiver_pk: int, mapping_pk: int | None = None
) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = _editable_receiver(request, organization, receiver_pk)
    if receiver.kind != Receiver.Kind.ALERTMANAGER:
        raise Http404("Only Alertmanager receivers have alert mappings.")
    mapping = (
        get_object_or_404(receiver.mappings.all(), pk=mapping_pk)
        if mapping_pk
        else AlertMapping(receiver=receiver)
    )
    form = AlertMappingForm(request.POST or None, instance=mapping, organization=organization)
    if saved_by(request, form, lambda unsaved: services.save_mapping(mapping=unsaved)):
        messages.success(
            request,
            gettext("Alerts %(mapping)s mapped for %(receiver)s.")
            % {"mapping": mapping, "receiver": receiver.name},
        )
        return redirect(_back(slug, "receivers"))
    return _form_page(
        request,
        organization,
        form=form,
        title=(
            gettext("Edit the alert mapping of %(receiver)s")
            if mapping.pk
            else gettext("New alert mapping of %(receiver)s")
        )
        % {"receiver": receiver.name},
        intro=gettext(
            "An alert carrying every one of these labels opens an incident of the contract "
            "service's uptime objective while it fires."
        ),
        anchor="receivers",
    )


@login_required
@require_http_methods(["GET", "POST"])
def mapping_delete(
    request: HttpRequest, slug: str, receiver_pk: int, mapping_pk: int
) -> HttpResponse:
    organization = _editable(request, slug)
    receiver = _editable_receiver(request, organization, receiver_pk)
    mapping = get_object_or_404(receiver.mappings.all(), pk=mapping_pk)
    return _confirm_delete(
        request,
        back=_back(slug, "receivers"),
        what=gettext("the alert mapping %(mapping)s") % {"mapping": mapping},
        consequence=gettext(
            "Alerts it matched are refused from now on, unless another mapping "
            "matches them. The incidents they became stay."
        ),
        delete=lambda: services.delete_mapping(mapping=mapping),
        done=gettext("Alert mapping %(mapping)s deleted.") % {"mapping": mapping},
    )


@login_required
@require_http_methods(["GET", "POST"])
def source_form(request: HttpRequest, slug: str, source_pk: int | None = None) -> HttpResponse:
    organization = _editable(request, slug)
    source = (
        get_object_or_404(
            PrometheusSource.objects.editable_by(request.user).filter(organization=organization),
            pk=source_pk,
        )
        if source_pk
        else PrometheusSource(organization=organization)
    )
    form = PrometheusSourceForm(request.POST or None, instance=source)
    if saved_by(request, form, lambda unsaved: services.save_source(source=unsaved)):
        messages.success(
            request, gettext("Prometheus source %(name)s saved.") % {"name": source.name}
        )
        return redirect(_back(slug, "prometheus"))
    return _form_page(
        request,
        organization,
        form=form,
        title=gettext("Edit Prometheus source %(name)s") % {"name": source.name}
        if source.pk
        else gettext("New Prometheus source"),
        intro=gettext(
            "A Prometheus server, or anything answering its HTTP API (Thanos, Mimir, "
            "VictoriaMetrics). A token or password is stored encrypted and never shown; or name "
            "the environment variable that holds it."
        ),
        anchor="prometheus",
    )


@login_required
@require_http_methods(["GET", "POST"])
def source_delete(request: HttpRequest, slug: str, source_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    source = get_object_or_404(
        PrometheusSource.objects.editable_by(request.user).filter(organization=organization),
        pk=source_pk,
    )
    return _confirm_delete(
        request,
        back=_back(slug, "prometheus"),
        what=gettext("the Prometheus source %(name)s") % {"name": source.name},
        consequence=gettext("Its pulls are deleted with it; the samples they recorded stay."),
        delete=lambda: services.delete_source(source=source),
        done=gettext("Prometheus source %(name)s deleted.") % {"name": source.name},
    )


def _pull_initial(request: HttpRequest) -> dict[str, Any]:
    """A new pull named from an objective's page (?contract_service=…&key=…)."""
    initial: dict[str, Any] = {
        "start_at": timezone.now().replace(minute=0, second=0, microsecond=0),
    }
    cs = request.GET.get("contract_service", "")
    if cs.isascii() and cs.isdigit():
        initial["contract_service"] = int(cs)
    if request.GET.get("key"):
        initial["key"] = request.GET["key"]
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def pull_form(request: HttpRequest, slug: str, pull_pk: int | None = None) -> HttpResponse:
    organization = _editable(request, slug)
    pull = (
        get_object_or_404(
            PrometheusPull.objects.editable_by(request.user).filter(
                source__organization=organization
            ),
            pk=pull_pk,
        )
        if pull_pk
        else PrometheusPull()
    )
    if not pull.pk and not PrometheusSource.objects.filter(organization=organization).exists():
        messages.info(
            request, gettext("Add a Prometheus source first: the server the query is asked.")
        )
        return redirect("prometheus-source-create", slug=slug)
    # The form's times are UTC, as Prometheus' are.
    with timezone.override(UTC):
        form = PrometheusPullForm(
            request.POST or None,
            instance=pull,
            organization=organization,
            initial=_pull_initial(request) if not pull.pk else None,
        )
        if saved := saved_by(request, form, lambda unsaved: services.save_pull(pull=unsaved)):
            messages.success(
                request, gettext("Prometheus pull of %(key)s saved.") % {"key": saved.key}
            )
            return redirect(_back(slug, "prometheus"))
        return _form_page(
            request,
            organization,
            form=form,
            title=gettext("Edit the Prometheus pull of %(key)s") % {"key": pull.key}
            if pull.pk
            else gettext("New Prometheus pull"),
            intro=gettext(
                "The query is asked with query_range, one step at a time from the first "
                "evaluation time on; each value becomes a sample of the objective, through the "
                "same checks as the measurements API."
            ),
            anchor="prometheus",
        )


@login_required
@require_http_methods(["GET", "POST"])
def pull_delete(request: HttpRequest, slug: str, pull_pk: int) -> HttpResponse:
    organization = _editable(request, slug)
    pull = get_object_or_404(
        PrometheusPull.objects.editable_by(request.user).filter(source__organization=organization),
        pk=pull_pk,
    )
    return _confirm_delete(
        request,
        back=_back(slug, "prometheus"),
        what=gettext("the Prometheus pull of %(key)s") % {"key": pull.key},
        consequence=gettext(
            "Nothing more is pulled into the objective; the samples already recorded stay."
        ),
        delete=lambda: services.delete_pull(pull=pull),
        done=gettext("Prometheus pull of %(key)s deleted.") % {"key": pull.key},
    )
