"""The JSON shapes clients rely on (SPEC §5): statements, effective objectives, credit
rules; and the 400s of rules that do not hold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.models import ServiceLevel
from tests.api.conftest import client_for, make_statement, url
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    ServiceFactory,
    ServiceLevelFactory,
)

pytestmark = pytest.mark.django_db


def test_a_statement_reads_exactly_as_the_spec_shows_it(personas):
    contract = personas.contract
    cs = contract.services.get()
    level = ServiceLevelFactory(
        provider=personas.provider,
        level="customer",
        contract=contract,
        key="availability",
        target=Decimal("99.99"),
        credit_rule={"kind": "tiered", "tiers": [{"bound": "99.99", "percent": "10"}]},
    )
    statement, (line,) = make_statement(
        contract,
        cs,
        [(level, Decimal("99.8839368616"), Decimal("300.000"))],
        period_start=date(2026, 10, 1),
    )

    response = client_for(personas.customer_member).get(url("statement", statement.pk))

    assert response.status_code == 200
    body = response.json()
    spec = {
        "id": statement.pk,
        "contract": contract.pk,
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "revision": 1,
        "status": "issued",
        "currency": "EUR",
        "issued_at": "2026-02-03T06:00:00Z",
        "fees_total": "3000.00",
        "credit_total": "300.00",
        "cap_adjustment": "-150.00",
    }
    assert {key: body[key] for key in spec} == spec
    spec_line = {
        "id": line.pk,
        "contract_service": cs.pk,
        "service_level": level.pk,
        "key": "availability",
        "source_level": "customer",
        "attainment": "99.884",
        "target": "99.99",
        "comparator": "gte",
        "met": False,
        "credit_percent": "10",
        "amount": "300.00",
        "explanation": "Availability: explained.",
    }
    (got,) = body["lines"]
    assert {key: got[key] for key in spec_line} == spec_line
    # More is welcome: the exact attainment, the prorated fee, the rule applied.
    assert got["attainment_exact"] == "99.8839368616"
    assert got["fee"] == "3000.00"
    assert got["credit_rule"] == {
        "kind": "tiered",
        "tiers": [{"bound": "99.99", "percent": "10"}],
    }


def test_a_line_without_data_has_a_null_attainment(personas):
    cs = personas.contract.services.get()
    level = ServiceLevelFactory(provider=personas.provider, key="reports", indicator="ratio")
    statement, _ = make_statement(personas.contract, cs, [(level, None, Decimal("0"))])
    body = client_for(personas.provider_viewer).get(url("statement", statement.pk)).json()
    assert body["lines"][0]["attainment"] is None
    assert body["lines"][0]["amount"] == "0.00"


def test_a_yen_statement_has_no_minor_unit(personas):
    contract = ContractFactory(
        provider=personas.provider, customer=personas.customer, currency="JPY"
    )
    cs = ContractServiceFactory(contract=contract, fee=Decimal("50000"))
    level = ServiceLevelFactory(provider=personas.provider, key="availability")
    statement, _ = make_statement(contract, cs, [(level, Decimal("99"), Decimal("5000"))])
    body = client_for(personas.provider_viewer).get(url("statement", statement.pk)).json()
    assert body["fees_total"] == "3000"
    assert body["lines"][0]["amount"] == "5000"


def test_statements_filter_by_period_and_latest_revision(personas):
    cs = personas.contract.services.get()
    level = ServiceLevelFactory(provider=personas.provider, key="availability")
    lines = [(level, Decimal("99"), Decimal("0"))]
    january, _ = make_statement(personas.contract, cs, lines, period_start=date(2026, 1, 1))
    january_2, _ = make_statement(
        personas.contract, cs, lines, period_start=date(2026, 1, 1), revision=2
    )
    march, _ = make_statement(personas.contract, cs, lines, period_start=date(2026, 3, 1))
    client = client_for(personas.customer_member)

    def ids(**params):
        response = client.get(url("statement"), params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert ids() == {january.pk, january_2.pk, march.pk}
    assert ids(latest="true") == {january_2.pk, march.pk}
    assert ids(latest="false") == {january.pk}
    assert ids(period_start="2026-01-01") == {january.pk, january_2.pk}
    assert ids(period_start_after="2026-02-01") == {march.pk}
    assert ids(period_start_before="2026-02-01", revision=1) == {january.pk}
    assert ids(contract=personas.contract.pk, latest="true") == {january_2.pk, march.pk}
    assert client.get(url("statement"), {"period_start": "January"}).status_code == 400


def test_effective_service_levels_follow_the_hierarchy_e4(personas):
    provider = personas.provider
    contract = personas.contract
    cs_s = contract.services.select_related("service").get()
    other = ContractServiceFactory(contract=contract, service=ServiceFactory(provider=provider))
    other_contract = ContractFactory(provider=provider, customer=personas.customer)
    cs_elsewhere = ContractServiceFactory(contract=other_contract, service=cs_s.service)
    common = {"provider": provider, "key": "support-response", "indicator": "ratio"}
    corporate = ServiceLevelFactory(**common, name="Support", target=Decimal("95"))
    customer = ServiceLevelFactory(
        **common,
        name="Support",
        level="customer",
        contract=contract,
        target=Decimal("98"),
        credit_rule={"kind": "flat", "percent": "5"},
    )
    ServiceLevelFactory(
        **common,
        name="Support",
        level="contract_service",
        contract=contract,
        service=cs_s.service,
        target=Decimal("98"),
        enabled=False,
    )
    client = client_for(personas.customer_member)

    response = client.get(url("contract", contract.pk, "effective-service-levels"))

    assert response.status_code == 200
    by_cs = {entry["contract_service"]: entry for entry in response.json()}
    assert set(by_cs) == {cs_s.pk, other.pk}
    assert by_cs[cs_s.pk]["service"] == cs_s.service_id
    assert by_cs[cs_s.pk]["service_levels"] == []
    (level,) = by_cs[other.pk]["service_levels"]
    spec_keys = ["id", "key", "source_level", "indicator", "comparator", "target", "credit_rule"]
    assert {key: level[key] for key in spec_keys} == {
        "id": customer.pk,
        "key": "support-response",
        "source_level": "customer",
        "indicator": "ratio",
        "comparator": "gte",
        "target": "98",
        "credit_rule": {"kind": "flat", "percent": "5"},
    }
    elsewhere = client.get(url("contract", other_contract.pk, "effective-service-levels"))
    (entry,) = elsewhere.json()
    assert entry["contract_service"] == cs_elsewhere.pk
    assert [(sl["id"], sl["source_level"], sl["target"]) for sl in entry["service_levels"]] == [
        (corporate.pk, "corporate", "95")
    ]


RULES = [
    (
        {"kind": "per_step", "step": "0.5", "percent": "1"},
        {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None},
    ),
    (
        {"kind": "per_step", "step": 0.5, "percent": 1, "max_percent": 20},
        {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "20"},
    ),
    (
        {
            "kind": "tiered",
            "tiers": [{"bound": "99.99", "percent": "10"}, {"bound": "99.0", "percent": "30"}],
        },
        {
            "kind": "tiered",
            "tiers": [{"bound": "99.99", "percent": "10"}, {"bound": "99.0", "percent": "30"}],
        },
    ),
    (
        {"kind": "linear", "factor": "1", "max_percent": "25"},
        {"kind": "linear", "factor": "1", "max_percent": "25"},
    ),
    ({"kind": "flat", "percent": "5"}, {"kind": "flat", "percent": "5"}),
    ({"kind": "flat", "amount": "250.00"}, {"kind": "flat", "amount": "250.00"}),
    ({"kind": "pool", "allocation_percent": "20"}, {"kind": "pool", "allocation_percent": "20"}),
    (None, None),
]


@pytest.mark.parametrize(("sent", "stored"), RULES, ids=lambda r: (r or {}).get("kind", "none"))
def test_a_credit_rule_round_trips_in_its_spec_shape(personas, sent, stored):
    contract = personas.contract
    contract.credit_cap_percent = Decimal("10")
    contract.save()
    client = client_for(personas.provider_editor)
    body = {
        "level": "customer",
        "contract": contract.pk,
        "key": "availability",
        "name": "Availability",
        "indicator": "uptime",
        "target": "99.99",
        "credit_rule": sent,
    }

    created = client.post(url("servicelevel"), body)

    assert created.status_code == 201, created.content
    assert created.json()["credit_rule"] == stored
    assert created.json()["provider"] == personas.provider.pk  # implied by the contract
    read = client.get(url("servicelevel", created.json()["id"]))
    assert read.json()["credit_rule"] == stored
    assert ServiceLevel.objects.get(pk=created.json()["id"]).credit_rule == stored


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"kind": "per_step", "step": "0", "percent": "1"}, "step must be greater than 0"),
        ({"kind": "per_step", "percent": "1"}, "step is required"),
        ({"kind": "per_step", "step": "NaN", "percent": "1"}, "step must be"),
        ({"kind": "per_step", "step": "1e20", "percent": "1"}, "step is too large"),
        ({"kind": "per_step", "step": True, "percent": "1"}, "step must be a number"),
        ({"kind": "per_step", "step": "1", "percent": "101"}, "percent must be between"),
        ({"kind": "per_step", "step": "1", "percent": "1", "bonus": 1}, "bonus"),
        ({"kind": "tiered", "tiers": []}, "at least one tier"),
        ({"kind": "tiered", "tiers": "lots"}, "tiers must be a list"),
        (
            {
                "kind": "tiered",
                "tiers": [{"bound": "99", "percent": "10"}, {"bound": "99.9", "percent": "30"}],
            },
            "tier 2",
        ),
        ({"kind": "linear", "factor": "-1"}, "factor must be greater than 0"),
        ({"kind": "flat"}, "percent or an amount"),
        ({"kind": "flat", "percent": "5", "amount": "1"}, "not both"),
        ({"kind": "bogus"}, "unknown kind"),
        ({}, "kind is required"),
        (["per_step"], "must be an object"),
        ("flat 5%", "must be an object"),
        ({"kind": "pool", "allocation_percent": "20"}, "pool rule"),
    ],
)
def test_an_invalid_credit_rule_is_a_400_naming_the_field(personas, rule, words):
    client = client_for(personas.provider_editor)
    body = {
        "level": "corporate",
        "key": "availability",
        "name": "Availability",
        "indicator": "uptime",
        "target": "99.9",
        "provider": personas.provider.pk,
        "credit_rule": rule,
    }
    response = client.post(url("servicelevel"), body)
    assert response.status_code == 400
    assert list(response.json()) == ["credit_rule"]
    (message,) = response.json()["credit_rule"]
    assert words in message
    assert not ServiceLevel.objects.exists()


def test_a_provider_that_disagrees_with_the_contract_is_refused(personas):
    client = client_for(personas.operator)
    body = {
        "level": "customer",
        "contract": personas.contract.pk,
        "provider": personas.other_provider.pk,
        "key": "availability",
        "name": "Availability",
        "indicator": "uptime",
        "target": "99.9",
    }
    response = client.post(url("servicelevel"), body)
    assert response.status_code == 400
    assert response.json() == {"contract": ["The contract belongs to another provider."]}


def test_a_service_level_describes_itself_in_plain_language(personas):
    level = ServiceLevelFactory(
        provider=personas.provider,
        level="customer",
        contract=personas.contract,
        target=Decimal("99.9"),
        credit_rule={"kind": "flat", "percent": "5"},
    )
    body = client_for(personas.customer_member).get(url("servicelevel", level.pk)).json()
    assert body["description"] == (
        f"Availability of every service of {personas.contract.reference} is at least 99.9 % "
        "of each month; below it the customer is credited 5 % of that month's fee."
    )
    corporate = ServiceLevelFactory(provider=personas.provider, key="uptime-2")
    text = client_for(personas.provider_viewer).get(url("servicelevel", corporate.pk)).json()
    assert "each period" in text["description"]
    assert "month" not in text["description"]


def test_the_model_speaks_for_the_api_per_field(personas):
    client = client_for(personas.provider_editor)
    response = client.post(
        url("contract"),
        {
            "provider": personas.provider.pk,
            "customer": personas.customer.pk,
            "reference": "ACME-1",  # taken
            "title": "Again",
            "currency": "EUR",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
            "settlement_period": "month",
            "timezone": "Mars/Olympus",
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["end_date"] == ["The end date cannot be before the start date."]
    assert errors["timezone"] == ["'Mars/Olympus' is not an IANA time zone name."]


def test_decimals_are_strings_and_ids_integers(personas):
    body = client_for(personas.provider_viewer).get(url("contractservice")).json()
    (cs,) = body["results"]
    assert isinstance(cs["id"], int)
    assert isinstance(cs["contract"], int)
    assert cs["fee"] == "1000.00"
    assert set(body) == {"count", "next", "previous", "results"}


def test_statement_lines_built_in_one_go_equal_their_declared_fields(personas):
    from credits.api.serializers import StatementLineSerializer

    cs = personas.contract.services.get()
    level = ServiceLevelFactory(
        provider=personas.provider,
        credit_rule={"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None},
    )
    statement, _ = make_statement(personas.contract, cs, [(level, Decimal("98.7"), Decimal("40"))])
    line = statement.lines.get()
    serializer = StatementLineSerializer()
    field_by_field = {
        name: field.to_representation(field.get_attribute(line))
        for name, field in serializer.fields.items()
    }
    assert serializer.to_representation(line) == field_by_field
    assert list(serializer.to_representation(line)) == list(field_by_field)
