"""The statement and contract lists' filters and totals in the API, as the pages' totals
row: per currency, over every page of the filtered set, the latest revision of a period
counted once. Figures worked out by hand below."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from contracts.models import ContractService
from tests.api.conftest import client_for, make_statement
from tests.factories import ContractFactory, ContractServiceFactory

pytestmark = pytest.mark.django_db

FEBRUARY = date(2026, 2, 1)


@pytest.fixture
def book(world):
    """ACME-1 (EUR): January r1 300.00, breached, an open dispute (the world's); February
    r1 120.50 and r2 80.25, neither breached. ACME-USD (USD): January r1 45.00, breached.
    Latest credits: EUR 300.00 + 80.25 = 380.25; USD 45.00."""
    p = world.p
    met = [(world.reports, Decimal("99.6"), Decimal("0"))]
    for revision, credit in ((1, "120.50"), (2, "80.25")):
        make_statement(
            p.contract,
            world.cs,
            met,
            period_start=FEBRUARY,
            revision=revision,
            credit_total=credit,
        )
    usd = ContractFactory(
        provider=p.provider, customer=p.customer, reference="ACME-USD", currency="USD"
    )
    usd_cs = ContractServiceFactory(contract=usd)
    make_statement(
        usd, usd_cs, [(world.availability, Decimal("99.5"), Decimal("45"))], credit_total="45"
    )
    return world


def _get(user, path, query=None):
    response = client_for(user).get(path, query or {})
    assert response.status_code == 200, response.content
    return response.json()


# --------------------------------------------------------------------------- statements


def test_statement_totals_per_currency_count_the_latest_revision_of_each_period(book):
    totals = _get(book.p.customer_member, "/api/v1/statements/totals/")
    assert totals == [
        {"currency": "EUR", "statements": 3, "breached": 1, "disputed": 1, "credit": "380.25"},
        {"currency": "USD", "statements": 1, "breached": 1, "disputed": 0, "credit": "45.00"},
    ]


def test_statement_totals_take_the_lists_filters(book):
    customer = book.p.customer_member
    february = _get(customer, "/api/v1/statements/totals/", {"period_from": "2026-02-01"})
    assert february == [
        {"currency": "EUR", "statements": 2, "breached": 0, "disputed": 0, "credit": "80.25"}
    ]
    breached = {"breached": "true"}
    listed = _get(customer, "/api/v1/statements/", breached)
    assert listed["count"] == 2
    assert _get(customer, "/api/v1/statements/totals/", breached) == [
        {"currency": "EUR", "statements": 1, "breached": 1, "disputed": 1, "credit": "300.00"},
        {"currency": "USD", "statements": 1, "breached": 1, "disputed": 0, "credit": "45.00"},
    ]


def test_statement_totals_of_another_organisations_statements_are_empty(book):
    # Umbrella's customer sees its own statement only: none of Acme's figures.
    outsider = book.p.other_customer_member
    assert _get(outsider, "/api/v1/statements/totals/", {"contract": book.p.contract.pk}) == []


def test_statement_totals_refuse_bad_filters_field_by_field(book):
    response = client_for(book.p.customer_member).get(
        "/api/v1/statements/totals/",
        {"with_credit": "perhaps", "period_from": "2026-03-01", "period_to": "someday"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "with_credit": ["Enter true or false."],
        "period_to": ["Enter a valid date."],
    }


def _periods(user, query):
    listed = _get(user, "/api/v1/statements/", query)["results"]
    return sorted((s["period_start"], s["revision"]) for s in listed)


def test_a_range_ending_before_it_starts_matches_no_statement(book):
    customer = book.p.customer_member
    # February's two revisions of ACME-1, not January's statements (ACME-1's and USD's).
    february = {"period_from": "2026-02-10", "period_to": "2026-02-20"}
    assert _periods(customer, february) == [("2026-02-01", 1), ("2026-02-01", 2)]
    # Both revisions are listed and counted; the credit is the latest one's.
    assert _get(customer, "/api/v1/statements/totals/", february) == [
        {"currency": "EUR", "statements": 2, "breached": 0, "disputed": 0, "credit": "80.25"}
    ]
    # Both days are in February, whose statements overlap each of them: still none.
    inverted = {"period_from": "2026-02-20", "period_to": "2026-02-10"}
    assert _periods(customer, inverted) == []
    assert _get(customer, "/api/v1/statements/totals/", inverted) == []


# --------------------------------------------------------------------------- contracts


def _references(user, query):
    return sorted(c["reference"] for c in _get(user, "/api/v1/contracts/", query)["results"])


def test_contract_totals_per_currency_over_a_range_of_periods(book):
    whole_year = {"period_from": "2026-01-01", "period_to": "2026-12-31"}
    assert _get(book.p.customer_member, "/api/v1/contracts/totals/", whole_year) == [
        {"currency": "EUR", "contracts": 1, "credits": "380.25"},
        {"currency": "USD", "contracts": 1, "credits": "45.00"},
    ]
    # The provider also has its draft (no statements: no credit).
    assert _get(book.p.provider_editor, "/api/v1/contracts/totals/", whole_year) == [
        {"currency": "EUR", "contracts": 2, "credits": "380.25"},
        {"currency": "USD", "contracts": 1, "credits": "45.00"},
    ]


def test_contract_totals_without_a_range_are_this_years(book):
    with time_machine.travel("2026-06-15T12:00:00+00:00", tick=False):
        this_year = _get(book.p.customer_member, "/api/v1/contracts/totals/")
    with time_machine.travel("2027-06-15T12:00:00+00:00", tick=False):
        next_year = _get(book.p.customer_member, "/api/v1/contracts/totals/")
    assert this_year == [
        {"currency": "EUR", "contracts": 1, "credits": "380.25"},
        {"currency": "USD", "contracts": 1, "credits": "45.00"},
    ]
    assert next_year == [
        {"currency": "EUR", "contracts": 1, "credits": "0.00"},
        {"currency": "USD", "contracts": 1, "credits": "0.00"},
    ]


def test_contracts_filter_as_the_contract_list_page(book):
    customer = book.p.customer_member
    february = {"period_from": "2026-02-01", "period_to": "2026-02-28"}
    january = {"period_from": "2026-01-01", "period_to": "2026-01-31"}
    assert _references(customer, {**february, "with_credit": "true"}) == ["ACME-1"]
    assert _references(customer, {**february, "with_credit": "false"}) == ["ACME-USD"]
    assert _references(customer, {**january, "breached": "true"}) == ["ACME-1", "ACME-USD"]
    assert _references(customer, {**february, "breached": "true"}) == []
    assert _references(customer, {**february, "breached": "false"}) == ["ACME-1", "ACME-USD"]
    assert _references(customer, {"disputed": "open"}) == ["ACME-1"]
    assert _references(customer, {**february, "disputed": "any"}) == []
    assert _references(customer, {"q": "usd"}) == ["ACME-USD"]
    assert _references(customer, {"q": "GLOBEX"}) == ["ACME-1", "ACME-USD"]
    filtered = {**february, "with_credit": "true"}
    assert _get(customer, "/api/v1/contracts/totals/", filtered) == [
        {"currency": "EUR", "contracts": 1, "credits": "80.25"}
    ]


def test_contract_filters_never_reach_another_organisations_contracts(book):
    assert _references(book.p.other_customer_member, {"q": "ACME"}) == []
    assert _get(book.p.other_customer_member, "/api/v1/contracts/totals/", {"q": "ACME"}) == []


def test_contract_filters_refuse_bad_values_field_by_field(book):
    response = client_for(book.p.customer_member).get(
        "/api/v1/contracts/",
        {
            "with_credit": "maybe",
            "breached": "yes",
            "disputed": "sometimes",
            "period_from": "2026-03-01",
            "period_to": "2026-02-01T00:00",
            "q": "a\x00b",
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors == {
        "with_credit": ["Enter true or false."],
        "breached": ["Enter true or false."],
        "disputed": ["Select a valid choice. sometimes is not one of the available choices."],
        "period_to": ["Enter a valid date."],
        "q": ["Null characters are not allowed."],
    }
    bad_date = client_for(book.p.customer_member).get(
        "/api/v1/contracts/totals/", {"period_from": "someday"}
    )
    assert bad_date.status_code == 400
    assert list(bad_date.json()) == ["period_from"]


def test_a_range_ending_before_it_starts_matches_no_contract(book):
    customer = book.p.customer_member
    # A range alone drops no contract: it says which periods the credits are of.
    january = {"period_from": "2026-01-01", "period_to": "2026-01-31"}
    assert _references(customer, january) == ["ACME-1", "ACME-USD"]
    assert _get(customer, "/api/v1/contracts/totals/", january) == [
        {"currency": "EUR", "contracts": 1, "credits": "300.00"},
        {"currency": "USD", "contracts": 1, "credits": "45.00"},
    ]
    inverted = {"period_from": "2026-01-31", "period_to": "2026-01-01"}
    assert _references(customer, inverted) == []
    assert _get(customer, "/api/v1/contracts/totals/", inverted) == []


# --------------------------------------------------------------------------- queries


def test_list_and_totals_cost_a_fixed_number_of_queries(book, django_assert_num_queries):
    customer = client_for(book.p.customer_member)
    for i in range(5):
        usd = ContractService.objects.get(contract__reference="ACME-USD")
        make_statement(
            usd.contract,
            usd,
            [(book.availability, Decimal("99.5"), Decimal("1"))],
            period_start=date(2025, i + 1, 1),
        )
    query = {"period_from": "2025-01-01", "with_credit": "true", "breached": "true"}
    with django_assert_num_queries(2):  # the count and the page
        assert customer.get("/api/v1/contracts/", query).json()["count"] == 2
    with django_assert_num_queries(1):
        assert len(customer.get("/api/v1/contracts/totals/", query).json()) == 2
    with django_assert_num_queries(1):
        assert len(customer.get("/api/v1/statements/totals/", query).json()) == 2
