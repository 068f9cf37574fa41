"""Loose input is refused, not read generously: numbers in ASCII digits only, ids as
integers, IANA time zones only, and webhook URLs checked when they are saved."""

from __future__ import annotations

import json

import pytest

from contracts.models import Organization
from tests.api.conftest import client_for, url

pytestmark = pytest.mark.django_db

LOOSE_NUMBERS = ["１２", "1_0", "١٢", "1_000.5", "１.５"]


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


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
    response = patch_json(
        client_for(world.p.provider_admin),
        url("organization", org.pk),
        {"webhook_url": target, "webhook_secret": "s" * 32},
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["webhook_url"]
    assert reason in response.json()["webhook_url"][0]
    assert Organization.objects.get(pk=org.pk).webhook_url == org.webhook_url


def test_a_public_webhook_url_is_saved_without_resolving_it(world, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    def no_dns(*args, **kwargs):
        raise AssertionError("no DNS lookup when saving")

    monkeypatch.setattr("socket.getaddrinfo", no_dns)
    response = patch_json(
        client_for(world.p.provider_admin),
        url("organization", world.p.provider.pk),
        {"webhook_url": "https://hooks.example.com/in", "webhook_secret": "s" * 32},
    )
    assert response.status_code == 200, response.content


def test_a_loopback_webhook_is_saved_where_private_targets_are_allowed(world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = patch_json(
        client_for(world.p.provider_admin),
        url("organization", world.p.provider.pk),
        {"webhook_url": "http://127.0.0.1:8080/in", "webhook_secret": "s" * 32},
    )
    assert response.status_code == 200, response.content
