"""Browser pages of the contracts app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contracts.models import Contract


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what the user's organisations are party to, by role."""
    memberships = list(request.user.memberships.select_related("organization"))
    contracts = (
        Contract.objects.visible_to(request.user)
        .select_related("provider", "customer")
        .order_by("reference")[:50]
    )
    is_provider = any(m.organization.kind == "provider" for m in memberships)
    return render(
        request,
        "contracts/home.html",
        {"contracts": contracts, "is_provider": is_provider, "user_memberships": memberships},
    )
