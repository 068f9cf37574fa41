"""Bad input is a 400 with a message per field (or a clean 404/409/415), never a 500."""

from __future__ import annotations

import json

import pytest

from contracts.models import Contract
from tests.api.conftest import PREFIXES, client_for, url

pytestmark = pytest.mark.django_db

GARBAGE = [
    "[]",
    "null",
    "123",
    '"text"',
    "{}",
    '{"id": "x", "contract": {"nested": [1, 2]}}',
    '{"contract": true, "provider": 1.5, "service": "", "line": null}',
    '{"start": "2026-13-45T99:00:00", "end": [], "fee": {"a": 1}}',
    '{"target": NaN}',
    '{"target": Infinity}',
    '{"fee": 1e400, "value": -1e400}',
    "{,}",
    "[" * 100_000,
    '{"name": "' + "x" * 100_000 + '"}',
    '{"\\u0000": "\\u0000"}',
]


@pytest.mark.parametrize("basename", PREFIXES)
def test_garbage_posted_anywhere_is_refused_cleanly(personas, basename):
    client = client_for(personas.operator)
    for body in GARBAGE:
        response = client.post(url(basename), body, content_type="application/json")
        assert response.status_code in (400, 405), (body[:40], response.content)
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize(
    "patch",
    [
        {"start_date": 123},
        {"currency": 5},
        {"status": "open"},
        {"customer": "globex"},
        {"customer": 10**30},
        {"customer": True},
        {"settlement_delay_days": 10**20},
        {"settlement_delay_days": -1},
        {"credit_cap_percent": "NaN"},
        {"credit_cap_percent": "101"},
        {"credit_cap_percent": "1e30"},
        {"timezone": "x" * 500},
        {"colour": "blue"},
    ],
    ids=lambda patch: next(iter(patch)),
)
def test_wrong_types_and_sizes_are_a_400_on_that_field(world, patch):
    client = client_for(world.p.provider_editor)
    response = client.patch(url("contract", world.p.contract.pk), patch)
    assert response.status_code == 400, response.content
    assert list(response.json()) == list(patch)
    assert response.json()[next(iter(patch))]


@pytest.mark.parametrize("fee", ["1e30", "NaN", "-1", "Infinity", "12.345", "abc", ""])
def test_a_bad_fee_is_a_400(world, fee):
    response = client_for(world.p.provider_editor).patch(
        url("contractservice", world.cs.pk), {"fee": fee}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["fee"]


def test_a_rule_parameter_beyond_float_range_is_a_400(world):
    raw = (
        '{"level": "corporate", "provider": PROVIDER, "key": "x", "name": "X", '
        '"indicator": "uptime", "target": "99", '
        '"credit_rule": {"kind": "per_step", "step": 1e400, "percent": 1}}'
    ).replace("PROVIDER", str(world.p.provider.pk))
    response = client_for(world.p.provider_editor).post(
        url("servicelevel"), raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"credit_rule": ["step must be a finite number"]}


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/api/v1/contracts/", {"page": "abc"}, 404),
        ("/api/v1/contracts/", {"page": "999"}, 404),
        ("/api/v1/contracts/", {"page_size": "-5"}, 400),
        ("/api/v1/contracts/", {"customer": "abc"}, 400),
        ("/api/v1/contracts/", {"customer": str(10**30)}, 200),
        ("/api/v1/contracts/", {"status": "open"}, 400),
        ("/api/v1/measurements/", {"observed_after": "yesterday"}, 400),
        ("/api/v1/measurements/", {"cursor": "garbage"}, 404),
        # A typo must not quietly return every revision: the statements' booleans are strict.
        ("/api/v1/statements/", {"latest": "perhaps"}, 400),
        ("/api/v1/statements/", {"with_credit": "yes please"}, 400),
        ("/api/v1/contracts/abc/", {}, 404),
        ("/api/v1/contracts/-1/", {}, 404),
        ("/api/v1/contracts/99999999999999999999999/", {}, 404),
    ],
)
def test_bad_query_parameters_and_paths_never_break(world, path, params, expected):
    response = client_for(world.p.customer_member).get(path, params)
    assert response.status_code == expected, response.content
    assert response["Content-Type"].startswith("application/json")


def test_a_contract_with_statements_is_terminated_not_deleted(world):
    client = client_for(world.p.provider_editor)
    response = client.delete(url("contract", world.p.contract.pk))
    assert response.status_code == 409
    assert "terminate it instead" in response.json()["detail"]
    assert Contract.objects.filter(pk=world.p.contract.pk).exists()
    terminated = client.patch(url("contract", world.p.contract.pk), {"status": "terminated"})
    assert terminated.status_code == 200
    assert terminated.json()["status"] == "terminated"


def test_a_draft_without_statements_can_be_deleted(world):
    client = client_for(world.p.provider_editor)
    assert client.delete(url("contract", world.p.draft_contract.pk)).status_code == 204
    assert not Contract.objects.filter(pk=world.p.draft_contract.pk).exists()


def test_a_used_objective_is_not_deleted_but_can_be_switched_off(world):
    client = client_for(world.p.provider_editor)
    response = client.delete(url("servicelevel", world.availability.pk))
    assert response.status_code == 409
    assert "switch it off" in response.json()["detail"]
    switched = client.patch(url("servicelevel", world.availability.pk), {"enabled": False})
    assert switched.status_code == 200
    assert switched.json()["enabled"] is False


def test_the_owner_of_a_row_never_moves(world):
    client = client_for(world.p.operator)
    response = client.patch(
        url("contract", world.p.contract.pk), {"provider": world.p.other_provider.pk}
    )
    assert response.status_code == 400
    assert response.json() == {"provider": ["Cannot be changed."]}
    # Sending back what was read is fine.
    same = client.patch(url("contract", world.p.contract.pk), {"provider": world.p.provider.pk})
    assert same.status_code == 200
    assert same.json()["provider"] == world.p.provider.pk


def test_responsibility_objectives_must_apply_to_the_contract(world):
    client = client_for(world.p.provider_editor)
    response = client.post(
        url("responsibility"),
        {
            "contract": world.p.contract.pk,
            "title": "Keep the lights on",
            "service_levels": [world.availability.pk, world.draft_level.pk],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "service_levels": [
            f"Objective {world.draft_level.pk} does not apply to contract "
            f"{world.p.contract.reference}."
        ]
    }


def test_a_nested_json_too_deep_is_a_parse_error(world):
    response = client_for(world.p.provider_editor).post(
        url("contract"), "[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested too deeply"}


def test_anonymous_calls_are_refused_with_a_token_challenge(world):
    response = client_for(None).get(url("contract"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert json.loads(response.content) == {
        "detail": "Authentication credentials were not provided."
    }
