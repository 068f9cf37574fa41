"""Reads of the customers' claims of outages the provider did not record."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from contracts.models import Contract, ContractService, Organization
from contracts.querysets import organizations_edited_by
from credits.models import Claim, Statement

if TYPE_CHECKING:
    from contracts.querysets import User


def claim_list(
    user: User,
    *,
    status: str | None = None,
    contract: Contract | int | None = None,
    period: date | None = None,
) -> QuerySet[Claim]:
    """Claims on the contracts the user may read, newest first; ``period``: those of the
    period containing that day."""
    claims = Claim.objects.visible_to(user)
    if status:
        claims = claims.filter(status=status)
    if contract is not None:
        claims = claims.filter(contract_service__contract=contract)
    if period is not None:
        claims = claims.filter(period_start__lte=period, period_end__gte=period)
    return claims.select_related(
        "contract_service__contract__provider",
        "contract_service__contract__customer",
        "contract_service__service",
        "filed_by",
        "resolved_by",
        "incident",
    ).order_by("-filed_at", "-id")


def get_claim(user: User, pk: int) -> Claim:
    """One claim the user may read; ``Claim.DoesNotExist`` otherwise, as for a wrong id."""
    return claim_list(user).get(pk=pk)


def claimable_services(user: User) -> QuerySet[ContractService]:
    """The contract services the user may file a claim on: those of contracts that allow
    claims, whose customer the user edits for."""
    customers = organizations_edited_by(user, Organization.Kind.CUSTOMER)
    return (
        ContractService.objects.visible_to(user)
        .filter(contract__customer__in=customers, contract__claim_window_days__gt=0)
        .select_related("contract", "service")
        .order_by("contract__reference", "service__name")
    )


def claim_revisions(claim: Claim) -> list[Statement]:
    """The statements whose rows cite the claim: the revisions its acceptance issued."""
    return list(Statement.objects.filter(adjustments__claim=claim).distinct().order_by("revision"))
