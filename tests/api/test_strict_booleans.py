"""Every boolean query parameter of the API is true or false (1 or 0): any other word is a
400 naming the parameter, never "no filter" (which would answer every row)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_filters import BooleanFilter
from drf_spectacular.generators import SchemaGenerator

from slaportal.api.filtering import StrictBooleanFilter
from tests.api.conftest import client_for, make_statement
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db


def _boolean_parameters() -> dict[str, list[str]]:
    """Per GET path of the schema, its boolean query parameters."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found: dict[str, list[str]] = {}
    for path, operations in schema["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        names = [
            p["name"]
            for p in parameters
            if p["in"] == "query" and p["schema"].get("type") == "boolean"
        ]
        if names:
            found[path] = names
    return found


def _views_with_filters():
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    for path, _, method, view in generator.endpoints:
        filterset = getattr(view, "filterset_class", None)
        if filterset is not None:
            yield f"{method} {path}", filterset


def test_every_boolean_filter_of_the_api_is_the_strict_one():
    loose = {
        f"{label}: {name}"
        for label, filterset in _views_with_filters()
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, BooleanFilter) and not isinstance(declared, StrictBooleanFilter)
    }
    assert not loose


@pytest.fixture
def ticket_line(world):
    p = world.p
    level = ServiceLevelFactory(
        provider=p.provider,
        key="first-response",
        indicator="response_time",
        target=Decimal("95"),
        threshold=Decimal("15"),
    )
    _, (line,) = make_statement(
        p.contract,
        world.cs,
        [(level, Decimal("90"), Decimal("0"))],
        period_start=world.statement.period_start.replace(month=3),
    )
    return line


def test_a_word_other_than_true_or_false_is_a_400_naming_the_parameter(world, ticket_line):
    found = _boolean_parameters()
    line_of_kind = {
        "samples": world.free_line.pk,
        "incidents": world.line.pk,
        "lapses": world.line.pk,
        "tickets": ticket_line.pk,
    }
    client = client_for(world.p.operator)
    checked = set()
    for path, names in found.items():
        if "{id}" in path:
            kind = path.rstrip("/").rsplit("/", 1)[1]
            path = path.replace("{id}", str(line_of_kind[kind]))
        for name in names:
            for word in ("perhaps", "yes", "t", "2"):
                response = client.get(path, {name: word})
                assert response.status_code == 400, (path, name, word, response.content)
                assert response.json() == {name: ["Enter true or false."]}, (path, name)
            assert client.get(path, {name: "true"}).status_code == 200, (path, name)
            assert client.get(path, {name: "0"}).status_code == 200, (path, name)
            checked.add((path.split("/")[3], name))
    assert {
        ("notifications", "read"),
        ("service-levels", "enabled"),
        ("tickets", "open"),
        ("statements", "latest"),
        ("statements", "with_credit"),
        ("statements", "breached"),
        ("contracts", "with_credit"),
        ("contracts", "breached"),
        ("statement-lines", "only"),
    } <= checked


def test_read_false_lists_the_unread_notifications_and_true_the_read(world):
    user = world.p.customer_member
    notification = world.notifications["customer_member"]
    client = client_for(user)
    assert [
        n["id"] for n in client.get("/api/v1/notifications/", {"read": "false"}).json()["results"]
    ] == [notification.pk]
    assert client.get("/api/v1/notifications/", {"read": "true"}).json()["results"] == []
