"""Messages raised in code (the engine's credit-rule parameter errors, a service's refusal)
read in German for a German reader and stay English for an English one: each is translated
where it is raised, in the language of the request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from credits.services import resolve_claim
from credits.settlement import SettlementError
from credits.settlement.periods import period_of
from people.models import Profile
from tests.api.conftest import client_for, url
from tests.contracts.test_views_objectives import NOW, create_url, errors_of, objective_data
from tests.credits.settlement_book import at
from tests.terms.test_claims import FILED, claim_of, customer_editor, wan  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def _reader(user, language: str) -> Client:
    Profile.objects.create(user=user, language=language)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "factor muss eine Zahl sein, nicht 'abc'"),
        ("en", "factor must be a number, not 'abc'"),
    ],
)
def test_a_bad_credit_rule_parameter_is_shown_beside_its_input_in_the_readers_language(
    personas, language, expected
):
    reader = _reader(personas.provider_editor, language)
    response = reader.post(
        create_url(personas.contract), objective_data(rule_kind="linear", factor="abc")
    )
    assert errors_of(response)["factor"] == [expected]
    page = response.content.decode()
    assert 'id="id_factor_error"' in page
    assert expected.replace("'", "&#x27;") in page


def test_a_tier_error_names_its_tier_in_german(personas):
    reader = _reader(personas.provider_editor, "de")
    response = reader.post(
        create_url(personas.contract),
        objective_data(
            rule_kind="tiered",
            tiers=[{"bound": "99", "percent": "30"}, {"bound": "99.9", "percent": "10"}],
        ),
    )
    assert errors_of(response)["tiers"] == [
        "Stufe 2: Bei einem „mindestens“-Ziel muss jede Grenze niedriger sein als die davor"
    ]


def test_a_claim_decided_again_is_refused_in_german(personas, wan, customer_editor):  # noqa: F811
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))
    resolve_claim(
        claim=claim,
        user=personas.provider_editor,
        status="rejected",
        resolution="Our probes saw the WAN up.",
        now=FILED,
    )
    with translation.override("de"), pytest.raises(ValidationError) as german:
        resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)
    assert german.value.message_dict == {
        "status": ["Über diese Reklamation ist bereits entschieden."]
    }
    with translation.override("en"), pytest.raises(ValidationError) as english:
        resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)
    assert english.value.message_dict == {"status": ["This claim has already been decided."]}


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("de-DE,de;q=0.9", "factor muss größer als 0 sein"),
        ("en", "factor must be greater than 0"),
    ],
)
def test_an_api_400_for_a_rule_parameter_follows_accept_language(
    personas, accept_language, expected
):
    client = client_for(personas.provider_editor)
    body = {
        "level": "corporate",
        "key": "availability",
        "name": "Availability",
        "indicator": "uptime",
        "target": "99.9",
        "provider": personas.provider.pk,
        "credit_rule": {"kind": "linear", "factor": "-1"},
    }
    response = client.post(
        url("servicelevel"), body, format="json", HTTP_ACCEPT_LANGUAGE=accept_language
    )
    assert response.status_code == 400
    assert response.json() == {"credit_rule": [expected]}


def test_why_a_day_cannot_be_settled_reads_in_german_with_the_same_dates(personas):
    contract = personas.contract
    assert contract.settlement_period == "month"
    with translation.override("de"), pytest.raises(SettlementError) as german:
        period_of(contract, date(2026, 10, 2))
    assert str(german.value) == (
        f"2026-10-02 ist nicht der Beginn eines monatlichen Abrechnungszeitraums von "
        f"{contract.reference}: der Zeitraum, der ihn enthält, beginnt am 2026-10-01."
    )
    with translation.override("en"), pytest.raises(SettlementError) as english:
        period_of(contract, date(2026, 10, 2))
    assert str(english.value) == (
        f"2026-10-02 is not the start of a monthly settlement period of {contract.reference}: "
        "the period containing it starts on 2026-10-01."
    )


def test_a_contract_check_with_a_figure_reads_in_german(personas):
    contract = personas.contract
    contract.minimum_credit = Decimal("1.234")
    with translation.override("de"), pytest.raises(ValidationError) as german:
        contract.clean()
    assert german.value.message_dict["minimum_credit"] == [
        f"{contract.currency} hat höchstens 2 Nachkommastellen."
    ]
