"""Fixtures of the API tests: a world of one object of every kind on each side.

Acme (provider) ↔ Globex (customer) on ACME-1, plus Acme's draft ACME-DRAFT; Umbrella
(other provider) ↔ Initech (other customer) on UMB-1. Every resource has a row on each
side, so that every list can be counted exactly per persona.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from contracts.models import (
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from credits.models import Claim, Dispute, Notification, Statement, StatementLine
from tests.factories import ServiceLevelFactory

PERSONAS = (
    "anonymous",
    "provider_admin",
    "provider_editor",
    "provider_viewer",
    "customer_member",
    "other_customer_member",
    "other_provider_member",
    "operator",
)


PREFIXES = {
    "organization": "organizations",
    "membership": "members",
    "service": "services",
    "contract": "contracts",
    "contractservice": "contract-services",
    "servicelevel": "service-levels",
    "responsibility": "responsibilities",
    "responsibilitylapse": "responsibility-lapses",
    "maintenancewindow": "maintenance-windows",
    "incident": "incidents",
    "measurement": "measurements",
    "statement": "statements",
    "dispute": "disputes",
    "claim": "claims",
    "notification": "notifications",
    "invitation": "invitations",
    "webhook": "webhooks",
}


def url(basename: str, pk: Any = None, action: str | None = None) -> str:
    """The API path of a resource. Spelled out rather than reversed: the browser pages
    use some of the same URL names (contract-list, statement-detail…)."""
    path = f"/api/v1/{PREFIXES[basename]}/"
    if pk is not None:
        path += f"{pk}/"
    if action:
        path += f"{action}/"
    return path


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None and user.is_authenticated:
        client.force_authenticate(user)
    return client


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class World:
    p: Any
    service: Service
    other_service: Service
    cs: ContractService
    other_cs: ContractService
    availability: ServiceLevel
    reports: ServiceLevel
    draft_level: ServiceLevel
    other_level: ServiceLevel
    responsibility: Responsibility
    other_responsibility: Responsibility
    lapse: ResponsibilityLapse
    other_lapse: ResponsibilityLapse
    window: MaintenanceWindow
    draft_window: MaintenanceWindow
    other_window: MaintenanceWindow
    incident: Incident
    other_incident: Incident
    measurement: Measurement
    other_measurement: Measurement
    statement: Statement
    line: StatementLine
    free_line: StatementLine
    other_statement: Statement
    dispute: Dispute
    other_dispute: Dispute
    claim: Claim
    other_claim: Claim
    notifications: dict[str, Notification]

    def user(self, persona: str) -> Any:
        return getattr(self.p, persona)


def make_statement(
    contract, cs, lines, *, period_start=date(2026, 1, 1), revision=1, credit_total="300.000"
):
    """An issued statement with lines, straight through the ORM (settlement is elsewhere)."""
    statement = Statement.objects.create(
        contract=contract,
        period_start=period_start,
        period_end=period_start.replace(
            day=calendar.monthrange(period_start.year, period_start.month)[1]
        ),
        revision=revision,
        currency=contract.currency,
        fees_total=Decimal("3000.000"),
        at_risk_amount=Decimal("300.000"),
        credit_total=Decimal(credit_total),
        cap_adjustment=Decimal("-150.000"),
        fingerprint="f" * 64,
        issued_at=at("2026-02-03T06:00:00+00:00"),
    )
    made = []
    for level, attainment, amount in lines:
        made.append(
            StatementLine.objects.create(
                statement=statement,
                contract_service=cs,
                service_level=level,
                key=level.key,
                name=level.name,
                source_level=level.level,
                indicator=level.indicator,
                comparator=level.comparator,
                target=level.target,
                credit_rule=level.credit_rule,
                measure={"scheduled_seconds": 2584800, "downtime_seconds": 3000},
                attainment=attainment,
                met=attainment is not None and attainment >= level.target,
                fee=Decimal("3000.000"),
                credit_percent=Decimal("10.000000") if amount else Decimal("0"),
                amount=amount,
                explanation=f"{level.name}: explained.",
            )
        )
    return statement, made


@pytest.fixture
def world(personas) -> World:
    p = personas
    cs = ContractService.objects.select_related("service").get(contract=p.contract)
    other_cs = ContractService.objects.select_related("service").get(contract=p.other_contract)
    tiers = {
        "kind": "tiered",
        "tiers": [{"bound": "99.99", "percent": "10"}, {"bound": "99.0", "percent": "30"}],
    }
    availability = ServiceLevelFactory(
        provider=p.provider, key="availability", target=Decimal("99.99"), credit_rule=tiers
    )
    reports = ServiceLevelFactory(
        provider=p.provider,
        key="reports",
        name="Reports on time",
        indicator="ratio",
        target=Decimal("99.5"),
        credit_rule={"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None},
    )
    draft_level = ServiceLevelFactory(
        provider=p.provider,
        level="customer",
        contract=p.draft_contract,
        key="support",
        name="Support",
        indicator="ratio",
        target=Decimal("95"),
    )
    other_level = ServiceLevelFactory(provider=p.other_provider, key="availability")
    responsibility = Responsibility.objects.create(contract=p.contract, title="Name a contact")
    responsibility.service_levels.add(availability)
    other_responsibility = Responsibility.objects.create(
        contract=p.other_contract, title="Keep the racks cool"
    )
    # Each side gets the same row, so that every list counts one per side.
    lapse, other_lapse = (
        ResponsibilityLapse.objects.create(
            responsibility=r,
            start=at("2026-01-05T10:00:00+00:00"),
            end=at("2026-01-05T12:00:00+00:00"),
        )
        for r in (responsibility, other_responsibility)
    )
    window, draft_window, other_window = (
        MaintenanceWindow.objects.create(
            contract=c,
            start=at("2026-01-10T01:00:00+00:00"),
            end=at("2026-01-10T03:00:00+00:00"),
        )
        for c in (p.contract, p.draft_contract, p.other_contract)
    )
    incident, other_incident = (
        Incident.objects.create(
            contract_service=service,
            started_at=at("2026-01-12T08:00:00+00:00"),
            ended_at=at("2026-01-12T08:50:00+00:00"),
        )
        for service in (cs, other_cs)
    )
    measurement, other_measurement = (
        Measurement.objects.create(
            contract_service=service,
            key="reports",
            observed_at=at("2026-01-03T09:00:00+00:00"),
            ok=True,
        )
        for service in (cs, other_cs)
    )
    statement, (line, free_line) = make_statement(
        p.contract,
        cs,
        [
            (availability, Decimal("99.8839368616"), Decimal("300.000")),
            (reports, Decimal("99.6"), Decimal("0")),
        ],
    )
    other_statement, (other_line,) = make_statement(
        p.other_contract, other_cs, [(other_level, Decimal("99.5"), Decimal("100"))]
    )
    dispute = Dispute.objects.create(
        line=line, reason="The outage was announced.", opened_by=p.customer_member
    )
    other_dispute = Dispute.objects.create(
        line=other_line, reason="Not ours.", opened_by=p.other_customer_member
    )
    # ACME-1 and UMB-1 allow claims for 30 days after a period ends: one open claim each
    # (of January 2026, ACME-1's by its customer's member).
    for contract in (p.contract, p.other_contract):
        contract.claim_window_days = 30
        contract.save(update_fields=["claim_window_days"])
    claim, other_claim = (
        Claim.objects.create(
            contract_service=service,
            started_at=at("2026-01-20T10:00:00+00:00"),
            ended_at=at("2026-01-20T11:00:00+00:00"),
            description="Down, and nothing was recorded.",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 1, 31),
            filed_by=by,
            filed_at=at("2026-02-02T09:00:00+00:00"),
        )
        for service, by in ((cs, p.customer_member), (other_cs, p.other_customer_member))
    )
    notifications = {}
    for persona in PERSONAS[1:]:
        user = getattr(p, persona)
        notifications[persona] = Notification.objects.create(
            user=user,
            organization=p.provider,
            event=Notification.Event.STATEMENT_ISSUED,
            title=f"Statement for {user.username}",
        )
    return World(
        p=p,
        service=cs.service,
        other_service=other_cs.service,
        cs=cs,
        other_cs=other_cs,
        availability=availability,
        reports=reports,
        draft_level=draft_level,
        other_level=other_level,
        responsibility=responsibility,
        other_responsibility=other_responsibility,
        lapse=lapse,
        other_lapse=other_lapse,
        window=window,
        draft_window=draft_window,
        other_window=other_window,
        incident=incident,
        other_incident=other_incident,
        measurement=measurement,
        other_measurement=other_measurement,
        statement=statement,
        line=line,
        free_line=free_line,
        other_statement=other_statement,
        dispute=dispute,
        other_dispute=other_dispute,
        claim=claim,
        other_claim=other_claim,
        notifications=notifications,
    )
