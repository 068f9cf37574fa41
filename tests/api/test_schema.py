"""The OpenAPI schema is valid and true: schemathesis fuzzes the live API against it.

Every operation of the schema gets a bounded number of generated requests, schema-conforming
(positive) and not (negative), as a provider editor and as a customer member, and every
answer goes through all of schemathesis' checks (the CLI's `--checks all`): no 5xx, a
documented status code, content type, headers and body, negative data refused, positive
data accepted, an unsupported method answered 405 with its Allow header, and so on.
Unauthenticated calls of every operation are refused with 401.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi import checks

from tests.api.conftest import World, client_for

pytestmark = pytest.mark.django_db

load_all_checks()


def positive_data_acceptance(ctx, response, case):
    """schemathesis' check, but for a 400 about the body of a schema-valid write: the schema
    states each field's type, not the rules across fields and rows that the models keep (a
    currency that is no ISO 4217 code, an end before its start, a key no objective has, a
    username and password that match no user). A 400 naming a query parameter still fails."""
    if response.status_code == 400 and case.body is not NOT_SET:
        errors = response.json()
        named = errors.keys() if isinstance(errors, dict) else ()
        if not set(named) & set(case.query or {}):
            return None
    return checks.positive_data_acceptance(ctx, response, case)


ALL_CHECKS = [
    positive_data_acceptance if check is checks.positive_data_acceptance else check
    for check in CHECKS.get_all()
]
# Generated requests per operation, generation mode and persona: ~100 operations x 2 x 2
# x EXAMPLES requests (each with the checks' own requests) keep the suite's time; a deeper
# run before a release: SCHEMA_FUZZ_EXAMPLES=50.
EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "2"))


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
        "/api/v1/claims/{id}/": world.claim.pk,
        "/api/v1/statement-lines/{id}/samples/": world.free_line.pk,
        "/api/v1/statement-lines/{id}/incidents/": world.line.pk,
        "/api/v1/statement-lines/{id}/lapses/": world.line.pk,
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


PERSONAS = ["provider_editor", "customer_member"]


def _failures_of(exc: BaseException, case) -> list[str]:
    found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    sent = f"path {case.path_parameters} query {case.query} body {str(case.body)[:120]!r}"
    return [f"{f.title} ({sent}): {' '.join(str(f.message).split())[:200]}" for f in found]


def _can_be_invalid(operation) -> bool:
    """Whether a request can break the operation's schema at all: it has a body, a query
    parameter, or a path parameter narrower than any text (else negative generation
    searches in vain)."""
    if list(operation.body) or list(operation.query):
        return True
    return any(
        set(parameter.definition.get("schema", {})) - {"type"}
        or parameter.definition.get("schema", {}).get("type", "string") != "string"
        for parameter in operation.path_parameters
    )


def _exercise(strategy, world: World, headers: dict, found: set[str], mode, examples: int) -> None:
    """Up to EXAMPLES generated requests of one operation, every failure kept in ``found``
    (one failing request does not hide the others)."""

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case) -> None:
        if mode is GenerationMode.POSITIVE:
            _with_ids(case, _in_scope_ids(world))
        try:
            case.call_and_validate(headers=headers, checks=ALL_CHECKS)
        except (Failure, FailureGroup) as exc:
            found.update(_failures_of(exc, case))

    try:
        exercise()
    except Unsatisfiable:
        # Nothing about the operation can be made invalid (a GET without parameters).
        assert mode is GenerationMode.NEGATIVE


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_live_api_conforms_to_its_schema_under_every_check(api_schema, world, persona):
    token = Token.objects.create(user=world.user(persona))
    # A customer reads what the provider writes: half the examples, for the suite's time.
    examples = EXAMPLES if persona == "provider_editor" else max(1, EXAMPLES // 2)
    headers = {"Authorization": f"Token {token.key}"}
    fixed = _fixed_ids(world)
    failures: dict[str, set[str]] = defaultdict(set)
    for result in api_schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        modes = [GenerationMode.POSITIVE]
        if _can_be_invalid(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            # Positive requests name objects in scope; negative ones get any id at all
            # (text, negative numbers…), which must be a JSON 404 or 400.
            in_scope = mode is GenerationMode.POSITIVE and operation.path in fixed
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters={"id": fixed[operation.path]} if in_scope else None,
            )

            found = failures[f"{label} ({mode.value})"]
            _exercise(strategy, world, headers, found, mode, examples)
    failed = {label: found for label, found in failures.items() if found}
    assert not failed, "\n".join(
        f"{label}: {'; '.join(sorted(found))}" for label, found in sorted(failed.items())
    )


def test_every_operation_refuses_anonymous_callers(api_schema, world):
    refused = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(("/api/v1/auth/", "/api/v1/schema", "/api/v1/docs")):
            continue
        if operation.path == "/api/v1/invitations/accept/":
            continue  # open by design: an invitee without an account accepts by creating it
        case = operation.Case(
            path_parameters={
                parameter.name: world.p.contract.pk if parameter.name == "id" else "x"
                for parameter in operation.path_parameters
            },
            body={} if operation.method.upper() in ("POST", "PUT", "PATCH") else None,
            media_type="application/json",
        )
        response = case.call()
        refused[f"{operation.method.upper()} {operation.path}"] = response.status_code
    assert len(refused) > 40
    assert set(refused.values()) == {401}, {k: v for k, v in refused.items() if v != 401}
