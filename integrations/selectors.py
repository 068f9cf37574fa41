"""Reads of the integrations app: what the integrations page, the API and the services
read, each scoped by the caller or by the organisation the integration belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, QuerySet

from contracts.models import ContractService, Organization, Ticket, TicketEvent
from contracts.querysets import may_edit, organizations_of
from integrations.models import (
    AlertMapping,
    IntegrationEvent,
    PrometheusPull,
    PrometheusSource,
    Receiver,
)

if TYPE_CHECKING:
    from contracts.querysets import User


@dataclass(frozen=True)
class StoredTicket:
    first_response_at: datetime | None
    events: list[tuple[datetime, str]]


def stored_ticket(contract_service_id: int, reference: str) -> StoredTicket | None:
    """A ticket as stored (its first response and its events, oldest first), or None."""
    ticket = (
        Ticket.objects.filter(contract_service_id=contract_service_id, reference=reference)
        .only("pk", "first_response_at")
        .first()
    )
    if ticket is None:
        return None
    events = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("at", "pk").values_list("at", "status")
    )
    return StoredTicket(ticket.first_response_at, events)


def contract_service_ids_of(organization_id: int) -> set[int]:
    """The contract services of the provider's contracts."""
    return set(
        ContractService.objects.filter(contract__provider_id=organization_id).values_list(
            "pk", flat=True
        )
    )


def provider_of(user: User, slug: str) -> Organization | None:
    """A provider the user belongs to (any provider, for staff), by its slug."""
    return organizations_of(user, Organization.Kind.PROVIDER).filter(slug=slug).first()


def providers_of(user: User) -> QuerySet[Organization]:
    return organizations_of(user, Organization.Kind.PROVIDER)


@dataclass
class IntegrationsPage:
    organization: Organization
    can_edit: bool
    receivers: list[Receiver]
    sources: list[PrometheusSource]
    pulls: list[PrometheusPull]
    events: QuerySet[IntegrationEvent]
    refused_count: int


def integrations_page(user: User, organization: Organization) -> IntegrationsPage:
    receivers = list(
        Receiver.objects.visible_to(user)
        .filter(organization=organization)
        .select_related("acting_user")
        .prefetch_related(
            Prefetch(
                "mappings",
                queryset=AlertMapping.objects.select_related(
                    "contract_service__contract", "contract_service__service"
                ),
            )
        )
        .order_by("name")
    )
    _name_contract_services(receivers)
    sources = list(
        PrometheusSource.objects.visible_to(user)
        .filter(organization=organization)
        .annotate(pull_count=Count("pulls"))
        .order_by("name")
    )
    pulls = list(
        PrometheusPull.objects.visible_to(user)
        .filter(source__organization=organization)
        .select_related("source", "contract_service__contract", "contract_service__service")
        .order_by("source__name", "key", "pk")
    )
    events = recent_events(user, organization)
    refused = IntegrationEvent.objects.filter(
        pk__in=events.values("pk"),
        outcome__in=[IntegrationEvent.Outcome.REFUSED, IntegrationEvent.Outcome.PARTLY],
    )
    return IntegrationsPage(
        organization=organization,
        can_edit=may_edit(user, organization, kind=Organization.Kind.PROVIDER),
        receivers=receivers,
        sources=sources,
        pulls=pulls,
        events=events,
        refused_count=refused.count(),
    )


def _name_contract_services(receivers: list[Receiver]) -> None:
    """Give each ticket receiver ``mapped_contract_services``: its projects or groups with
    the contract service each maps to, in words (one query for all receivers)."""
    ids = {
        cs_id
        for r in receivers
        for cs_id in (r.ticket_settings or {}).get("contract_services", {}).values()
    }
    names = {
        cs.pk: f"{cs.contract.reference} · {cs.service.name}"
        for cs in ContractService.objects.filter(pk__in=ids).select_related("contract", "service")
    }
    for r in receivers:
        table = (r.ticket_settings or {}).get("contract_services", {})
        r.mapped_contract_services = [
            (name, names.get(cs_id, f"contract service {cs_id}")) for name, cs_id in table.items()
        ]


def recent_events(user: User, organization: Organization) -> QuerySet[IntegrationEvent]:
    """The organisation's last 1,000 events, newest first."""
    ids = (
        IntegrationEvent.objects.visible_to(user)
        .filter(organization=organization)
        .order_by("-at", "-pk")
        .values("pk")[: IntegrationEvent.KEPT]
    )
    return (
        IntegrationEvent.objects.filter(pk__in=ids)
        .select_related("receiver", "pull")
        .order_by("-at", "-pk")
    )
