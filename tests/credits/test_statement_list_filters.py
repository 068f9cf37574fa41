"""The statement list's filters ("with credit", "disputed", "breached", period range), its
totals row per currency and its CSV of one row per statement, in the page and the API."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from credits.exports import STATEMENT_LIST_CSV_COLUMNS
from credits.models import Dispute
from credits.views import statements as statement_views
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement
from tests.factories import ContractFactory, ContractServiceFactory, CustomerFactory

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

MISSED = Decimal("98.0")  # below the target of 99.5: the objective is breached
MET = Decimal("99.9")


@pytest.fixture
def book(personas):
    """Globex's statements, hand-checked:

    ========  ======================  ======  ========  ===============
    name      period                  credit  breached  dispute
    ========  ======================  ======  ========  ===============
    jan       ACME-1 Jan 2026         20.00   yes       -
    feb       ACME-1 Feb 2026          0.00   no        -
    mar1      ACME-1 Mar 2026 r1      50.00   yes       rejected
    mar2      ACME-1 Mar 2026 r2      30.00   yes       open
    apr       ACME-1 Apr 2026          0.00   no (no data)  -
    q1        ACME-USD Q1 2026       100.00   yes       -
    week      ACME-USD 6-12 Apr 2026   5.00   no        open
    ========  ======================  ======  ========  ===============

    Initech's UMB-1 (777.77 EUR, breached, disputed) is never Globex's.
    """
    availability_objective(personas)
    cs = personas.contract.services.get()
    usd = ContractFactory(
        provider=personas.provider,
        customer=personas.customer,
        reference="ACME-USD",
        currency="USD",
    )
    usd_cs = ContractServiceFactory(contract=usd)
    statements = {
        "jan": make_statement(
            personas.contract,
            period_start=date(2026, 1, 1),
            lines=[LineSpec(cs, Decimal("20.00"), attainment=MISSED)],
        ),
        "feb": make_statement(
            personas.contract,
            period_start=date(2026, 2, 1),
            lines=[LineSpec(cs, Decimal("0.00"), attainment=MET)],
        ),
        "mar1": make_statement(
            personas.contract,
            period_start=date(2026, 3, 1),
            lines=[LineSpec(cs, Decimal("50.00"), attainment=MISSED)],
        ),
        "mar2": make_statement(
            personas.contract,
            period_start=date(2026, 3, 1),
            revision=2,
            lines=[LineSpec(cs, Decimal("30.00"), attainment=MISSED)],
        ),
        "apr": make_statement(
            personas.contract,
            period_start=date(2026, 4, 1),
            lines=[LineSpec(cs, Decimal("0.00"), attainment=None)],
        ),
        "q1": make_statement(
            usd,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
            lines=[LineSpec(usd_cs, Decimal("100.00"), attainment=MISSED)],
        ),
        "week": make_statement(
            usd,
            period_start=date(2026, 4, 6),
            period_end=date(2026, 4, 12),
            lines=[LineSpec(usd_cs, Decimal("5.00"), attainment=MET)],
        ),
        "other": make_statement(
            personas.other_contract,
            period_start=date(2026, 3, 1),
            lines=[LineSpec(personas.other_contract.services.get(), Decimal("777.77"), MISSED)],
        ),
    }
    Dispute.objects.create(
        line=statements["mar1"].lines.get(),
        reason="Late",
        status=Dispute.Status.REJECTED,
        resolution="The samples were on time.",
        resolved_at=NOW,
    )
    for name in ("mar2", "week", "other"):
        Dispute.objects.create(line=statements[name].lines.get(), reason="Late")
    return statements


def _listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr data-statement="(\d+)"', response.content.decode())]


def _ids(book, *names: str) -> set[int]:
    return {book[name].pk for name in names}


def _totals(response) -> dict[str, dict[str, str]]:
    """Per currency, the texts of the totals row's cells."""
    html = response.content.decode()
    (foot,) = re.findall(r"<tfoot>(.*?)</tfoot>", html, re.S)
    rows = {}
    for currency, row in re.findall(
        r'<tr class="totals" data-currency="(\w+)">(.*?)</tr>', foot, re.S
    ):
        cells = dict(re.findall(r'data-total="(\w+)">(.*?)</td>', row, re.S))
        (heading,) = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', row, re.S)
        rows[currency] = {"heading": " ".join(heading.split()), **cells}
    return rows


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    content = b"".join(response.streaming_content).decode()
    reader = csv.reader(io.StringIO(content))
    assert next(reader) == STATEMENT_LIST_CSV_COLUMNS
    return [dict(zip(STATEMENT_LIST_CSV_COLUMNS, row, strict=True)) for row in reader]


FILTERS = [
    ({}, ("jan", "feb", "mar1", "mar2", "apr", "q1", "week")),
    ({"with_credit": "on"}, ("jan", "mar1", "mar2", "q1", "week")),
    ({"breached": "on"}, ("jan", "mar1", "mar2", "q1")),
    ({"disputed": "open"}, ("mar2", "week")),
    ({"disputed": "any"}, ("mar1", "mar2", "week")),
    # Overlap: the quarter and March's revisions have days in 15-20 March.
    ({"period_from": "2026-03-15", "period_to": "2026-03-20"}, ("mar1", "mar2", "q1")),
    ({"period_from": "2026-04-01"}, ("apr", "week")),
    ({"period_to": "2026-01-31"}, ("jan", "q1")),
    ({"with_credit": "on", "breached": "on", "latest_only": "on"}, ("jan", "mar2", "q1")),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_lists_the_hand_checked_statements(client, personas, book, query, expected):
    client.force_login(personas.customer_member)
    listed = _listed(client.get(reverse("statement-list"), query))
    assert set(listed) == _ids(book, *expected)
    assert len(listed) == len(expected)


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_the_csv_has_one_row_per_statement_of_the_filtered_list(
    client, personas, book, query, expected
):
    client.force_login(personas.customer_member)
    rows = _csv(client.get(reverse("statement-summary-export"), query))
    assert sorted(int(r["statement_id"]) for r in rows) == sorted(_ids(book, *expected))


def test_csv_rows_carry_the_statement_figures_with_dot_decimals(client, personas, book):
    client.force_login(personas.customer_member)
    rows = {
        int(r["statement_id"]): r for r in _csv(client.get(reverse("statement-summary-export")))
    }
    assert rows[book["mar1"].pk] == {
        "statement_id": str(book["mar1"].pk),
        "contract": "ACME-1",
        "customer": "Globex",
        "provider": "Acme Networks",
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "status": "issued",
        "revision": "1",
        "superseded": "yes",
        "payable_credit": "50.00",
        "currency": "EUR",
        "breached": "yes",
        "disputed": "no",  # its dispute was rejected: none open
    }
    assert rows[book["week"].pk]["period_end"] == "2026-04-12"
    assert rows[book["week"].pk]["disputed"] == "yes"
    assert rows[book["q1"].pk]["payable_credit"] == "100.00"
    assert rows[book["apr"].pk]["breached"] == "no"


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(client, personas, book):
    evil = CustomerFactory(name="=HYPERLINK(1)", slug="evil")
    contract = ContractFactory(provider=personas.provider, customer=evil, reference="@SUM")
    make_statement(
        contract,
        period_start=date(2026, 1, 1),
        lines=[LineSpec(ContractServiceFactory(contract=contract), Decimal("1.00"))],
    )
    client.force_login(personas.provider_viewer)
    (row,) = [
        r
        for r in _csv(client.get(reverse("statement-summary-export")))
        if r["customer"] != "Globex"
    ]
    assert (row["customer"], row["contract"]) == ("'=HYPERLINK(1)", "'@SUM")


def test_totals_are_per_currency_over_every_page(client, personas, book, monkeypatch):
    monkeypatch.setattr(statement_views, "STATEMENTS_PER_PAGE", 2)
    client.force_login(personas.customer_member)
    first = client.get(reverse("statement-list"))
    assert len(_listed(first)) == 2
    last = client.get(reverse("statement-list"), {"page": 4})
    assert len(_listed(last)) == 1
    for response in (first, last):
        totals = _totals(response)
        assert set(totals) == {"EUR", "USD"}
        # EUR: the latest revisions pay 20 + 0 + 30 (not March's 50 replaced) + 0.
        assert totals["EUR"]["heading"] == "Total in EUR: 5 statements on every page"
        assert totals["EUR"]["credit"].startswith("50.00 EUR")
        assert totals["EUR"]["breached"] == "3 breached"
        assert totals["EUR"]["disputed"] == "1 open"
        assert totals["USD"]["heading"] == "Total in USD: 2 statements on every page"
        assert totals["USD"]["credit"].startswith("105.00 USD")
        assert totals["USD"]["breached"] == "1 breached"
        assert totals["USD"]["disputed"] == "1 open"
    # The pages' links keep the filters.
    filtered = client.get(reverse("statement-list"), {"with_credit": "on"}).content.decode()
    assert 'href="?with_credit=on&amp;page=2"' in filtered
    assert f'href="{reverse("statement-summary-export")}?with_credit=on"' in filtered


def test_totals_follow_the_filters(client, personas, book):
    client.force_login(personas.customer_member)
    totals = _totals(client.get(reverse("statement-list"), {"disputed": "open"}))
    assert totals["EUR"]["credit"].startswith("30.00 EUR")
    assert totals["USD"]["credit"].startswith("5.00 USD")
    none = client.get(reverse("statement-list"), {"period_from": "2026-05-01"})
    assert _listed(none) == []
    assert "<tfoot>" not in none.content.decode()  # nothing listed, no totals row
    eur = _totals(client.get(reverse("statement-list"), {"contract": personas.contract.pk}))
    assert set(eur) == {"EUR"}


def test_the_totals_row_is_table_semantics_for_screen_readers(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-list")).content.decode()
    assert '<caption class="visually-hidden">' in html
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert foot.count('<th scope="row"') == 2
    assert "payable credit of the latest revisions" in foot


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period_from": "2026-04-01", "period_to": "2026-03-01"}, "period_to", "cannot be before"),
        ({"period_from": "2026-13-01"}, "period_from", "Enter a valid date"),
        ({"disputed": "maybe"}, "disputed", "Select a valid choice"),
    ],
)
def test_bad_filters_show_the_error_beside_the_field_and_no_rows(
    client, personas, book, query, field, message
):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-list"), query)
    html = response.content.decode()
    assert response.status_code == 200
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_errors">(.*?)</ul>', html, re.S)
    assert errors is not None and message in errors.group(1)
    assert _listed(response) == []
    assert "<tfoot>" not in html
    export = client.get(reverse("statement-summary-export"), query)
    assert export.status_code == 400
    assert not export.streaming


def test_outsiders_see_none_of_globex_statements_totals_or_rows(client, personas, book):
    client.force_login(personas.other_customer_member)
    response = client.get(reverse("statement-list"))
    assert _listed(response) == [book["other"].pk]
    totals = _totals(response)
    assert set(totals) == {"EUR"}
    assert totals["EUR"]["credit"].startswith("777.77 EUR")
    rows = _csv(client.get(reverse("statement-summary-export")))
    assert [int(r["statement_id"]) for r in rows] == [book["other"].pk]
    # Globex's contract is not theirs to choose: an error, not Globex's rows.
    response = client.get(reverse("statement-list"), {"contract": personas.contract.pk})
    assert _listed(response) == []
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-list")).content.decode()
    assert "777.77" not in html
    assert str(book["other"].pk) not in {
        r["statement_id"] for r in _csv(client.get(reverse("statement-summary-export")))
    }


def _queries(client, url: str, query: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, query)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _more_statements(personas, count: int) -> None:
    cs = personas.contract.services.get()
    for n in range(count):
        make_statement(
            personas.contract,
            period_start=date(2020 + n // 12, n % 12 + 1, 1),
            lines=[LineSpec(cs, Decimal("1.00"), attainment=MISSED)],
        )


@pytest.mark.parametrize("name", ["statement-list", "statement-summary-export"])
def test_query_counts_do_not_grow_with_the_statements(client, personas, book, name):
    client.force_login(personas.customer_member)
    query = {"with_credit": "on", "breached": "on", "contract": personas.contract.pk}
    few = _queries(client, reverse(name), query)
    _more_statements(personas, 30)
    many = _queries(client, reverse(name), query)
    assert many == few
    # Session, user, the chosen contract, then the page: memberships, unread badge, the
    # filter's contracts, the count, the rows, the totals; or the CSV's one query.
    assert few <= (9 if name == "statement-list" else 4)


# --------------------------------------------------------------------------- API


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"with_credit": "true"}, ("jan", "mar1", "mar2", "q1", "week")),
        ({"with_credit": "false"}, ("feb", "apr")),
        ({"breached": "true"}, ("jan", "mar1", "mar2", "q1")),
        ({"breached": "false"}, ("feb", "apr", "week")),
        ({"disputed": "open"}, ("mar2", "week")),
        ({"disputed": "any"}, ("mar1", "mar2", "week")),
        ({"disputed": "none"}, ("jan", "feb", "apr", "q1")),
        ({"period_from": "2026-03-15", "period_to": "2026-03-20"}, ("mar1", "mar2", "q1")),
        (
            {"with_credit": "true", "latest": "true", "period_to": "2026-03-31"},
            ("jan", "mar2", "q1"),
        ),
    ],
)
def test_api_statement_list_takes_the_same_filters(personas, book, query, expected):
    response = _api(personas.customer_member).get("/api/v1/statements/", query)
    assert response.status_code == 200
    assert {s["id"] for s in response.json()["results"]} == _ids(book, *expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"with_credit": "yes please"}, "with_credit"),
        ({"breached": "maybe"}, "breached"),
        ({"breached": ""}, "breached"),
        ({"disputed": "perhaps"}, "disputed"),
        ({"period_from": "2026-02-30"}, "period_from"),
        # An inverted range is no error in the API: it matches nothing (tests/api).
        ({"period_from": "2026-04-01", "period_to": "31.03.2026"}, "period_to"),
    ],
)
def test_api_bad_filter_values_are_a_400_naming_the_field(personas, book, query, field):
    response = _api(personas.customer_member).get("/api/v1/statements/", query)
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_api_filters_never_reach_another_customers_statements(personas, book):
    response = _api(personas.other_customer_member).get(
        "/api/v1/statements/", {"with_credit": "true", "disputed": "open"}
    )
    assert [s["id"] for s in response.json()["results"]] == [book["other"].pk]


def test_api_schema_documents_the_filters(personas):
    response = _api(personas.customer_member).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    parameters = {
        p["name"]: p for p in response.json()["paths"]["/api/v1/statements/"]["get"]["parameters"]
    }
    assert parameters["with_credit"]["schema"]["type"] == "boolean"
    assert parameters["breached"]["schema"]["type"] == "boolean"
    assert parameters["disputed"]["schema"]["enum"] == ["any", "none", "open"]
    assert parameters["period_from"]["schema"] == {"type": "string", "format": "date"}
    assert (
        "overlap" in parameters["period_from"]["description"]
        or "any of its days" in (parameters["period_from"]["description"])
    )


# --------------------------------------------------------------------------- contract list


def _contracts(response) -> list[str]:
    assert response.status_code == 200
    html = response.content.decode()
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if body is None:
        return []
    return re.findall(r'<td><a href="/contracts/\d+/">([^<]+)</a></td>', body.group(1))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # This year's credits: ACME-1 50.00, ACME-USD 105.00.
        ({"with_credit": "on"}, {"ACME-1", "ACME-USD"}),
        # April: ACME-1's statement credits nothing, the USD week 5.00.
        (
            {"with_credit": "on", "period_from": "2026-04-01", "period_to": "2026-04-30"},
            {"ACME-USD"},
        ),
        ({"breached": "on"}, {"ACME-1", "ACME-USD"}),
        ({"breached": "on", "period_from": "2026-04-01"}, set()),
        # The quarter overlaps March: both breached then.
        (
            {"breached": "on", "period_from": "2026-03-01", "period_to": "2026-03-31"},
            {"ACME-1", "ACME-USD"},
        ),
        ({"breached": "on", "period_to": "2026-02-28"}, {"ACME-1", "ACME-USD"}),
        ({"disputed": "open"}, {"ACME-1", "ACME-USD"}),
        ({"disputed": "open", "period_to": "2026-03-31"}, {"ACME-1"}),
        ({"disputed": "any", "period_from": "2026-04-01"}, {"ACME-USD"}),
        ({"disputed": "open", "q": "USD"}, {"ACME-USD"}),
    ],
)
def test_contract_list_filters_by_its_statements(client, personas, book, query, expected):
    client.force_login(personas.customer_member)
    assert set(_contracts(client.get(reverse("contract-list"), query))) == expected


def test_contract_list_totals_credits_per_currency_in_the_range(client, personas, book):
    client.force_login(personas.customer_member)
    response = client.get(reverse("contract-list"), {"with_credit": "on"})
    totals = _totals(response)
    assert totals["EUR"]["heading"] == "Total in EUR: 1 contract on every page"
    assert totals["EUR"]["credit"] == "50.00 EUR"
    assert totals["USD"]["credit"] == "105.00 USD"
    march = client.get(
        reverse("contract-list"), {"period_from": "2026-03-01", "period_to": "2026-03-31"}
    )
    html = march.content.decode()
    assert "Credits in these periods" in html
    totals = _totals(march)
    assert totals["EUR"]["credit"] == "30.00 EUR"  # March's latest revision, not 50 + 30
    assert totals["USD"]["credit"] == "100.00 USD"  # the quarter overlaps March
    # Sorting and paging keep the filters.
    assert "period_from=2026-03-01&amp;period_to=2026-03-31&amp;sort=" in html


def test_contract_list_bad_filters_show_the_error_beside_the_field(client, personas, book):
    client.force_login(personas.customer_member)
    for query, field in (
        ({"period_from": "2026-04-01", "period_to": "2026-03-01"}, "period_to"),
        ({"period_from": "yesterday"}, "period_from"),
        ({"disputed": "maybe"}, "disputed"),
    ):
        response = client.get(reverse("contract-list"), query)
        html = response.content.decode()
        field_html = re.search(rf'id="field-{field}">(.*?)</div>\s*(?:<div|\{{|$)', html, re.S)
        assert field_html is not None and "errorlist" in field_html.group(1), query
        assert _contracts(response) == []
        assert "<tfoot>" not in html


def test_contract_list_outsider_sees_only_their_contract_and_totals(client, personas, book):
    client.force_login(personas.other_customer_member)
    response = client.get(reverse("contract-list"), {"breached": "on", "disputed": "open"})
    assert _contracts(response) == ["UMB-1"]
    assert _totals(response) == {
        "EUR": {"heading": "Total in EUR: 1 contract on every page", "credit": "777.77 EUR"}
    }


def test_contract_list_query_count_does_not_grow_with_statements(client, personas, book):
    client.force_login(personas.customer_member)
    query = {"with_credit": "on", "breached": "on", "disputed": "any", "period_to": "2026-12-31"}
    few = _queries(client, reverse("contract-list"), query)
    _more_statements(personas, 30)
    for n in range(5):
        contract = ContractFactory(
            provider=personas.provider, customer=personas.customer, reference=f"MORE-{n}"
        )
        make_statement(
            contract,
            period_start=date(2026, 2, 1),
            lines=[LineSpec(ContractServiceFactory(contract=contract), Decimal("2.00"), MISSED)],
        )
    many = _queries(client, reverse("contract-list"), query)
    assert many == few
