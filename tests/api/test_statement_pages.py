"""The statements list served from stored documents: the same page, count and links as
DRF renders them itself, in a stable order, within the caller's scope."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from credits.api.serializers import StatementSerializer
from credits.models import Statement, StatementDocument
from tests.api.conftest import client_for, make_statement, url
from tests.factories import ContractFactory, ContractServiceFactory, ServiceLevelFactory

pytestmark = pytest.mark.django_db

# DRF's own rendering (what the list answered before it spliced stored documents).
DRF_RENDERED = {"HTTP_ACCEPT": "application/json; indent=2"}


@pytest.fixture
def book(personas):
    """Two of the customer's contracts with statements of the same months (ties on the
    period), a second revision, and statements of another customer."""
    level = ServiceLevelFactory(
        provider=personas.provider,
        key="availability",
        credit_rule={"kind": "tiered", "tiers": [{"bound": "99.9", "percent": "10"}]},
    )
    other_level = ServiceLevelFactory(provider=personas.provider, key="reports")
    second = ContractFactory(provider=personas.provider, customer=personas.customer)
    ContractServiceFactory(contract=second)
    for contract in (personas.contract, second, personas.other_contract):
        cs = contract.services.get()
        for month in range(1, 7):
            lines = [(level, Decimal("99.5"), Decimal("30")), (other_level, None, Decimal("0"))]
            make_statement(contract, cs, lines, period_start=date(2025, month, 1))
    cs = personas.contract.services.get()
    make_statement(
        personas.contract,
        cs,
        [(level, Decimal("99.95"), Decimal("0"))],
        period_start=date(2025, 3, 1),
        revision=2,
    )
    return personas


def mine(personas):
    return Statement.objects.filter(contract__customer=personas.customer).order_by(
        "-period_start", "-revision", "-id"
    )


def test_pages_hold_every_statement_once_in_order_with_drf_count_and_links(book):
    client = client_for(book.customer_member)
    expected = list(mine(book).values_list("id", flat=True))
    assert len(expected) == 13
    for attempt in ("first read, rendered", "read again, stored"):
        seen = []
        for page in (1, 2, 3):
            response = client.get(url("statement"), {"page_size": 5, "page": page})
            assert response.status_code == 200, attempt
            assert response["Content-Type"] == "application/json"
            body = json.loads(response.content)
            drf = client.get(url("statement"), {"page_size": 5, "page": page}, **DRF_RENDERED)
            assert body == json.loads(drf.content), (attempt, page)
            assert list(body) == ["count", "next", "previous", "results"]
            assert body["count"] == 13
            seen += [item["id"] for item in body["results"]]
        assert seen == expected, attempt
    assert StatementDocument.objects.count() == 13


def test_links_are_drf_page_links(book):
    client = client_for(book.customer_member)
    first = client.get(url("statement"), {"page_size": 5}).json()
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/statements/?page=2&page_size=5"
    second = client.get(first["next"]).json()
    assert second["previous"] == "http://testserver/api/v1/statements/?page_size=5"
    assert second["next"] == "http://testserver/api/v1/statements/?page=3&page_size=5"
    last = client.get(url("statement"), {"page_size": 5, "page": "last"}).json()
    assert last["next"] is None
    assert last["previous"] == "http://testserver/api/v1/statements/?page=2&page_size=5"
    assert [item["id"] for item in last["results"]] == [s.pk for s in mine(book)[10:]]


def test_each_document_is_the_statement_as_the_serializer_renders_it(book):
    client = client_for(book.customer_member)
    client.get(url("statement"), {"page_size": 100})  # stores them
    body = client.get(url("statement"), {"page_size": 100}).json()
    statements = {s.pk: s for s in mine(book).prefetch_related("lines")}
    rendered = {
        pk: json.loads(json.dumps(StatementSerializer(s).data)) for pk, s in statements.items()
    }
    assert {item["id"]: item for item in body["results"]} == rendered


@pytest.mark.parametrize("page", ["4", "0", "-1", "two", "1.5"])
def test_a_page_that_does_not_exist_is_404_as_drf_says(book, page):
    client = client_for(book.customer_member)
    response = client.get(url("statement"), {"page_size": 5, "page": page})
    assert response.status_code == 404
    drf = client.get(url("statement"), {"page_size": 5, "page": page}, **DRF_RENDERED)
    assert (drf.status_code, drf.json()) == (404, response.json())


def test_an_empty_scope_is_an_empty_first_page(personas):
    response = client_for(personas.customer_member).get(url("statement"))
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_counts_and_pages_follow_filters_and_scope(book):
    client = client_for(book.customer_member)

    def page(**params):
        return client.get(url("statement"), {"page_size": 2, **params}).json()

    assert page(contract=book.contract.pk)["count"] == 7
    assert page(contract=book.contract.pk, latest="true")["count"] == 6
    assert page(latest="false")["count"] == 1
    assert page(period_start="2025-03-01")["count"] == 3
    assert page(contract=book.other_contract.pk)["count"] == 0
    outsider = client_for(book.other_customer_member).get(url("statement")).json()
    assert outsider["count"] == 6
    assert {item["contract"] for item in outsider["results"]} == {book.other_contract.pk}
    assert client.get(url("statement"), {"period_start": "March"}).status_code == 400


def test_the_browsable_api_still_renders_the_list(book):
    response = client_for(book.customer_member).get(url("statement"), {"format": "api"})
    assert response.status_code == 200
    assert b"Statement" in response.content


def test_a_statement_reads_the_same_first_and_again_in_the_list_and_alone(book):
    client = client_for(book.customer_member)
    first = client.get(url("statement"), {"page_size": 100}).content
    again = client.get(url("statement"), {"page_size": 100}).content
    assert again == first  # the stored text is the rendering sent on the first read
    listed = json.loads(first)["results"][0]
    alone = client.get(url("statement", listed["id"]))
    assert alone["Content-Type"] == "application/json"
    assert alone.json() == listed
    drf = client.get(url("statement", listed["id"]), **DRF_RENDERED)
    assert drf.json() == listed


def test_another_customers_statement_is_404_alone(book):
    theirs = Statement.objects.filter(contract=book.other_contract).first()
    response = client_for(book.customer_member).get(url("statement", theirs.pk))
    assert response.status_code == 404


def test_an_inactive_user_has_no_statements_not_an_error(book):
    from credits.api.views import StatementPagination

    book.customer_member.is_active = False
    book.customer_member.save()
    statements = Statement.objects.visible_to(book.customer_member)
    assert StatementPagination._page_rows(statements.order_by("-id"), 0, 20) == []


@pytest.mark.parametrize("revision", ["-1", "40000"])
def test_a_revision_no_statement_can_have_answers_an_empty_page(book, revision):
    # Outside the column's range, Django knows the filter matches nothing without asking
    # the database (EmptyResultSet): the page is empty, not an error.
    client = client_for(book.customer_member)

    response = client.get(url("statement"), {"revision": revision, "page_size": 5})

    assert response.status_code == 200, response.content
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
