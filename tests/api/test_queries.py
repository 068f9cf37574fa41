"""Every list endpoint runs a fixed number of queries whatever the number of rows: an
N+1 shows up here as a failing test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.models import (
    Incident,
    MaintenanceWindow,
    Measurement,
    Responsibility,
    ResponsibilityLapse,
)
from credits.models import Dispute, Notification
from tests.api.conftest import at, client_for, make_statement, url
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    CustomerFactory,
    MembershipFactory,
    ServiceFactory,
    ServiceLevelFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = at("2026-01-01T00:00:00+00:00")


def _levels(p, i):
    ServiceLevelFactory(
        provider=p.provider,
        level="customer",
        contract=p.contract,
        key=f"k{i}",
        credit_rule={"kind": "tiered", "tiers": [{"bound": "99", "percent": "10"}]},
    )


def _responsibility(p, i):
    responsibility = Responsibility.objects.create(contract=p.contract, title=f"R{i}")
    responsibility.service_levels.add(
        ServiceLevelFactory(provider=p.provider, key=f"r{i}a"),
        ServiceLevelFactory(provider=p.provider, key=f"r{i}b"),
    )


def _lapse(p, i):
    responsibility = Responsibility.objects.filter(contract=p.contract).first()
    if responsibility is None:
        responsibility = Responsibility.objects.create(contract=p.contract, title="R")
    ResponsibilityLapse.objects.create(
        responsibility=responsibility,
        start=START + timedelta(hours=i),
        end=START + timedelta(hours=i, minutes=30),
    )


def _statement(p, i):
    cs = p.contract.services.get()
    level = ServiceLevelFactory(provider=p.provider, key=f"s{i}")
    other = ServiceLevelFactory(provider=p.provider, key=f"t{i}")
    lines = [(level, Decimal("99"), Decimal("10")), (other, None, Decimal("0"))]
    return make_statement(p.contract, cs, lines, period_start=date(2020 + i // 12, i % 12 + 1, 1))


def _dispute(p, i):
    _, (line, _) = _statement(p, i)
    Dispute.objects.create(line=line, reason="Late", opened_by=p.customer_member)


ROWS: dict[str, tuple[str, Callable]] = {
    "organization": (
        "provider_viewer",
        lambda p, i: ContractFactory(provider=p.provider, customer=CustomerFactory()),
    ),
    "membership": (
        "provider_viewer",
        lambda p, i: MembershipFactory(user=UserFactory(), organization=p.provider),
    ),
    "service": ("provider_viewer", lambda p, i: ServiceFactory(provider=p.provider)),
    "contract": (
        "customer_member",
        lambda p, i: ContractFactory(provider=p.provider, customer=p.customer),
    ),
    "contractservice": (
        "customer_member",
        lambda p, i: ContractServiceFactory(contract=p.contract),
    ),
    "servicelevel": ("customer_member", _levels),
    "responsibility": ("customer_member", _responsibility),
    "responsibilitylapse": ("customer_member", _lapse),
    "maintenancewindow": (
        "customer_member",
        lambda p, i: MaintenanceWindow.objects.create(
            contract=p.contract, start=START, end=START + timedelta(hours=i + 1)
        ),
    ),
    "incident": (
        "customer_member",
        lambda p, i: Incident.objects.create(
            contract_service=p.contract.services.get(),
            started_at=START,
            ended_at=START + timedelta(minutes=i + 1),
        ),
    ),
    "measurement": (
        "customer_member",
        lambda p, i: Measurement.objects.create(
            contract_service=p.contract.services.get(),
            key="reports",
            observed_at=START + timedelta(minutes=i),
            ok=True,
        ),
    ),
    "statement": ("customer_member", _statement),
    "dispute": ("customer_member", _dispute),
    "notification": (
        "customer_member",
        lambda p, i: Notification.objects.create(
            user=p.customer_member, organization=p.customer, event="no_data", title=f"N{i}"
        ),
    ),
}

# Queries per page: its count (none for measurements), the page, prefetched lines or
# objectives, and for organisations the caller's administered ids (webhook visibility).
# Statements: the page with its count and stored documents in one query; those read for
# the first time are then loaded, rendered with their lines and the rows below them, and
# stored (+4). Disputes: the rows of the revisions that cite them (+1).
MAX_QUERIES = {
    "statement": 5,
    "dispute": 3,
    "responsibility": 3,
    "organization": 3,
    "measurement": 1,
}


@pytest.mark.parametrize("basename", ROWS)
def test_a_list_costs_the_same_for_5_rows_as_for_25(
    personas, django_assert_max_num_queries, basename
):
    persona, make = ROWS[basename]
    client = client_for(getattr(personas, persona))
    limit = MAX_QUERIES.get(basename, 2)
    counts = []
    made = 0
    for rows in (5, 25):
        while made < rows:
            make(personas, made)
            made += 1
        with django_assert_max_num_queries(limit) as captured:
            response = client.get(url(basename), {"page_size": 100})
        assert response.status_code == 200
        assert len(response.json()["results"]) >= rows
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_effective_service_levels_cost_the_same_for_5_services_as_for_25(
    personas, django_assert_max_num_queries
):
    contract = personas.contract
    client = client_for(personas.customer_member)
    path = url("contract", contract.pk, "effective-service-levels")
    counts = []
    for services in (5, 25):
        while contract.services.count() < services:
            cs = ContractServiceFactory(contract=contract)
            ServiceLevelFactory(
                provider=personas.provider, level="service", service=cs.service, key="speed"
            )
        with django_assert_max_num_queries(3) as captured:
            response = client.get(path)
        assert response.status_code == 200
        assert len(response.json()) == services
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_statements_read_again_come_from_their_stored_documents(
    personas, django_assert_num_queries
):
    from credits.models import StatementDocument

    for i in range(3):
        _statement(personas, i)
    client = client_for(personas.customer_member)
    first = client.get(url("statement"), {"page_size": 100}).json()
    assert StatementDocument.objects.count() == 3
    with django_assert_num_queries(1):  # the page, its count and its documents
        again = client.get(url("statement"), {"page_size": 100}).json()
    assert again == first
    one = first["results"][0]
    assert client.get(url("statement", one["id"])).json() == one
