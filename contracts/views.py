"""Browser pages of the contracts app: what provider staff use to run their agreements.

Reads start from ``Model.objects.visible_to(user)``, writes from ``editable_by(user)``:
outside a user's scope a page is 404 (the same answer as "does not exist"); inside it
without the editor role a write is 403. Writes go through ``contracts.services`` so the
browser, the API and the admin apply the same rules with the same messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import (
    DecimalField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

import engine
from contracts import services
from contracts.forms import (
    ContractForm,
    ContractServiceForm,
    IncidentForm,
    MaintenanceWindowForm,
    MeasurementUploadForm,
    ResponsibilityForm,
    ResponsibilityLapseForm,
    ServiceForm,
    ServiceLevelForm,
    SettleForm,
)
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.querysets import EDIT_ROLES
from contracts.selectors import effective_service_levels

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
PREVIEW_PERIODS = 12
LEVEL_NAMES = {
    "corporate": "corporate",
    "service": "service",
    "customer": "contract-wide",
    "contract_service": "this service",
}
SORTS = {
    "reference": "reference",
    "customer": "customer__name",
    "status": "status",
    "start": "start_date",
}


# --------------------------------------------------------------------------- helpers


def _reverse_or_none(name: str, *args: Any) -> str | None:
    """A URL owned by another part of the portal, which may not exist yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _readable_contract(request: HttpRequest, pk: int) -> Contract:
    return get_object_or_404(
        Contract.objects.visible_to(request.user).select_related("provider", "customer"), pk=pk
    )


def _can_edit(user: Any, contract: Contract) -> bool:
    return Contract.objects.editable_by(user).filter(pk=contract.pk).exists()


def _editable_contract(request: HttpRequest, pk: int) -> Contract:
    """404 outside the user's scope, 403 inside it without the editor role."""
    contract = _readable_contract(request, pk)
    if not _can_edit(request.user, contract):
        raise PermissionDenied("Only the provider's editors change a contract.")
    return contract


def _scoped_or_none(records: QuerySet, record_pk: int | None) -> Any:
    """The record an edit page is about, found only among ``records`` (404 otherwise);
    None on a "new" page."""
    return get_object_or_404(records, pk=record_pk) if record_pk else None


def _is_provider_side(user: Any, contract: Contract) -> bool:
    return (
        user.is_staff
        or Membership.objects.filter(user_id=user.pk, organization_id=contract.provider_id).exists()
    )


def _provider_orgs(user: Any, roles: tuple[str, ...] | None = None) -> Any:
    providers = Organization.objects.filter(kind=Organization.Kind.PROVIDER)
    if user.is_staff:
        return providers.order_by("name")
    memberships = Membership.objects.filter(user_id=user.pk)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return providers.filter(id__in=memberships.values("organization_id")).order_by("name")


def _provider_for(request: HttpRequest, slug: str, *, edit: bool = False) -> Organization:
    """A provider whose catalogue the user may read (and with ``edit``, change)."""
    provider = get_object_or_404(_provider_orgs(request.user), slug=slug)
    if edit and not _provider_orgs(request.user, EDIT_ROLES).filter(pk=provider.pk).exists():
        raise PermissionDenied("Only the provider's editors change its catalogue.")
    return provider


def _in_zone(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run a contract page in the contract's time zone: the times a provider types and
    reads (maintenance, incidents, lapses) are the contract's local times."""

    @wraps(view)
    def wrapper(request: HttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
        tz = (
            Contract.objects.visible_to(request.user)
            .filter(pk=pk)
            .values_list("timezone", flat=True)
            .first()
        )
        if tz is None:
            raise Http404("No such contract.")
        with timezone.override(ZoneInfo(tz)):
            return view(request, pk, *args, **kwargs)

    return wrapper


def _detail_url(contract: Contract, anchor: str = "") -> str:
    url = reverse("contract-detail", args=[contract.pk])
    return f"{url}#{anchor}" if anchor else url


def _sentence(service_level: ServiceLevel, service_name: str, period_name: str) -> str:
    try:
        return service_level.describe(service_name=service_name, period_name=period_name)
    except (engine.ParameterError, ValueError):
        return f"{service_level.name}: this objective's stored rule cannot be read."


def _apply_form_errors(form: BaseForm, error: ValidationError) -> None:
    """A service's ValidationError shown on the form (beside fields where it names them)."""
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


# --------------------------------------------------------------------------- landing


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: provider members go to their contracts, customers to their
    dashboard, everyone else sees what they are party to."""
    memberships = list(request.user.memberships.select_related("organization"))
    if request.user.is_staff or any(
        m.organization.kind == Organization.Kind.PROVIDER for m in memberships
    ):
        return redirect("contract-list")
    dashboard = _reverse_or_none("dashboard")
    if memberships and dashboard:
        return HttpResponseRedirect(dashboard)
    contracts = (
        Contract.objects.visible_to(request.user)
        .select_related("provider", "customer")
        .order_by("reference")[:50]
    )
    return render(
        request,
        "contracts/home.html",
        {"contracts": contracts, "is_provider": False, "user_memberships": memberships},
    )


# --------------------------------------------------------------------------- contract list


def _credits_this_year(year: int) -> Subquery:
    """Per contract, the credits of this year's periods, counting only the latest revision
    of each period (a later revision replaces the earlier one)."""
    from credits.models import Statement

    totals = (
        Statement.objects.filter(
            contract_id=OuterRef("pk"),
            period_start__gte=date(year, 1, 1),
            period_start__lte=date(year, 12, 31),
        )
        .latest_revisions()
        .order_by()
        .values("contract_id")
        .annotate(total=Sum("credit_total"))
        .values("total")
    )
    return Subquery(totals, output_field=DecimalField(max_digits=18, decimal_places=3))


def _current_period_start(contract: Contract, now: Any) -> date | None:
    try:
        tz = contract.timezone
        today = now.astimezone(ZoneInfo(tz)).date()
        return engine.period_containing(today, contract.settlement_period, tz).start
    except (ValueError, KeyError):
        return None


def _attainment_states(contracts: list[Contract]) -> dict[int, str]:
    """Per contract, the state of its current period: the worst early warning raised for
    it (breached, at risk), "met" when none, "no data" when nothing is measured."""
    from credits.models import EarlyWarning

    now = timezone.now()
    starts = {c.pk: _current_period_start(c, now) for c in contracts}
    rows = EarlyWarning.objects.filter(
        contract_service__contract_id__in=[c.pk for c in contracts],
        period_start__in={s for s in starts.values() if s is not None},
    ).values_list("contract_service__contract_id", "period_start", "state")
    worst: dict[int, str] = {}
    for contract_id, period_start, state in rows:
        if starts.get(contract_id) != period_start:
            continue
        if state == "breached" or worst.get(contract_id) != "breached":
            worst[contract_id] = state
    states = {}
    for contract in contracts:
        if contract.status != Contract.Status.ACTIVE or not contract.has_services:
            states[contract.pk] = "no_data"
        else:
            states[contract.pk] = worst.get(contract.pk, "met")
    return states


STATE_LABELS = {"met": "met", "at_risk": "at risk", "breached": "breached", "no_data": "no data"}


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """The contracts the user is party to: search, filter, sort, with this period's state
    and this year's credits. A constant number of queries whatever the number of rows."""
    base = Contract.objects.visible_to(request.user)
    contracts = base.select_related("provider", "customer")
    q = (request.GET.get("q") or "").strip()
    if q:
        contracts = contracts.filter(
            Q(reference__icontains=q) | Q(title__icontains=q) | Q(customer__name__icontains=q)
        )
    status = request.GET.get("status") or ""
    if status in Contract.Status.values:
        contracts = contracts.filter(status=status)
    else:
        status = ""
    customer = request.GET.get("customer") or ""
    if customer.isdigit():
        contracts = contracts.filter(customer_id=int(customer))
    else:
        customer = ""
    sort = request.GET.get("sort") or "reference"
    column = sort.removeprefix("-")
    if column not in SORTS:
        sort, column = "reference", "reference"
    order = ("-" if sort.startswith("-") else "") + SORTS[column]
    year = timezone.localdate().year
    contracts = contracts.annotate(
        credits_this_year=Coalesce(
            _credits_this_year(year),
            Value(Decimal("0")),
            output_field=DecimalField(max_digits=18, decimal_places=3),
        ),
        has_services=Exists(ContractService.objects.filter(contract_id=OuterRef("pk"))),
    ).order_by(order, "reference", "pk")
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    states = _attainment_states(rows)
    for contract in rows:
        contract.state = states[contract.pk]
        contract.state_label = STATE_LABELS[contract.state]
    customers = Organization.objects.filter(id__in=base.values("customer_id")).order_by("name")
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = request.GET.copy()
    for name in ("page", "sort"):
        sort_query.pop(name, None)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "page": page,
            "rows": rows,
            "q": q,
            "status": status,
            "customer": customer,
            "sort": sort,
            "sort_column": column,
            "sort_descending": sort.startswith("-"),
            "statuses": Contract.Status.choices,
            "customers": customers,
            "year": year,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "sort_columns": [
                ("reference", "Reference"),
                ("customer", "Customer"),
                ("status", "Status"),
                ("start", "Start"),
            ],
            "can_create": _provider_orgs(request.user, EDIT_ROLES).exists(),
            "providers": _provider_orgs(request.user),
        },
    )


# --------------------------------------------------------------------------- contract header


@login_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
    providers = _provider_orgs(request.user, EDIT_ROLES)
    if not providers.exists():
        raise PermissionDenied("Only a provider's editors create contracts.")
    form = ContractForm(
        request.POST or None, providers=providers, all_customers=request.user.is_staff
    )
    if request.method == "POST" and form.is_valid():
        contract = services.save_contract(contract=form.save(commit=False))
        messages.success(request, f"Contract {contract.reference} created: now add its services.")
        return redirect(_detail_url(contract, "services"))
    return render(request, "contracts/contract_form.html", {"form": form, "contract": None})


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
    form = ContractForm(
        request.POST or None,
        instance=contract,
        providers=_provider_orgs(request.user),
        all_customers=request.user.is_staff,
    )
    if request.method == "POST" and form.is_valid():
        services.save_contract(contract=form.save(commit=False))
        messages.success(request, f"Contract {contract.reference} saved.")
        return redirect(_detail_url(contract))
    return render(request, "contracts/contract_form.html", {"form": form, "contract": contract})


# --------------------------------------------------------------------------- contract page


@dataclass
class ObjectiveRow:
    """One key of one contract service: what is in force, where it comes from, what it
    overrides."""

    service_level: ServiceLevel
    sentence: str
    effective: bool
    inherited: bool
    source: str
    source_label: str
    overrides: str


@dataclass
class ServiceObjectives:
    contract_service: ContractService
    rows: list[ObjectiveRow]


def _short(sl: ServiceLevel) -> str:
    """An overridden objective in a few words: "corporate (at least 99.9)"."""
    if not sl.enabled:
        return f"{LEVEL_NAMES[sl.level]} (removed)"
    return f"{LEVEL_NAMES[sl.level]} ({sl.get_comparator_display()} {sl.target.normalize():f})"


def _service_objectives(contract: Contract) -> list[ServiceObjectives]:
    period = contract.settlement_period
    result = []
    for effective in effective_service_levels(contract):
        cs = effective.contract_service
        rows = []
        for _key, ranked in effective.candidates.items():
            winner = ranked[0]
            rows.append(
                ObjectiveRow(
                    service_level=winner,
                    sentence=_sentence(winner, cs.service.name, period),
                    effective=winner.enabled,
                    inherited=winner.level != ServiceLevel.Level.CONTRACT_SERVICE,
                    source=winner.level,
                    source_label=(
                        ("inherited: " if winner.level != "contract_service" else "")
                        + LEVEL_NAMES[winner.level]
                    ),
                    overrides=", ".join(_short(sl) for sl in ranked[1:]),
                )
            )
        result.append(ServiceObjectives(contract_service=cs, rows=rows))
    return result


def _settle_periods(contract: Contract) -> list[tuple[str, str]] | None:
    """The closed periods a provider may settle, newest first, marked when settled."""
    try:
        from credits import settlement
        from credits.models import Statement
    except ImportError:
        return None
    try:
        periods = settlement.closed_periods(contract, PREVIEW_PERIODS, timezone.now())
    except (ValueError, KeyError):
        return None
    settled: dict[date, int] = {}
    for start, revision in Statement.objects.filter(
        contract=contract, period_start__in=[p.start for p in periods]
    ).values_list("period_start", "revision"):
        settled[start] = max(settled.get(start, 0), revision)
    choices = []
    for period in reversed(periods):
        label = f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d}"
        if period.start in settled:
            label += f" (settled, revision {settled[period.start]})"
        choices.append((period.start.isoformat(), label))
    return choices


@login_required
@_in_zone
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one contract; edit controls only for the provider's editors."""
    from credits.models import EarlyWarning, Statement

    contract = _readable_contract(request, pk)
    can_edit = _can_edit(request.user, contract)
    provider_side = _is_provider_side(request.user, contract)
    contract_objectives = ServiceLevel.objects.filter(
        contract=contract, level=ServiceLevel.Level.CUSTOMER
    ).order_by("key")
    responsibilities = contract.responsibilities.prefetch_related(
        "service_levels", Prefetch("lapses", ResponsibilityLapse.objects.order_by("-start"))
    )
    statements = list(
        Statement.objects.visible_to(request.user).filter(contract=contract)[:PREVIEW_PERIODS]
    )
    for statement in statements:
        statement.url = _reverse_or_none("statement-detail", statement.pk)
    context = {
        "contract": contract,
        "can_edit": can_edit,
        "provider_side": provider_side,
        "service_objectives": _service_objectives(contract),
        "contract_objectives": [
            (sl, _sentence(sl, "each service", contract.settlement_period))
            for sl in contract_objectives
        ],
        "responsibilities": responsibilities,
        "maintenance_windows": contract.maintenance_windows.select_related(
            "contract_service__service"
        ),
        "incidents": Incident.objects.filter(contract_service__contract=contract)
        .select_related("contract_service__service")
        .order_by("-started_at")[:50],
        "early_warnings": (
            EarlyWarning.objects.filter(contract_service__contract=contract)
            .select_related("contract_service__service")
            .order_by("-period_start", "contract_service__service__code", "key")[:50]
            if provider_side
            else []
        ),
        "statements": statements,
        "statement_list_url": _reverse_or_none("statement-list"),
        "level_names": LEVEL_NAMES,
    }
    if can_edit:
        context["settle_form"] = SettleForm(periods=_settle_periods(contract))
        context["provider_objectives_url"] = reverse(
            "objective-list", args=[contract.provider.slug]
        )
    return render(request, "contracts/contract_detail.html", context)


@login_required
@_in_zone
def contract_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """The SLA schedule: the agreement in plain language, as the customer signs it."""
    contract = _readable_contract(request, pk)
    contract_services = list(contract.services.select_related("service").order_by("service__code"))
    fees_total = sum((cs.fee for cs in contract_services), Decimal(0))
    return render(
        request,
        "contracts/contract_schedule.html",
        {
            "contract": contract,
            "contract_services": contract_services,
            "fees_total": fees_total,
            "at_risk": (
                engine.quantize_money(
                    fees_total * contract.credit_cap_percent / 100, contract.currency
                )
                if contract.credit_cap_percent is not None
                else None
            ),
            "service_objectives": _service_objectives(contract),
            "responsibilities": contract.responsibilities.prefetch_related("service_levels"),
            "maintenance_windows": contract.maintenance_windows.select_related(
                "contract_service__service"
            ),
            "level_names": LEVEL_NAMES,
            "today": timezone.localdate(),
        },
    )


# --------------------------------------------------------------------------- services


@login_required
@require_http_methods(["GET", "POST"])
def contract_service_form(request: HttpRequest, pk: int, cs_pk: int | None = None) -> HttpResponse:
    contract = _editable_contract(request, pk)
    instance = _scoped_or_none(ContractService.objects.filter(contract=contract), cs_pk)
    form = ContractServiceForm(request.POST or None, instance=instance, contract=contract)
    if request.method == "POST" and form.is_valid():
        cs = services.save_contract_service(contract_service=form.save(commit=False))
        messages.success(request, f"{cs.service.name} saved with its fee.")
        return redirect(_detail_url(contract, "services"))
    catalogue_url = reverse("service-create", args=[contract.provider.slug])
    return render(
        request,
        "contracts/contract_service_form.html",
        {"form": form, "contract": contract, "instance": instance, "catalogue_url": catalogue_url},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_service_delete(request: HttpRequest, pk: int, cs_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
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
            messages.success(request, f"{cs.service.name} removed from {contract.reference}.")
            return redirect(_detail_url(contract, "services"))
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "object": cs,
            "what": f"the service {cs.service.name}",
            "consequence": "Its samples, incidents and contract-service objectives go with it.",
            "error": error,
            "cancel_url": _detail_url(contract, "services"),
        },
    )


# --------------------------------------------------------------------------- objectives


@dataclass
class PreviewRow:
    period: engine.Period
    service: str
    attainment: str
    met: bool | None
    credit: Decimal
    explanation: str


@dataclass
class Preview:
    sentence: str = ""
    rows: list[PreviewRow] = field(default_factory=list)
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
        return Preview(computed=True, error="Fix the objective to see its preview.")
    service_name = instance.service.name if instance.service_id else "each service"
    preview = Preview(
        computed=True,
        sentence=_sentence(
            instance, service_name, (contract.settlement_period if contract else "month")
        ),
        contract=contract,
        currency=contract.currency if contract else "",
    )
    if contract is None:
        preview.error = "No contract to preview on yet."
        return preview
    try:
        from credits import settlement
    except ImportError:
        preview.unavailable = True
        return preview
    periods = settlement.closed_periods(contract, PREVIEW_PERIODS, timezone.now())
    if not periods:
        preview.error = f"{contract.reference} has no closed period yet."
        return preview
    was_new = instance.pk is None
    unchanged_scope = not was_new and (
        ServiceLevel.objects.filter(pk=instance.pk)
        .values_list("level", "contract_id", "service_id")
        .first()
        == (instance.level, instance.contract_id, instance.service_id)
    )
    target_id = instance.pk
    try:
        if unchanged_scope:
            overrides = {instance.pk: objective}
            computed = [
                settlement.compute_period(
                    contract=contract, period_start=p.start, objective_overrides=overrides
                )
                for p in periods
            ]
        else:
            # A new objective (or one changing level) changes which objective wins where:
            # store it for the computation only, then roll it back.
            with transaction.atomic():
                instance.save()
                target_id = instance.pk
                computed = [
                    settlement.compute_period(contract=contract, period_start=p.start)
                    for p in periods
                ]
                transaction.set_rollback(True)
    except settlement.SettlementError as exc:
        preview.error = str(exc)
        return preview
    finally:
        if was_new:
            instance.pk = None
            instance._state.adding = True
    for statement in computed:
        for line in statement.lines:
            # Only the lines this objective decides; a more specific one of the same key
            # keeps deciding where it applies.
            if line.service_level.pk != target_id:
                continue
            result = line.result
            preview.rows.append(
                PreviewRow(
                    period=statement.period,
                    service=line.contract_service.service.name,
                    attainment=(
                        engine.format_attainment(result.attainment)
                        if result.attainment is not None
                        else "no data"
                    ),
                    met=result.met,
                    credit=result.amount,
                    explanation=line.explanation,
                )
            )
            preview.total += result.amount
    return preview


def _contract_scopes(contract: Contract) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    contract_services = contract.services.select_related("service").order_by("service__code")
    scopes = [("customer", "Every service of this contract (contract-wide)")]
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
        scopes.append((value, f"{cs.service.name} only"))
        targets[value] = {
            "level": ServiceLevel.Level.CONTRACT_SERVICE,
            "provider_id": contract.provider_id,
            "contract": contract,
            "service": cs.service,
        }
    return scopes, targets


def _provider_scopes(provider: Organization) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    scopes = [("corporate", "Every service of every contract (corporate)")]
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
        scopes.append((value, f"{service.name}, in every contract (service)"))
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


def _override_initial(request: HttpRequest, user: Any) -> dict[str, Any]:
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
                    computed=True, error="Correct the errors shown beside the fields first."
                )
        elif form.is_valid():
            sl = services.save_service_level(service_level=form.save(commit=False))
            messages.success(request, f"Objective {sl.name} ({sl.key}) saved.")
            return redirect(done_url)
    if preview is None and instance.pk and request.method == "GET":
        objective_contract = preview_contract if instance.contract_id else None
        preview = Preview(
            sentence=_sentence(
                instance,
                instance.service.name if instance.service_id else "each service",
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


@login_required
@require_http_methods(["GET", "POST"])
def contract_objective_form(
    request: HttpRequest, pk: int, sl_pk: int | None = None
) -> HttpResponse:
    """A contract-wide or one-service objective of a contract, with its credit rule."""
    contract = _editable_contract(request, pk)
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
        done_url=_detail_url(contract, "objectives"),
        context={"contract": contract, "period_name": contract.settlement_period},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_objective_delete(request: HttpRequest, pk: int, sl_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
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
            messages.success(request, f"Objective {sl.name} ({sl.key}) deleted.")
        return redirect(_detail_url(contract, "objectives"))
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "what": f"the objective {sl.name} ({sl.key})",
            "consequence": (
                "An objective it overrides (if any) applies again. Issued statements keep "
                "their snapshot of it."
                if sl.enabled
                else "The inherited objective it removed applies again."
            ),
            "cancel_url": _detail_url(contract, "objectives"),
        },
    )


@login_required
@require_POST
def contract_objective_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch an inherited objective off for one service of the contract (or for all)."""
    contract = _editable_contract(request, pk)
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
        messages.error(request, "Not removed: " + " ".join(exc.messages))
    else:
        where = service.name if service else "every service of this contract"
        messages.success(request, f"{inherited.name} ({inherited.key}) removed for {where}.")
    return redirect(_detail_url(contract, "objectives"))


@login_required
def objective_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The provider-wide objectives: corporate and per service."""
    provider = _provider_for(request, slug)
    can_edit = _provider_orgs(request.user, EDIT_ROLES).filter(pk=provider.pk).exists()
    levels = ServiceLevel.objects.visible_to(request.user).filter(
        provider=provider, level__in=("corporate", "service")
    )
    corporate = [
        (sl, _sentence(sl, "each service", "month"))
        for sl in levels.filter(level="corporate").order_by("key")
    ]
    by_service = []
    service_levels = list(
        levels.filter(level="service").select_related("service").order_by("service__code", "key")
    )
    for service in Service.objects.filter(provider=provider).order_by("code"):
        rows = [
            (sl, _sentence(sl, service.name, "month"))
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
            "providers": _provider_orgs(request.user),
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
    provider = _provider_for(request, slug, edit=True)
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
    provider = _provider_for(request, slug, edit=True)
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
            messages.success(request, f"Objective {sl.name} ({sl.key}) deleted.")
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "what": f"the objective {sl.name} ({sl.key})",
            "consequence": "Every contract that inherits it loses it. Issued statements keep "
            "their snapshot of it.",
            "cancel_url": back,
        },
    )


# --------------------------------------------------------------------------- catalogue


@login_required
def service_list(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider_for(request, slug)
    return render(
        request,
        "contracts/service_list.html",
        {
            "provider": provider,
            "services": Service.objects.filter(provider=provider).order_by("code"),
            "can_edit": _provider_orgs(request.user, EDIT_ROLES).filter(pk=provider.pk).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_form(request: HttpRequest, slug: str, service_pk: int | None = None) -> HttpResponse:
    provider = _provider_for(request, slug, edit=True)
    instance = (
        get_object_or_404(Service.objects.filter(provider=provider), pk=service_pk)
        if service_pk
        else Service(provider=provider)
    )
    form = ServiceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        service = services.save_service(service=form.save(commit=False))
        messages.success(request, f"Service {service.name} saved.")
        back = request.GET.get("next") or ""
        if back.startswith("/") and not back.startswith("//"):
            return redirect(back)
        return redirect("service-list", slug=provider.slug)
    return render(
        request,
        "contracts/service_form.html",
        {"form": form, "provider": provider, "instance": instance},
    )


# --------------------------------------------------------------------------- plain records


@dataclass(frozen=True)
class _Records:
    """A kind of record kept on the contract page with a plain form and delete page."""

    noun: str  # in the page titles, the messages and the delete question
    anchor: str  # the contract page's section that lists them
    of_contract: Callable[[Contract], QuerySet]  # any other id is a 404


_LAPSES = _Records(
    "lapse",
    "responsibilities",
    lambda contract: ResponsibilityLapse.objects.filter(responsibility__contract=contract),
)
_MAINTENANCE_WINDOWS = _Records(
    "maintenance window",
    "maintenance",
    lambda contract: MaintenanceWindow.objects.filter(contract=contract),
)
_INCIDENTS = _Records(
    "incident",
    "incidents",
    lambda contract: Incident.objects.filter(contract_service__contract=contract),
)


def _record_form(
    request: HttpRequest,
    contract: Contract,
    records: _Records,
    record_pk: int | None,
    form_class: type[BaseForm],
) -> HttpResponse:
    instance = _scoped_or_none(records.of_contract(contract), record_pk)
    form = form_class(request.POST or None, instance=instance, contract=contract)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, f"{_capitalized(records.noun)} saved.")
        return redirect(_detail_url(contract, records.anchor))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": f"Edit {records.noun}" if instance else f"New {records.noun}",
            "timezone_note": contract.timezone,
            "cancel_url": _detail_url(contract, records.anchor),
        },
    )


def _record_delete(
    request: HttpRequest, contract: Contract, records: _Records, record_pk: int
) -> HttpResponse:
    record = get_object_or_404(records.of_contract(contract), pk=record_pk)
    what = f"the {records.noun} {record}"
    back = _detail_url(contract, records.anchor)
    if request.method == "POST":
        record.delete()
        messages.success(request, f"{_capitalized(what)} deleted.")
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {"contract": contract, "what": what, "cancel_url": back},
    )


def _capitalized(text: str) -> str:
    # Not str.capitalize(), which would lower-case the rest (a contract reference, say).
    return f"{text[:1].upper()}{text[1:]}"


# --------------------------------------------------------------------------- responsibilities


def _contract_objectives(contract: Contract) -> Any:
    """The objectives a responsibility of this contract may affect: its own and those
    it inherits."""
    service_ids = contract.services.values("service_id")
    return (
        ServiceLevel.objects.filter(provider_id=contract.provider_id)
        .filter(
            Q(level="corporate")
            | Q(level="service", service_id__in=service_ids)
            | Q(contract=contract)
        )
        .filter(enabled=True)
        .order_by("key", "level")
    )


@login_required
@require_http_methods(["GET", "POST"])
def responsibility_form(request: HttpRequest, pk: int, r_pk: int | None = None) -> HttpResponse:
    contract = _editable_contract(request, pk)
    instance = _scoped_or_none(Responsibility.objects.filter(contract=contract), r_pk)
    form = ResponsibilityForm(
        request.POST or None,
        instance=instance,
        contract=contract,
        objectives=_contract_objectives(contract),
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            responsibility = form.save()
        messages.success(request, f"Responsibility “{responsibility.title}” saved.")
        return redirect(_detail_url(contract, "responsibilities"))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": "Edit responsibility" if instance else "New customer responsibility",
            "cancel_url": _detail_url(contract, "responsibilities"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def responsibility_delete(request: HttpRequest, pk: int, r_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
    responsibility = get_object_or_404(Responsibility.objects.filter(contract=contract), pk=r_pk)
    back = _detail_url(contract, "responsibilities")
    if request.method == "POST":
        responsibility.delete()
        messages.success(request, f"Responsibility “{responsibility.title}” deleted.")
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "contract": contract,
            "what": f"the responsibility “{responsibility.title}”",
            "consequence": "Its lapses go with it: incidents inside them count again "
            "in statements settled from now on.",
            "cancel_url": back,
        },
    )


@login_required
@_in_zone
@require_http_methods(["GET", "POST"])
def lapse_form(request: HttpRequest, pk: int, r_pk: int) -> HttpResponse:
    """Record that the customer did not meet a responsibility for a while."""
    contract = _editable_contract(request, pk)
    responsibility = get_object_or_404(Responsibility.objects.filter(contract=contract), pk=r_pk)
    form = ResponsibilityLapseForm(request.POST or None, responsibility=responsibility)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record_lapse = services.record_lapse  # appended by the notifications work
        except AttributeError:
            record_lapse = None
        try:
            if record_lapse is not None:
                record_lapse(
                    responsibility=responsibility,
                    start=data["start"],
                    end=data["end"],
                    note=data.get("note") or "",
                    user=request.user,
                )
            else:
                lapse = form.save(commit=False)
                lapse.recorded_by = request.user
                lapse.full_clean()
                lapse.save()
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, "Lapse recorded; both parties are notified.")
            return redirect(_detail_url(contract, "responsibilities"))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": f"Record a lapse of “{responsibility.title}”",
            "intro": "Incidents and samples of the objectives this responsibility affects "
            "that fall inside the lapse will not count against the provider.",
            "timezone_note": contract.timezone,
            "cancel_url": _detail_url(contract, "responsibilities"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def lapse_delete(request: HttpRequest, pk: int, lapse_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
    return _record_delete(request, contract, _LAPSES, lapse_pk)


# --------------------------------------------------------------------------- exclusions


@login_required
@_in_zone
@require_http_methods(["GET", "POST"])
def maintenance_form(request: HttpRequest, pk: int, mw_pk: int | None = None) -> HttpResponse:
    contract = _editable_contract(request, pk)
    return _record_form(request, contract, _MAINTENANCE_WINDOWS, mw_pk, MaintenanceWindowForm)


@login_required
@_in_zone
@require_http_methods(["GET", "POST"])
def maintenance_delete(request: HttpRequest, pk: int, mw_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
    return _record_delete(request, contract, _MAINTENANCE_WINDOWS, mw_pk)


@login_required
@_in_zone
@require_http_methods(["GET", "POST"])
def incident_form(request: HttpRequest, pk: int, incident_pk: int | None = None) -> HttpResponse:
    contract = _editable_contract(request, pk)
    return _record_form(request, contract, _INCIDENTS, incident_pk, IncidentForm)


@login_required
@_in_zone
@require_http_methods(["GET", "POST"])
def incident_delete(request: HttpRequest, pk: int, incident_pk: int) -> HttpResponse:
    contract = _editable_contract(request, pk)
    return _record_delete(request, contract, _INCIDENTS, incident_pk)


# --------------------------------------------------------------------------- measurements


@login_required
@require_http_methods(["GET", "POST"])
def measurement_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload samples as CSV: all rows are stored, or none and every bad row is listed."""
    contract = _editable_contract(request, pk)
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
            return redirect(_detail_url(contract, "measurements"))
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


# --------------------------------------------------------------------------- settlement


@login_required
@require_http_methods(["GET", "POST"])
def contract_settle(request: HttpRequest, pk: int) -> HttpResponse:
    """Settle a closed period now and show its statement."""
    contract = _editable_contract(request, pk)
    form = SettleForm(request.POST or None, periods=_settle_periods(contract))
    if request.method == "POST" and form.is_valid():
        from credits import settlement

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
                    f"Statement revision {statement.revision} issued for the period starting "
                    f"{statement.period_start:%Y-%m-%d}.",
                )
            else:
                messages.info(
                    request,
                    "Nothing changed since the last settlement: this is the statement "
                    "already issued.",
                )
            url = _reverse_or_none("statement-detail", statement.pk)
            return HttpResponseRedirect(url or _detail_url(contract, "statements"))
    return render(request, "contracts/settle.html", {"form": form, "contract": contract})
