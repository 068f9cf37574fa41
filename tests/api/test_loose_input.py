"""Loose input is refused, not read generously: numbers in ASCII digits only, ids as
integers, IANA time zones only, and webhook URLs checked when they are saved."""

from __future__ import annotations

import json

import pytest

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
