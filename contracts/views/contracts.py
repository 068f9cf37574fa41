"""The landing page, the contract list, a contract's header, its page and its SLA schedule."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

import engine
from contracts import hooks, services
from contracts.forms import ContractForm, SettleForm
from contracts.forms.contract_list import ContractStatementFilter
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    Organization,
    ResponsibilityLapse,
    ServiceLevel,
)
from contracts.models.terms import terms_timeline
from contracts.querysets import organizations_edited_by, organizations_of
from contracts.selectors import (
    contract_totals,
    effective_service_levels,
    search_contracts,
    with_credits,
)
from contracts.views.common import (
    LEVEL_NAMES,
    PAGE_SIZE,
    PREVIEW_PERIODS,
    can_edit,
    detail_url,
    editable_contract,
    in_zone,
    readable_contract,
    sentence,
)

SORTS = {
    "reference": "reference",
    "customer": "customer__name",
    "status": "status",
    "start": "start_date",
}
PROVIDER = Organization.Kind.PROVIDER


def _reverse_or_none(name: str, *args: Any) -> str | None:
    """A URL owned by another part of the portal, which may not be installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


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


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """The contracts the user is party to: search, filter, sort, with this period's state
    and this year's credits. A constant number of queries whatever the number of rows."""
    settlement = hooks.settlement()
    base = Contract.objects.visible_to(request.user)
    contracts = base.select_related("provider", "customer")
    q = (request.GET.get("q") or "").strip()
    status_code = 200
    if "\x00" in q:
        # PostgreSQL text cannot hold a NUL, so the query would fail: say so instead.
        messages.error(request, gettext("The search cannot contain a NUL character."))
        q, status_code = "", 400
    if q:
        contracts = search_contracts(contracts, q)
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
    statement_filter = ContractStatementFilter(request.GET or None, queryset=contracts)
    start, end = statement_filter.period_range
    statement_filter.queryset = with_credits(contracts, start=start, end=end, year=year)
    if statement_filter.is_bound and not statement_filter.is_valid():
        # Invalid filters show their errors beside the field and no rows.
        contracts = Contract.objects.none()
    else:
        contracts = statement_filter.qs
    contracts = contracts.annotate(
        has_services=Exists(ContractService.objects.filter(contract_id=OuterRef("pk"))),
    ).order_by(order, "reference", "pk")
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = contract_totals(contracts) if page.object_list else []
    rows = list(page.object_list)
    states = settlement.period_states(rows) if settlement is not None else {}
    for contract in rows:
        contract.period_state = states.get(contract.pk)
    customers = Organization.objects.filter(id__in=base.values("customer_id")).order_by("name")
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = request.GET.copy()
    for name in ("page", "sort"):
        sort_query.pop(name, None)
    if status_code != 200:
        query.pop("q", None)
        sort_query.pop("q", None)
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
            "filter_form": statement_filter.form,
            "period_from": start,
            "period_to": end,
            "filtered": bool(
                q
                or status
                or customer
                or any(request.GET.get(name) for name in ContractStatementFilter.base_filters)
            ),
            "totals": totals,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "sort_columns": [
                ("reference", "Reference"),
                ("customer", "Customer"),
                ("status", "Status"),
                ("start", "Start"),
            ],
            "can_create": organizations_edited_by(request.user, PROVIDER).exists(),
            "providers": organizations_of(request.user, PROVIDER).order_by("name"),
        },
        status=status_code,
    )


# --------------------------------------------------------------------------- contract header


@login_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
    providers = organizations_edited_by(request.user, PROVIDER).order_by("name")
    if not providers.exists():
        raise PermissionDenied(gettext("Only a provider's editors create contracts."))
    form = ContractForm(
        request.POST or None, providers=providers, all_customers=request.user.is_staff
    )
    if request.method == "POST" and form.is_valid():
        contract = services.save_contract(contract=form.save(commit=False))
        messages.success(
            request,
            gettext("Contract %(reference)s created: now add its services.")
            % {"reference": contract.reference},
        )
        return redirect(detail_url(contract, "services"))
    return render(request, "contracts/contract_form.html", {"form": form, "contract": None})


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    form = ContractForm(
        request.POST or None,
        instance=contract,
        providers=organizations_of(request.user, PROVIDER),
        all_customers=request.user.is_staff,
    )
    if request.method == "POST" and form.is_valid():
        services.save_contract(contract=form.save(commit=False))
        messages.success(
            request, gettext("Contract %(reference)s saved.") % {"reference": contract.reference}
        )
        return redirect(detail_url(contract))
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
    level_label: str  # the source's level alone: "corporate", "contract-wide"
    overrides: str
    # How the objective is fed automatically (a Prometheus pull), for the provider's eyes.
    feed: hooks.ObjectiveFeed | None = None
    new_feed_url: str | None = None


@dataclass
class ServiceObjectives:
    contract_service: ContractService
    rows: list[ObjectiveRow]


def _short(sl: ServiceLevel) -> str:
    """An overridden objective in a few words: "corporate (at least 99.9)"."""
    if not sl.enabled:
        return gettext("%(level)s (removed)") % {"level": LEVEL_NAMES[sl.level]}
    return f"{LEVEL_NAMES[sl.level]} ({sl.get_comparator_display()} {sl.target.normalize():f})"


def _service_objectives(
    contract: Contract, feeds: hooks.Feeds | None = None, user: User | None = None
) -> list[ServiceObjectives]:
    period = contract.settlement_period
    fed = feeds.objective_feeds(contract, user) if feeds and user else {}
    new_feed_url = feeds.new_feed_url(contract, user) if feeds and user else None
    result = []
    for effective in effective_service_levels(contract):
        cs = effective.contract_service
        rows = []
        for key, ranked in effective.candidates.items():
            winner = ranked[0]
            rows.append(
                ObjectiveRow(
                    service_level=winner,
                    sentence=sentence(winner, cs.service.name, period),
                    effective=winner.enabled,
                    inherited=winner.level != ServiceLevel.Level.CONTRACT_SERVICE,
                    source=winner.level,
                    source_label=(
                        gettext("inherited: %(level)s") % {"level": LEVEL_NAMES[winner.level]}
                        if winner.level != "contract_service"
                        else str(LEVEL_NAMES[winner.level])
                    ),
                    level_label=str(LEVEL_NAMES[winner.level]),
                    overrides=", ".join(_short(sl) for sl in ranked[1:]),
                    feed=fed.get((cs.pk, key)),
                    new_feed_url=(
                        f"{new_feed_url}{urlencode({'contract_service': cs.pk, 'key': key})}"
                        if new_feed_url
                        and winner.enabled
                        and (cs.pk, key) not in fed
                        and winner.indicator in feeds.indicators
                        else None
                    ),
                )
            )
        result.append(ServiceObjectives(contract_service=cs, rows=rows))
    return result


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one contract; edit controls only for the provider's editors."""
    contract = readable_contract(request, pk)
    settlement = hooks.settlement()
    editable = can_edit(request.user, contract)
    provider_side = organizations_of(request.user).filter(pk=contract.provider_id).exists()
    feeds = hooks.feeds() if provider_side else None
    contract_objectives = ServiceLevel.objects.filter(
        contract=contract, level=ServiceLevel.Level.CUSTOMER
    ).order_by("key")
    responsibilities = contract.responsibilities.prefetch_related(
        "service_levels", Prefetch("lapses", ResponsibilityLapse.objects.order_by("-start"))
    )
    context = {
        "contract": contract,
        "can_edit": editable,
        "provider_side": provider_side,
        "service_objectives": _service_objectives(contract, feeds, request.user),
        "contract_objectives": [
            (sl, sentence(sl, gettext("each service"), contract.settlement_period))
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
            settlement.early_warnings(contract, 50) if settlement and provider_side else []
        ),
        "statements": (
            settlement.statements(contract, request.user, PREVIEW_PERIODS) if settlement else []
        ),
        "statement_list_url": _reverse_or_none("statement-list"),
        "attainment_charts": (
            settlement.attainment_charts(contract, request.user) if settlement else ""
        ),
        "level_names": LEVEL_NAMES,
        "terms_timeline": terms_timeline(contract),
        "chronic_failures": settlement.chronic_failures(contract) if settlement else [],
    }
    if editable:
        if settlement is not None:
            choices = settlement.settle_choices(contract, PREVIEW_PERIODS)
            context["settle_form"] = SettleForm(periods=choices)
        context["provider_objectives_url"] = reverse(
            "objective-list", args=[contract.provider.slug]
        )
    return render(request, "contracts/contract_detail.html", context)


@login_required
@in_zone
def contract_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """The SLA schedule: the agreement in plain language, as the customer signs it."""
    contract = readable_contract(request, pk)
    contract_services = list(contract.services.select_related("service").order_by("service__code"))
    fees_total = sum((cs.fee for cs in contract_services), Decimal(0))
    return render(
        request,
        "contracts/contract_schedule.html",
        {
            "contract": contract,
            "contract_services": contract_services,
            "fees_total": fees_total,
            "at_risk": engine.at_risk_amount(
                contract.credit_cap_percent, fees_total, contract.currency
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
