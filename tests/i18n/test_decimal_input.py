"""Decimal inputs in the reader's number format: a German reader types 1,5 or 1.234,56 where
an English one types 1.5 or 1,234.56, and the same Decimal is saved; stored values come back
in the reader's format; what cannot be read, or could be read two ways, is a form error
beside the input, in the reader's language, and nothing changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from contracts.models import Contract, ContractService, ServiceLevel
from credits.models import Dispute
from people.models import Profile
from tests.contracts.test_views_objectives import create_url, objective_data
from tests.credits.test_views_support import (
    LineSpec,
    availability_objective,
    customer_editor,
    make_statement,
)
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    """The contract's start (1 Dec 2026) and the disputed January statement judged on a
    fixed day, not today's: how far back a start date may go depends on the date."""
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):
        yield


GERMAN_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def reader(user, language: str) -> Client:
    """A signed-in client reading in ``language``: a German reader chose German in their
    profile, an English one reads what their browser asks."""
    if language == "de":
        Profile.objects.update_or_create(user=user, defaults={"language": "de"})
        client = Client()
    else:
        client = Client(**ENGLISH_BROWSER)
    client.force_login(user)
    return client


def contract_data(personas, **overrides) -> dict[str, object]:
    data = {
        "provider": personas.provider.pk,
        "customer": personas.customer.pk,
        "reference": "ACME-9",
        "title": "Managed Wi-Fi",
        "currency": "EUR",
        "status": "draft",
        "start_date": "2026-12-01",
        "end_date": "",
        "settlement_period": "month",
        "timezone": "Europe/Berlin",
        "credit_cap_percent": "15",
        "minimum_credit": "",
        "settlement_delay_days": "2",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- saved alike


@pytest.mark.parametrize(
    ("language", "cap", "minimum"),
    [
        ("de", "12,5", "1.234,56"),
        ("de", "12,5", "1234,56"),
        # A dot that cannot separate thousands is a decimal point in German too.
        ("de", "12.5", "1.234,56"),
        ("en", "12.5", "1234.56"),
        ("en", "12.5", "1,234.56"),
    ],
)
def test_the_contract_header_saves_the_same_decimals_in_either_language(
    personas, language, cap, minimum
):
    client = reader(personas.provider_editor, language)
    response = client.post(
        reverse("contract-create"),
        contract_data(personas, credit_cap_percent=cap, minimum_credit=minimum),
    )
    assert response.status_code == 302, response.context["form"].errors
    contract = Contract.objects.get(reference="ACME-9")
    assert contract.credit_cap_percent == Decimal("12.5")
    assert contract.minimum_credit == Decimal("1234.56")


@pytest.mark.parametrize(("language", "fee", "shown"), [("de", "1,5", "1,5"), ("en", "1.5", "1.5")])
def test_a_services_fee_is_saved_alike_and_shown_again_in_the_readers_format(
    personas, language, fee, shown
):
    service = ServiceFactory(provider=personas.provider, name="Managed firewall")
    client = reader(personas.provider_editor, language)
    url = reverse("contract-service-create", args=[personas.contract.pk])
    assert client.post(url, {"service": service.pk, "fee": fee}).status_code == 302
    cs = ContractService.objects.get(contract=personas.contract, service=service)
    assert cs.fee == Decimal("1.5")
    edit = reverse("contract-service-edit", args=[personas.contract.pk, cs.pk])
    page = client.get(edit).content.decode()
    # The column's 1.50 without its trailing zero, in a text input with the decimal keypad.
    assert f'name="fee" value="{shown}"' in page
    assert 'inputmode="decimal"' in page


@pytest.mark.parametrize(
    ("language", "typed"),
    [
        (
            "de",
            {
                "target": "99,5",
                "step": "0,5",
                "step_percent": "1,5",
                "step_max_percent": "12,25",
                # Another kind's leftover is not read, whatever it says.
                "factor": "1.234",
            },
        ),
        (
            "en",
            {
                "target": "99.5",
                "step": "0.5",
                "step_percent": "1.5",
                "step_max_percent": "12.25",
                "factor": "abc",
            },
        ),
    ],
)
def test_an_objective_and_its_credit_rule_are_saved_alike_in_either_language(
    personas, language, typed
):
    client = reader(personas.provider_editor, language)
    response = client.post(
        create_url(personas.contract), objective_data(rule_kind="per_step", **typed)
    )
    assert response.status_code == 302, response.context["form"].errors
    sl = ServiceLevel.objects.get(contract=personas.contract, key="report-delivery")
    assert sl.target == Decimal("99.5")
    assert sl.credit_rule == {
        "kind": "per_step",
        "step": "0.5",
        "percent": "1.5",
        "max_percent": "12.25",
    }
    page = client.get(
        reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    ).content.decode()
    point = "," if language == "de" else "."
    assert f'name="target" value="99{point}5"' in page
    assert f'name="step" value="0{point}5"' in page
    assert f'name="step_max_percent" value="12{point}25"' in page


def test_a_tiered_rules_bounds_are_read_in_german(personas):
    client = reader(personas.provider_editor, "de")
    tiers = [{"bound": "99,9", "percent": "10"}, {"bound": "99", "percent": "30,5"}]
    response = client.post(
        create_url(personas.contract), objective_data(rule_kind="tiered", tiers=tiers)
    )
    assert response.status_code == 302, response.context["form"].errors
    sl = ServiceLevel.objects.get(contract=personas.contract, key="report-delivery")
    assert sl.credit_rule["tiers"] == [
        {"bound": "99.9", "percent": "10"},
        {"bound": "99", "percent": "30.5"},
    ]
    page = client.get(
        reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    ).content.decode()
    assert 'name="tiers-0-bound" value="99,9"' in page
    assert 'name="tiers-1-percent" value="30,5"' in page


@pytest.mark.parametrize(("language", "amount"), [("de", "99,95"), ("en", "99.95")])
def test_an_agreed_adjustment_is_read_in_the_readers_format(personas, language, amount):
    availability_objective(personas)
    statement = make_statement(
        personas.contract,
        period_start=date(2026, 1, 1),
        lines=[LineSpec(personas.contract.services.get(), Decimal("20.00"))],
    )
    line = statement.lines.get()
    customer = reader(customer_editor(personas), "en")
    customer.post(reverse("dispute-open", args=[line.pk]), {"reason": "Planned maintenance."})
    dispute = Dispute.objects.get(line=line)
    provider = reader(personas.provider_editor, language)
    response = provider.post(
        reverse("dispute-resolve", args=[dispute.pk]),
        {
            "status": "accepted",
            "resolution": "Agreed.",
            "remedy": "adjustment",
            "adjustment_amount": amount,
        },
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.adjustment_amount == Decimal("99.95")


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("language", "typed", "message"),
    [
        ("de", "abc", "Bitte eine Zahl eingeben."),
        ("de", "1,5,5", "Bitte eine Zahl eingeben."),
        ("de", "１２", "Bitte eine Zahl eingeben."),
        (
            "de",
            "1.234",
            "„1.234“ ist mehrdeutig: Schreiben Sie 1234 für die ganze Zahl oder 1,234 für "
            "die Dezimalzahl.",
        ),
        ("en", "1,5", "Enter a number."),
        (
            "en",
            "1,234",
            "“1,234” is ambiguous: write 1234 for the whole number or 1.234 for the decimal.",
        ),
    ],
)
def test_a_fee_that_cannot_be_read_one_way_is_refused_beside_it_and_nothing_changes(
    personas, language, typed, message
):
    cs = personas.contract.services.get()
    before = cs.fee
    client = reader(personas.provider_editor, language)
    edit = reverse("contract-service-edit", args=[personas.contract.pk, cs.pk])
    response = client.post(edit, {"service": "", "fee": typed})
    assert response.status_code == 200
    assert response.context["form"].errors["fee"] == [message]
    page = response.content.decode()
    assert 'id="id_fee_error"' in page
    # What was typed is shown again as typed.
    assert f'name="fee" value="{typed}"' in page
    cs.refresh_from_db()
    assert cs.fee == before


def test_an_ambiguous_rule_parameter_is_refused_beside_its_input(personas):
    client = reader(personas.provider_editor, "de")
    response = client.post(
        create_url(personas.contract),
        objective_data(rule_kind="linear", factor="1.234", target="99,5"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["factor"] == [
        "„1.234“ ist mehrdeutig: Schreiben Sie 1234 für die ganze Zahl oder 1,234 für "
        "die Dezimalzahl."
    ]
    assert 'id="id_factor_error"' in response.content.decode()
    assert not ServiceLevel.objects.filter(contract=personas.contract).exists()


def test_garbage_in_a_german_contract_header_saves_nothing(personas):
    client = reader(personas.provider_editor, "de")
    response = client.post(
        reverse("contract-create"),
        contract_data(personas, credit_cap_percent="zwölf", minimum_credit="1.000"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["credit_cap_percent"] == ["Bitte eine Zahl eingeben."]
    assert "mehrdeutig" in errors["minimum_credit"][0]
    assert not Contract.objects.filter(reference="ACME-9").exists()
