"""Every error under /api/ answers JSON in the API's shape, documented in the schema: paths
no route matches, ids that are not numbers, methods a resource does not take, bodies too
large or not JSON, exceptions; filters and page sizes it cannot read are 400s naming them."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from contracts.api import views as contract_views
from contracts.models import Contract
from slaportal.api.errors import NOT_FOUND, SERVER_ERROR
from slaportal.api.filtering import EMPTY_VALUE
from tests.api.conftest import client_for, url

pytestmark = pytest.mark.django_db


def _is_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/no-such-resource/",
        "/api/v1/contracts/abc/",
        "/api/v1/contracts/1.5/",
        "/api/v1/contracts/1/no-such-action/",
        "/api/v1/statements/%E2%80%8B/",
        "/api/v2/",
    ],
)
def test_a_path_no_route_matches_is_a_json_404(personas, path):
    response = client_for(personas.provider_editor).get(path)

    assert _is_json_error(response, 404) == {"detail": NOT_FOUND}


def test_pages_outside_the_api_keep_their_html_404(personas, client):
    client.force_login(personas.provider_editor)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_a_resource_does_not_take_is_a_json_405_with_allow(personas):
    response = client_for(personas.provider_editor).delete(url("statement"))

    body = _is_json_error(response, 405)
    assert body == {"detail": 'Method "DELETE" not allowed.'}
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_an_exception_is_a_json_500(personas, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(contract_views.ContractViewSet, "list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas.provider_editor)

    response = client.get(url("contract"))

    assert _is_json_error(response, 500) == {"detail": SERVER_ERROR}


def test_a_body_larger_than_the_limit_is_a_json_400(personas, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = json.dumps({"title": "x" * (2 * 1024 * 1024)})

    response = client_for(personas.provider_editor).patch(
        url("contract", personas.contract.pk), body, content_type="application/json"
    )

    assert _is_json_error(response, 400) == {
        "detail": "The body is larger than the 1 MB the API reads at once; send the items "
        "in smaller batches."
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=BoUnDaRy", b"1.19e250"),
        ("application/x-www-form-urlencoded", b"title=Renamed"),
    ],
)
def test_a_form_or_multipart_body_is_a_415_and_changes_nothing(personas, content_type, body):
    contract = personas.contract

    response = client_for(personas.provider_editor).generic(
        "PATCH", url("contract", contract.pk), body, content_type=content_type
    )

    assert _is_json_error(response, 415)["detail"].startswith("Unsupported media type")
    assert Contract.objects.get(pk=contract.pk).title == contract.title


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/contracts/", {"customer": "abc"}, "customer"),
        ("/api/v1/contracts/", {"customer": "1.5"}, "customer"),
        ("/api/v1/contracts/", {"customer": "3.0"}, "customer"),
        ("/api/v1/contracts/", {"customer": "１"}, "customer"),
        ("/api/v1/statements/", {"revision": "1.0"}, "revision"),
        ("/api/v1/service-calendars/", {"provider": "abc"}, "provider"),
    ],
)
def test_an_id_filter_takes_whole_numbers_only(personas, path, params, field):
    response = client_for(personas.provider_editor).get(path, params)

    assert _is_json_error(response, 400) == {field: ["Enter a whole number in digits 0-9."]}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/contracts/", {"customer": ""}),
        ("/api/v1/contracts/", {"status": ""}),
        ("/api/v1/statements/", {"latest": ""}),
        ("/api/v1/statements/", {"contract": ""}),
    ],
)
def test_a_filter_named_without_a_value_is_a_400(personas, path, params):
    response = client_for(personas.provider_editor).get(path, params)

    assert _is_json_error(response, 400) == {name: [EMPTY_VALUE] for name in params}


def test_a_text_filter_may_be_empty(personas):
    response = client_for(personas.provider_editor).get(url("contract"), {"reference": ""})

    assert response.status_code == 200


def test_a_filter_built_from_a_foreign_key_matches_nothing_for_an_unknown_id(personas):
    # Service calendars list ``filterset_fields``: django-filter's choice filter answered
    # 400 "not a valid choice" for an id outside the scope.
    response = client_for(personas.provider_editor).get(
        "/api/v1/service-calendars/", {"provider": personas.other_provider.pk}
    )

    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


@pytest.mark.parametrize("size", ["0", "-5", "501", "abc", "2.0", ""])
def test_a_page_size_out_of_range_is_a_400(personas, size):
    response = client_for(personas.provider_editor).get(url("contract"), {"page_size": size})

    assert _is_json_error(response, 400) == {"page_size": ["A whole number from 1 to 500."]}


def test_a_page_size_in_range_is_honoured(personas):
    response = client_for(personas.provider_editor).get(url("contract"), {"page_size": "1"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_the_schema_documents_the_errors_and_types_the_api_answers(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]

    contract = paths["/api/v1/contracts/{id}/"]
    assert {"400", "401", "404", "500"} <= set(contract["get"]["responses"])
    assert {"400", "401", "403", "404", "409", "415", "500"} <= set(contract["patch"]["responses"])
    assert set(contract["patch"]["requestBody"]["content"]) == {"application/json"}
    parameters = {p["name"]: p["schema"] for p in paths["/api/v1/contracts/"]["get"]["parameters"]}
    assert parameters["customer"] == {"type": "integer"}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    statements = {p["name"]: p["schema"] for p in paths["/api/v1/statements/"]["get"]["parameters"]}
    assert statements["latest"] == {"type": "boolean"}
    assert statements["revision"] == {"type": "integer"}
    token = paths["/api/v1/auth/token/"]["post"]["responses"]
    assert token["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthToken"
    }
    assert {"400", "429", "500"} <= set(token)
    measurements = paths["/api/v1/measurements/"]["post"]["requestBody"]
    assert measurements["required"] is True
