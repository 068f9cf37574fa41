"""Browser, API and admin ask the same question of every change of a fee or an objective:
an amendment from a period start, or a correction; and both parties read the timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts.models import ContractService, ServiceLevel, TermsChange
from tests.api.conftest import client_for, url
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 10, 20, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(db):
    # After the database is set up: its setup must not see a stopped clock.
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def cs(personas) -> ContractService:
    return personas.contract.services.get()


@pytest.fixture
def level(personas) -> ServiceLevel:
    return ServiceLevelFactory(
        provider=personas.provider,
        level="customer",
        contract=personas.contract,
        key="report-delivery",
        indicator="ratio",
        target=Decimal("99"),
        credit_rule={"kind": "flat", "percent": "5"},
    )


def test_api_a_fee_changed_without_saying_is_an_amendment_from_the_next_period(personas, cs):
    response = client_for(personas.provider_editor).patch(
        url("contractservice", cs.pk), {"fee": "1200.00"}, format="json"
    )

    assert response.status_code == 200, response.json()
    change = TermsChange.objects.get(kind="amendment")
    assert (change.effective_from, change.terms, change.made_by) == (
        date(2026, 11, 1),
        {"fee": "1200"},
        personas.provider_editor,
    )


def test_api_a_correction_of_an_objective_is_kept_with_its_note(personas, level):
    response = client_for(personas.provider_editor).patch(
        url("servicelevel", level.pk),
        {"target": "98", "change": "correction", "change_note": "The contract says 98."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    change = TermsChange.objects.get(kind="correction")
    assert (change.effective_from, change.terms["target"], change.note) == (
        None,
        "98",
        "The contract says 98.",
    )


@pytest.mark.parametrize(
    ("effective_from", "words"),
    [("2026-11-15", "inside the period"), ("2026-09-01", "cannot reach a period that has begun")],
)
def test_api_an_amendment_from_a_wrong_day_is_a_400_beside_the_field_and_changes_nothing(
    personas, cs, effective_from, words
):
    response = client_for(personas.provider_editor).patch(
        url("contractservice", cs.pk),
        {"fee": "1200.00", "effective_from": effective_from},
        format="json",
    )

    assert response.status_code == 400
    assert words in response.json()["effective_from"][0]
    cs.refresh_from_db()
    assert cs.fee == Decimal("1000.00")
    assert not TermsChange.objects.exists()


def test_api_an_unknown_kind_of_change_is_a_400(personas, cs):
    response = client_for(personas.provider_editor).patch(
        url("contractservice", cs.pk), {"fee": "1200.00", "change": "later"}, format="json"
    )

    assert response.status_code == 400
    assert "change" in response.json()


def test_api_both_parties_read_the_timeline_and_outsiders_get_404(personas, cs):
    client_for(personas.provider_editor).patch(
        url("contractservice", cs.pk), {"fee": "1200.00"}, format="json"
    )
    path = url("contract", personas.contract.pk, "terms")

    for user in (personas.provider_viewer, personas.customer_member):
        body = client_for(user).get(path).json()
        assert [(row["kind"], row["effective_from"]) for row in body] == [
            ("original", None),
            ("amendment", "2026-11-01"),
        ]
        assert body[1]["item"].startswith("Fee of ")
    assert client_for(personas.other_customer_member).get(path).status_code == 404


def test_browser_the_fee_form_asks_and_shows_a_wrong_date_beside_the_field(client, personas, cs):
    client.force_login(personas.provider_editor)
    path = reverse("contract-service-edit", args=[personas.contract.pk, cs.pk])

    page = client.get(path).content.decode()
    assert 'name="change"' in page and 'name="effective_from"' in page
    refused = client.post(
        path,
        {
            "service": cs.service_id,
            "fee": "1200.00",
            "change": "amendment",
            "effective_from": "2026-11-15",
        },
    )
    assert refused.status_code == 200
    assert "inside the period starting 2026-11-01" in refused.content.decode()
    assert not TermsChange.objects.exists()

    done = client.post(path, {"service": cs.service_id, "fee": "1100.00", "change": "correction"})
    assert done.status_code == 302
    assert TermsChange.objects.filter(kind="correction", terms={"fee": "1100"}).exists()


def test_admin_a_fee_corrected_in_the_admin_is_a_correction(client, personas, cs):
    client.force_login(personas.operator)
    path = reverse("admin:contracts_contractservice_change", args=[cs.pk])

    response = client.post(
        path,
        {
            "contract": personas.contract.pk,
            "service": cs.service_id,
            "fee": "1100.00",
            "change": "correction",
            "effective_from": "",
            "change_note": "Typo in the order form.",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    change = TermsChange.objects.get(kind="correction")
    assert (change.terms, change.note, change.made_by) == (
        {"fee": "1100"},
        "Typo in the order form.",
        personas.operator,
    )
