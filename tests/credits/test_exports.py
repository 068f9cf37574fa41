"""Statement downloads (CSV, PDF) and the SVG chart geometry."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from credits import exports
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement
from tests.factories import ContractServiceFactory, ServiceFactory


@pytest.fixture
def capped(personas):
    """A March statement of ACME-1 with two lines, capped: 300 + 150 → 300.00 EUR."""
    availability_objective(personas)
    cs = personas.contract.services.get()
    second = ContractServiceFactory(
        contract=personas.contract,
        service=ServiceFactory(provider=personas.provider, name="=HYPERLINK(1)"),
    )
    return make_statement(
        personas.contract,
        period_start=date(2026, 3, 1),
        lines=[
            LineSpec(cs, Decimal("300.00"), attainment=Decimal("96.12345")),
            LineSpec(second, Decimal("150.00"), attainment=None),
        ],
        cap_adjustment=Decimal("-150.00"),
        at_risk_amount=Decimal("300.00"),
    )


def _rows(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode())))


@pytest.mark.django_db
def test_statement_csv_has_one_row_per_line_with_its_figures(client, personas, capped):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-csv", args=[capped.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = _rows(response)
    lines = list(capped.lines.order_by("contract_service__service__code", "key"))
    # The lines, then the cap adjustment and the total, whose amounts add up.
    *rows, cap_row, total_row = rows
    assert [int(r["line_id"]) for r in rows] == [line.pk for line in lines]
    assert (cap_row["key"], total_row["key"], cap_row["line_id"]) == ("cap_adjustment", "total", "")
    assert Decimal(cap_row["amount"]) == capped.cap_adjustment
    assert Decimal(total_row["amount"]) == capped.credit_total
    assert sum(Decimal(r["amount"]) for r in [*rows, cap_row]) == capped.credit_total
    by_id = {int(r["line_id"]): r for r in rows}
    for line in lines:
        row = by_id[line.pk]
        assert Decimal(row["amount"]) == line.amount
        assert row["explanation"] == line.explanation
        assert row["contract"] == "ACME-1"
        assert row["customer"] == "Globex"
        assert row["revision"] == "1"
    first = by_id[lines[0].pk] if lines[0].attainment is not None else by_id[lines[1].pk]
    assert first["attainment"] == "96.123"
    assert first["target"] == "99.5"
    assert first["met"] == "no"
    assert first["rule"].startswith("Below the target the customer is credited 1 %")


@pytest.mark.django_db
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, personas, capped):
    client.force_login(personas.customer_member)
    rows = [
        r for r in _rows(client.get(reverse("statement-csv", args=[capped.pk]))) if r["line_id"]
    ]
    services = {r["service"] for r in rows}
    assert "'=HYPERLINK(1)" in services
    assert "=HYPERLINK(1)" not in services
    no_data = next(r for r in rows if r["attainment"] == "")
    assert no_data["met"] == ""


@pytest.mark.django_db
def test_statements_export_applies_the_filters_and_the_scope(client, personas, capped):
    other_cs = personas.other_contract.services.get()
    make_statement(
        personas.other_contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(other_cs, Decimal("777.77"))],
    )
    january = make_statement(
        personas.contract,
        period_start=date(2026, 1, 1),
        lines=[LineSpec(personas.contract.services.first(), Decimal("5.00"))],
    )
    client.force_login(personas.customer_member)
    everything = _rows(client.get(reverse("statement-export")))
    assert {int(r["statement_id"]) for r in everything} == {capped.pk, january.pk}
    assert len(everything) == capped.lines.count() + january.lines.count()
    assert "777.77" not in {r["amount"] for r in everything}
    march = _rows(client.get(reverse("statement-export"), {"period_from": "2026-03-01"}))
    assert {int(r["statement_id"]) for r in march} == {capped.pk}


@pytest.mark.django_db
def test_statements_export_with_a_bad_filter_is_a_400_not_a_file(client, personas, capped):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-export"), {"contract": personas.other_contract.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_statement_pdf_names_both_parties_the_period_the_revision_and_the_totals(
    client, personas, capped
):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-pdf", args=[capped.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = " ".join(text.split())
    assert "Acme Networks" in flat
    assert "Globex" in flat
    assert "1 March 2026 to 31 March 2026" in flat
    assert "Revision 1" in flat
    assert "Cap adjustment -150.00 EUR" in flat
    assert "Credit total 300.00 EUR" in flat
    assert "96.123" in flat


@pytest.mark.django_db
def test_another_customer_cannot_download_the_pdf_or_csv(client, personas, capped):
    client.force_login(personas.other_customer_member)
    for name in ("statement-pdf", "statement-csv"):
        assert client.get(reverse(name, args=[capped.pk])).status_code == 404
    rows = _rows(client.get(reverse("statement-export")))
    assert rows == []


# --------------------------------------------------------------------------- charts


def test_plain_decimal_drops_trailing_zeros_without_exponent():
    assert exports.plain_decimal(Decimal("99.5000")) == "99.5"
    assert exports.plain_decimal(Decimal("100.0000")) == "100"
    assert exports.plain_decimal(Decimal("0E-10")) == "0"
    assert exports.plain_decimal(None) == ""
