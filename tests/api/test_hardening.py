"""Edges found by probing a live instance: each was a 500, and is now a 400 with a message.
API responses are never cached."""

from __future__ import annotations

import json

import pytest

from contracts.models import Measurement
from tests.api.conftest import client_for, url
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

BEYOND_POSTGRES_OFFSETS = "2026-10-05T09:00:00+23:00"


@pytest.fixture
def monitored(personas):
    ServiceLevelFactory(provider=personas.provider, key="reports", indicator="ratio", target=99)
    return personas.contract.services.get()


def test_an_offset_beyond_postgres_range_in_a_json_measurement_is_a_400(personas, monitored):
    body = {
        "contract_service": monitored.pk,
        "key": "reports",
        "observed_at": BEYOND_POSTGRES_OFFSETS,
        "ok": True,
    }
    response = client_for(personas.provider_editor).post(
        url("measurement"), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json() == {
        "errors": [
            {"index": 0, "field": "observed_at", "message": "has a UTC offset beyond ±15:59"}
        ]
    }
    assert not Measurement.objects.exists()


def test_an_offset_beyond_postgres_range_in_a_csv_upload_is_a_400(personas, monitored):
    body = (
        "contract_service,key,observed_at,ok\n"
        f"{monitored.pk},reports,{BEYOND_POSTGRES_OFFSETS},true\n"
    )
    response = client_for(personas.provider_editor).post(
        url("measurement"), body, content_type="text/csv"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {
            "index": 0,
            "line": 2,
            "field": "observed_at",
            "message": "has a UTC offset beyond ±15:59",
        }
    ]


def test_an_offset_beyond_postgres_range_in_a_ticket_is_a_400(personas):
    cs = personas.contract.services.get()
    body = {
        "contract_service": cs.pk,
        "reference": "INC-1",
        "priority": "P1",
        "opened_at": "2026-11-03T10:00:00+20:00",
    }
    response = client_for(personas.provider_editor).post(
        "/api/v1/tickets/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "has a UTC offset beyond ±15:59" in json.dumps(response.json(), ensure_ascii=False)


@pytest.mark.parametrize(
    "basename, name",
    [
        ("measurement", "observed_after"),
        ("measurement", "observed_before"),
        ("incident", "started_after"),
        ("maintenancewindow", "start_after"),
        ("responsibilitylapse", "start_after"),
    ],
)
@pytest.mark.parametrize("instant", [BEYOND_POSTGRES_OFFSETS, "0001-01-01T00:00:00+15:00"])
def test_an_offset_beyond_postgres_range_in_a_date_filter_is_not_a_500(
    world, basename, name, instant
):
    response = client_for(world.p.customer_member).get(url(basename), {name: instant})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert name in response.json()


@pytest.mark.parametrize("body", ["[]", '["admin", "secret"]', '"text"', "123", "null", "true"])
def test_a_token_request_that_is_not_an_object_is_a_400(client, personas, body):
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["non_field_errors"]


def test_a_token_request_with_an_overlong_username_is_a_400(client, personas):
    response = client.post(
        "/api/v1/auth/token/",
        json.dumps({"username": "u" * 256, "password": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"username": ["Ensure this field has no more than 150 characters."]}


def test_a_token_request_with_a_nul_in_the_username_is_a_400(client, personas):
    # PostgreSQL text holds no NUL: the lockout's look-up of such a name was a 500.
    response = client.post(
        "/api/v1/auth/token/",
        json.dumps({"username": "admin\x00", "password": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"username": ["Null characters are not allowed."]}


@pytest.mark.parametrize("size", ["false", "0", "1001", "2.5"])
def test_a_page_size_the_measurement_list_cannot_read_is_a_400(world, size):
    # DRF's cursor pages ignored it and answered 100 rows.
    response = client_for(world.p.customer_member).get(url("measurement"), {"page_size": size})
    assert response.status_code == 400, response.content
    assert response.json() == {"page_size": ["A whole number from 1 to 1000."]}


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", str(10**40)])
def test_a_page_beyond_bigint_on_statements_is_a_404_like_any_page_past_the_end(world, page):
    client = client_for(world.p.customer_member)
    past_the_end = client.get(url("statement"), {"page": 1000})
    response = client.get(url("statement"), {"page": page})
    assert response.status_code == past_the_end.status_code == 404, response.content
    assert response.json() == past_the_end.json()


def test_api_responses_are_not_stored_by_caches(world, client):
    member = client_for(world.p.customer_member)
    for response in (
        member.get(url("contract")),
        member.get(url("contract", world.p.contract.pk)),
        member.get(url("contract", 10**9)),
        member.get("/api/v1/no-such-resource/"),
        client.post("/api/v1/auth/token/", "[]", content_type="application/json"),
    ):
        assert "no-store" in response["Cache-Control"], response.status_code


def test_browser_pages_keep_their_own_caching(client, personas):
    client.force_login(personas.customer_member)
    response = client.get("/contracts/")
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "patch",
    [
        {"email": "someone@example.com"},
        {"password": "a-new-long-passphrase-42"},
        {"role": "editor", "email": "someone@example.com"},
    ],
    ids=["email", "password", "role-and-email"],
)
def test_a_members_email_or_password_is_not_changed_through_the_membership(personas, patch):
    membership = personas.provider_viewer.memberships.get()
    user = personas.provider_viewer
    before = (user.email, user.password, membership.role)
    response = client_for(personas.provider_admin).patch(url("membership", membership.pk), patch)
    assert response.status_code == 400, response.content
    changed = next(name for name in patch if name != "role")
    assert response.json() == {changed: ["Cannot be changed."]}
    user.refresh_from_db()
    membership.refresh_from_db()
    assert (user.email, user.password, membership.role) == before


def test_a_member_read_back_and_sent_whole_is_accepted(personas):
    membership = personas.provider_viewer.memberships.get()
    client = client_for(personas.provider_admin)
    read = client.get(url("membership", membership.pk)).json()
    response = client.put(url("membership", membership.pk), {**read, "role": "editor"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "editor"


def test_a_decision_sent_by_patch_documents_its_required_fields(world):
    # A claim or dispute is accepted or rejected whole: an empty PATCH is a 400, so the
    # schema must not call it valid (Schemathesis' positive data acceptance).
    response = client_for(world.p.customer_member).get("/api/v1/schema/", {"format": "json"})
    schema = response.json()
    for path, component in [
        ("/api/v1/claims/{id}/", "ClaimResolutionRequest"),
        ("/api/v1/disputes/{id}/", "DisputeResolutionRequest"),
    ]:
        body = schema["paths"][path]["patch"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"]["$ref"].endswith(component)
        assert "status" in schema["components"]["schemas"][component]["required"]
