"""Claims: a customer editor files one for an outage the provider did not record; the
provider accepts or rejects it; both parties follow them on a list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from contracts.models import ContractService, Organization
from contracts.querysets import may_edit
from credits import selectors, services
from credits.forms import ClaimFilterForm, ClaimForm, ResolveClaimForm, add_service_errors
from credits.models import Claim

CLAIMS_PER_PAGE = 50


def _claim_or_404(request: HttpRequest, pk: int) -> Claim:
    try:
        return selectors.get_claim(request.user, pk)
    except Claim.DoesNotExist:
        raise Http404("No such claim.") from None


@login_required
def claim_list(request: HttpRequest) -> HttpResponse:
    """Every claim on the user's contracts, filtered by status, contract and period."""
    form = ClaimFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    claims = selectors.claim_list(
        request.user,
        status=filters.get("status") or None,
        contract=filters.get("contract"),
        period=filters.get("period"),
    )
    page = Paginator(claims, CLAIMS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "credits/claim_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_file": selectors.claimable_services(request.user).exists(),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@login_required
def claim_new(request: HttpRequest) -> HttpResponse:
    """A customer editor files a claim; refusals come back beside the field (400)."""
    claimable = selectors.claimable_services(request.user)
    if not claimable.exists():
        raise PermissionDenied(
            gettext(
                "Only the admins and editors of a customer whose contract allows claims file them."
            )
        )
    form = ClaimForm(request.POST or None, services=claimable)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                claim = services.file_claim(
                    contract_service=data["contract_service"],
                    user=request.user,
                    started_at=data["started_at"],
                    ended_at=data["ended_at"],
                    description=data["description"],
                )
            except ContractService.DoesNotExist:
                raise Http404("No such service.") from None
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("Your claim is filed; the provider has been told.")
                )
                return redirect("claim-detail", pk=claim.pk)
        return render(request, "credits/claim_form.html", {"form": form}, status=400)
    return render(request, "credits/claim_form.html", {"form": form})


def _detail(
    request: HttpRequest, claim: Claim, form: ResolveClaimForm | None = None, status: int = 200
) -> HttpResponse:
    contract = claim.contract_service.contract
    can_resolve = claim.status == Claim.Status.OPEN and may_edit(
        request.user, contract.provider_id, kind=Organization.Kind.PROVIDER
    )
    return render(
        request,
        "credits/claim_detail.html",
        {
            "claim": claim,
            "contract": contract,
            "deadline": services.claim_deadline_of(claim),
            "revisions": selectors.claim_revisions(claim),
            "form": (form or ResolveClaimForm()) if can_resolve else None,
        },
        status=status,
    )


@login_required
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A claim, its outcome and the revisions citing it; the provider's decision form."""
    return _detail(request, _claim_or_404(request, pk))


@login_required
@require_POST
def claim_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider accepts or rejects a claim (a rejection with its reason)."""
    claim = _claim_or_404(request, pk)
    form = ResolveClaimForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_claim(
                claim=claim,
                user=request.user,
                status=form.cleaned_data["status"],
                resolution=form.cleaned_data["resolution"],
            )
        except Claim.DoesNotExist:
            raise Http404("No such claim.") from None
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, gettext("The claim is decided; the customer has been told."))
            return redirect(reverse("claim-detail", args=[claim.pk]))
    return _detail(request, _claim_or_404(request, pk), form, status=400)
