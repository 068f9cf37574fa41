"""The objectives a responsibility may affect are those that apply to its contract, at
any level of the hierarchy, in force or not (``contracts.selectors``): the browser's
form and the API accept and refuse the same ones."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.models import Responsibility, ServiceLevel
from contracts.selectors import objectives_applying_to
from tests.api.conftest import client_for, url
from tests.factories import ServiceFactory, ServiceLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objectives(personas):
    """One objective per place in the hierarchy, by name, with whether it applies to
    ACME-1."""
    provider, contract = personas.provider, personas.contract
    cs = contract.services.get()
    elsewhere = ServiceFactory(provider=provider, code="elsewhere")
    made = {
        "corporate": (ServiceLevelFactory(provider=provider, key="a"), True),
        "corporate, not in force": (
            ServiceLevelFactory(provider=provider, key="b", enabled=False),
            True,
        ),
        "its service": (
            ServiceLevelFactory(provider=provider, level="service", service=cs.service, key="c"),
            True,
        ),
        "a service it does not include": (
            ServiceLevelFactory(provider=provider, level="service", service=elsewhere, key="d"),
            False,
        ),
        "the contract": (
            ServiceLevelFactory(provider=provider, level="customer", contract=contract, key="e"),
            True,
        ),
        "the contract's service": (
            ServiceLevelFactory(
                provider=provider,
                level="contract_service",
                contract=contract,
                service=cs.service,
                key="f",
            ),
            True,
        ),
        "another contract of the provider": (
            ServiceLevelFactory(
                provider=provider,
                level="customer",
                contract=personas.draft_contract,
                key="g",
                target=Decimal("95"),
            ),
            False,
        ),
        "another provider": (ServiceLevelFactory(provider=personas.other_provider, key="h"), False),
    }
    return made


def test_the_objectives_applying_to_a_contract_are_those_of_its_hierarchy(personas, objectives):
    applying = {sl for sl, applies in objectives.values() if applies}
    assert set(objectives_applying_to(personas.contract)) == applying


@pytest.mark.parametrize(
    "place",
    [
        "corporate",
        "corporate, not in force",
        "its service",
        "a service it does not include",
        "the contract",
        "the contract's service",
        "another contract of the provider",
        "another provider",
    ],
)
def test_browser_and_api_accept_and_refuse_the_same_objectives(personas, client, objectives, place):
    objective, applies = objectives[place]
    editor = personas.provider_editor
    client.force_login(editor)
    api_response = client_for(editor).post(
        url("responsibility"),
        {
            "contract": personas.contract.pk,
            "title": "Via the API",
            "service_levels": [objective.pk],
        },
    )
    browser_response = client.post(
        reverse("responsibility-create", args=[personas.contract.pk]),
        {"title": "In the browser", "description": "", "service_levels": [objective.pk]},
    )
    assert (api_response.status_code == 201) == applies
    assert (browser_response.status_code == 302) == applies
    if not applies:
        assert "service_levels" in api_response.json()
        assert "service_levels" in browser_response.context["form"].errors
    linked = Responsibility.objects.filter(contract=personas.contract, service_levels=objective)
    assert linked.count() == 2 * applies


def test_editing_a_responsibility_in_the_browser_keeps_its_objective_not_in_force(
    personas, client, objectives
):
    off, _ = objectives["corporate, not in force"]
    responsibility = Responsibility.objects.create(contract=personas.contract, title="Access")
    responsibility.service_levels.add(off)
    client.force_login(personas.provider_editor)
    edit = reverse("responsibility-edit", args=[personas.contract.pk, responsibility.pk])
    page = client.get(edit)
    assert "not in force" in page.content.decode()
    response = client.post(edit, {"title": "Site access", "service_levels": [off.pk]})
    assert response.status_code == 302
    assert list(responsibility.service_levels.all()) == [off]
    assert ServiceLevel.objects.get(pk=off.pk).enabled is False
