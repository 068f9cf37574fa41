"""Objectives and services that issued statements refer to stay; everything else may go."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from contracts.models import ContractService, ServiceLevel
from contracts.services import delete_service_level, remove_contract_service
from credits.models import StatementLine
from credits.settlement import settle_period
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(personas):
    contract = personas.contract
    contract.start_date = date(2026, 9, 1)
    contract.save()
    cs = contract.services.get()
    objective = ServiceLevelFactory(
        provider=personas.provider,
        level="contract_service",
        contract=contract,
        service=cs.service,
        key="failed-reports",
        name="Failed reports",
        indicator="count",
        comparator="lte",
        target=Decimal("2"),
        credit_rule={"kind": "flat", "percent": "5"},
    )
    with time_machine.travel("2026-10-15T12:00:00Z"):
        settle_period(contract=contract, period_start=date(2026, 9, 1))
    assert StatementLine.objects.filter(service_level=objective).exists()
    return personas, cs, objective


def test_an_objective_on_an_issued_statement_cannot_be_deleted(settled):
    _, _, objective = settled
    with pytest.raises(ValidationError, match="switch it off"):
        delete_service_level(service_level=objective)
    assert ServiceLevel.objects.filter(pk=objective.pk).exists()


def test_an_objective_never_settled_can_be_deleted(personas):
    objective = ServiceLevelFactory(provider=personas.provider)
    delete_service_level(service_level=objective)
    assert not ServiceLevel.objects.filter(pk=objective.pk).exists()


def test_a_settled_service_cannot_be_removed_and_its_objectives_stay(settled):
    _, cs, objective = settled
    with pytest.raises(ValidationError, match="issued statements"):
        remove_contract_service(contract_service=cs)
    assert ContractService.objects.filter(pk=cs.pk).exists()
    assert ServiceLevel.objects.filter(pk=objective.pk).exists()


def test_deleting_a_settled_objective_in_the_browser_explains_why_not(client, settled):
    personas, _, objective = settled
    client.force_login(personas.provider_editor)
    url = reverse("contract-objective-delete", args=[personas.contract.pk, objective.pk])
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "switch it off" in response.content.decode()
    assert ServiceLevel.objects.filter(pk=objective.pk).exists()


def test_deleting_a_settled_objective_through_the_api_is_a_conflict(client, settled):
    personas, _, objective = settled
    client.force_login(personas.provider_editor)
    response = client.delete(f"/api/v1/service-levels/{objective.pk}/")
    assert response.status_code == 409
    assert ServiceLevel.objects.filter(pk=objective.pk).exists()
