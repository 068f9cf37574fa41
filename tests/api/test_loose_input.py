"""Loose input is refused, not read generously: numbers in ASCII digits only, ids as
integers, IANA time zones only, and webhook URLs checked when they are saved."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

import engine
from contracts.models import Contract
from people.models import Webhook
from tests.api.conftest import client_for, url
from tests.contracts.test_views import _contract_data

pytestmark = pytest.mark.django_db

LOOSE_NUMBERS = ["１２", "1_0", "١٢", "1_000.5", "１.５"]


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("text", LOOSE_NUMBERS)
def test_a_decimal_in_other_digits_or_with_underscores_is_a_400_on_that_field(world, text):
    client = client_for(world.p.provider_editor)
    before = world.p.contract.credit_cap_percent

    response = patch_json(
        client, url("contract", world.p.contract.pk), {"credit_cap_percent": text}
    )

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["credit_cap_percent"]
    assert Contract.objects.get(pk=world.p.contract.pk).credit_cap_percent == before


@pytest.mark.parametrize("text", LOOSE_NUMBERS)
def test_a_fee_in_other_digits_or_with_underscores_is_a_400(world, text):
    response = patch_json(
        client_for(world.p.provider_editor), url("contractservice", world.cs.pk), {"fee": text}
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["fee"]


@pytest.mark.parametrize("value", ["１", "1_0", "٣", 3.0, "3.0", 2.5])
def test_an_integer_in_other_digits_with_underscores_or_a_fraction_is_a_400(world, value):
    response = patch_json(
        client_for(world.p.provider_editor),
        url("contract", world.p.contract.pk),
        {"settlement_delay_days": value},
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["settlement_delay_days"]


def test_plain_numbers_are_still_read(world):
    client = client_for(world.p.provider_editor)
    response = patch_json(
        client,
        url("contract", world.p.contract.pk),
        {"credit_cap_percent": "12.5", "settlement_delay_days": "4"},
    )
    assert response.status_code == 200, response.content
    response = patch_json(client, url("contract", world.p.contract.pk), {"credit_cap_percent": 13})
    assert response.status_code == 200, response.content


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def loose_ids(pk: int) -> list:
    """Spellings of ``pk`` that int() reads but an id must not be: a fraction, a float, a
    decimal string, full-width digits, an underscore."""
    return [pk + 0.5, float(pk), f"{pk}.5", f"{pk}.0", str(pk).translate(FULL_WIDTH), f"{pk}_0"]


def test_an_id_that_is_not_an_integer_is_a_400_not_rounded(world):
    client = client_for(world.p.provider_editor)
    for value in loose_ids(world.cs.pk):
        response = patch_json(
            client, url("incident", world.incident.pk), {"contract_service": value}
        )
        assert response.status_code == 400, (value, response.content)
        assert list(response.json()) == ["contract_service"]


def test_a_sample_whose_contract_service_is_not_an_integer_is_refused(world):
    client = client_for(world.p.provider_editor)
    for value in loose_ids(world.cs.pk):
        body = [
            {
                "contract_service": value,
                "key": "reports",
                "observed_at": "2026-10-05T09:00:00+02:00",
                "ok": True,
            }
        ]
        response = client.post(
            url("measurement"), json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 400, (value, response.content)
        assert response.json()["errors"][0]["field"] == "contract_service"


@pytest.mark.parametrize("value", ["１２", "1_0", "１.５"])
def test_a_sample_value_in_other_digits_or_with_underscores_is_refused(world, value):
    body = [
        {
            "contract_service": world.cs.pk,
            "key": "reports",
            "observed_at": "2026-10-05T09:00:00+02:00",
            "value": value,
        }
    ]
    response = client_for(world.p.provider_editor).post(
        url("measurement"), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "value"


@pytest.mark.parametrize("step", ["１", "1_0"])
def test_a_credit_rule_number_in_other_digits_is_refused(step):
    with pytest.raises(engine.RuleError):
        engine.parse_rule({"kind": "per_step", "step": step, "percent": "1"})


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_a_contract_in_a_zone_that_is_not_iana_is_a_400(world, zone):
    response = patch_json(
        client_for(world.p.provider_editor),
        url("contract", world.p.contract.pk),
        {"timezone": zone},
    )
    assert response.status_code == 400, response.content
    assert "not an IANA time zone" in response.json()["timezone"][0]


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_a_calendar_in_a_zone_that_is_not_iana_is_a_400(world, zone):
    body = {"provider": world.p.provider.pk, "name": "Office", "timezone": zone}
    response = client_for(world.p.provider_editor).post(
        "/api/v1/service-calendars/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["timezone"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("ftp://hooks.example.com/in", "http or https"),
        ("https://user:secret@hooks.example.com/in", "credentials"),
        ("https://127.0.0.1/in", "loopback"),
        ("http://localhost:8080/in", "loopback"),
        ("https://10.1.2.3/in", "private"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://[::ffff:192.168.1.1]/in", "private"),
    ],
)
def test_a_webhook_url_that_would_be_refused_at_delivery_is_refused_at_save(
    world, settings, target, reason
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    org = world.p.provider
    response = post_json(
        client_for(world.p.provider_admin),
        url("webhook"),
        {"organization": org.pk, "url": target, "secret": "s" * 32},
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["url"]
    assert reason in response.json()["url"][0]
    assert not Webhook.objects.filter(organization=org).exists()


def test_a_public_webhook_url_is_saved_without_resolving_it(world, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    def no_dns(*args, **kwargs):
        raise AssertionError("no DNS lookup when saving")

    monkeypatch.setattr("socket.getaddrinfo", no_dns)
    response = post_json(
        client_for(world.p.provider_admin),
        url("webhook"),
        {
            "organization": world.p.provider.pk,
            "url": "https://hooks.example.com/in",
            "secret": "s" * 32,
        },
    )
    assert response.status_code == 201, response.content


def test_a_loopback_webhook_is_saved_where_private_targets_are_allowed(world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = post_json(
        client_for(world.p.provider_admin),
        url("webhook"),
        {"organization": world.p.provider.pk, "url": "http://127.0.0.1:8080/in", "secret": "s"},
    )
    assert response.status_code == 201, response.content


# --------------------------------------------------------------------------- browser forms


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("credit_cap_percent", "１５"),
        ("credit_cap_percent", "1_5"),
        ("settlement_delay_days", "２"),
        ("settlement_delay_days", "1_0"),
        ("settlement_delay_days", "2.0"),
        ("customer", "loose-id"),
        ("timezone", "Factory"),
        ("timezone", "localtime"),
    ],
)
def test_the_contract_form_refuses_loose_input_beside_the_field(personas, client, field, text):
    if text == "loose-id":
        text = str(personas.customer.pk).translate(FULL_WIDTH)
    client.force_login(personas.provider_editor)
    data = _contract_data(provider=personas.provider.pk, customer=personas.customer.pk)
    data[field] = text

    response = client.post(reverse("contract-create"), data)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert not Contract.objects.filter(reference="ACME-9").exists()


def test_the_contract_form_still_reads_plain_digits(personas, client):
    client.force_login(personas.provider_editor)
    data = _contract_data(provider=personas.provider.pk, customer=personas.customer.pk)
    data.update(credit_cap_percent=" 12.5 ", settlement_delay_days="3")

    response = client.post(reverse("contract-create"), data)

    assert response.status_code == 302, response.context["form"].errors
    contract = Contract.objects.get(reference="ACME-9")
    assert (contract.credit_cap_percent, contract.settlement_delay_days) == (Decimal("12.5"), 3)
