"""The OpenAPI schema is valid and true: schemathesis fuzzes the live API against it.

Each operation gets a bounded number of generated requests (positive data, as a provider
editor), and every answer must be no 5xx, a documented status code, a documented
content type and a body matching its documented schema. Unauthenticated calls of every
operation are refused with 401.
"""

from __future__ import annotations

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import World, client_for

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 8


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    components = schema["components"]["schemas"]
    # The credit rule is a documented union of its five shapes, not a free-form object.
    assert set(components["CreditRule"]["discriminator"]["mapping"]) == {
        "per_step",
        "tiered",
        "linear",
        "flat",
        "pool",
    }
    contract = schema["paths"]["/api/v1/contracts/{id}/"]
    assert {"401", "403", "404", "409"} <= set(contract["delete"]["responses"])
    measurements = schema["paths"]["/api/v1/measurements/"]["post"]
    assert set(measurements["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert measurements["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeasurementsRejected"
    }


def test_the_schema_and_docs_are_served(world):
    client = client_for(None)
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


@pytest.fixture(scope="module")
def in_test_transaction():
    """Requests through the real WSGI handler, inside the test's transaction: like
    Django's test client, stop the handler from closing the connection around them."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(in_test_transaction):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


def _fixed_ids(world: World) -> dict[str, int]:
    return {
        "/api/v1/contracts/{id}/": world.p.contract.pk,
        "/api/v1/contracts/{id}/effective-service-levels/": world.p.contract.pk,
        "/api/v1/service-levels/{id}/": world.reports.pk,
        "/api/v1/statements/{id}/": world.statement.pk,
        "/api/v1/incidents/{id}/": world.incident.pk,
    }


def _in_scope_ids(world: World) -> dict[str, object]:
    """Ids a provider editor may use, so that generated bodies also reach the models'
    validation and the 201s, not only "Invalid pk"."""
    return {
        "provider": world.p.provider.pk,
        "customer": world.p.customer.pk,
        "contract": world.p.draft_contract.pk,
        "service": world.service.pk,
        "contract_service": world.cs.pk,
        "responsibility": world.responsibility.pk,
        "line": world.free_line.pk,
        "service_levels": [world.availability.pk],
    }


def _with_ids(case, ids: dict[str, object]):
    body = case.body
    items = body if isinstance(body, list) else [body]
    for item in items:
        if isinstance(item, dict):
            for name in item.keys() & ids.keys():
                if item[name] is not None:
                    item[name] = ids[name]
    return case


FUZZED = [
    ("GET", "/api/v1/contracts/"),
    ("GET", "/api/v1/contracts/{id}/"),
    ("GET", "/api/v1/contracts/{id}/effective-service-levels/"),
    ("GET", "/api/v1/organizations/"),
    ("GET", "/api/v1/service-levels/"),
    ("GET", "/api/v1/statements/"),
    ("GET", "/api/v1/statements/{id}/"),
    ("GET", "/api/v1/measurements/"),
    ("GET", "/api/v1/disputes/"),
    ("GET", "/api/v1/notifications/"),
    ("GET", "/api/v1/members/"),
    ("POST", "/api/v1/contracts/"),
    ("POST", "/api/v1/contract-services/"),
    ("POST", "/api/v1/service-levels/"),
    ("POST", "/api/v1/measurements/"),
    ("POST", "/api/v1/incidents/"),
    ("POST", "/api/v1/maintenance-windows/"),
    ("POST", "/api/v1/responsibilities/"),
    ("POST", "/api/v1/disputes/"),
    ("PATCH", "/api/v1/contracts/{id}/"),
    ("PATCH", "/api/v1/service-levels/{id}/"),
    ("PATCH", "/api/v1/incidents/{id}/"),
]


@pytest.mark.parametrize(("method", "path"), FUZZED, ids=[f"{m} {p}" for m, p in FUZZED])
def test_the_live_api_conforms_to_its_schema(api_schema, world, method, path):
    token = Token.objects.create(user=world.p.provider_editor)
    operation = api_schema[path][method]
    fixed = _fixed_ids(world)
    strategy = operation.as_strategy(path_parameters={"id": fixed[path]} if path in fixed else None)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case) -> None:
        case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)

    exercise()


def test_every_operation_refuses_anonymous_callers(api_schema, world):
    refused = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(("/api/v1/auth/", "/api/v1/schema", "/api/v1/docs")):
            continue
        case = operation.Case(
            path_parameters={"id": world.p.contract.pk} if "{id}" in operation.path else None,
            body={} if operation.method.upper() in ("POST", "PUT", "PATCH") else None,
            media_type="application/json",
        )
        response = case.call()
        refused[f"{operation.method.upper()} {operation.path}"] = response.status_code
    assert len(refused) > 40
    assert set(refused.values()) == {401}, {k: v for k, v in refused.items() if v != 401}
