"""A statement's rows below its lines, on the page, in the CSV and the PDF: the minimum
credit (E11) and agreed adjustments; the CSV's amounts add up to what is payable."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credits.settlement import settle_period
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)
OCTOBER = date(2026, 10, 1)


def csv_rows(client, statement) -> list[dict[str, str]]:
    response = client.get(reverse("statement-csv", args=[statement.pk]))
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def settled(*, fees, percents, currency="EUR", cap=None, minimum="0", provider=None, customer=None):
    c = contract(currency=currency, cap=cap, provider=provider, customer=customer)
    c.minimum_credit = Decimal(minimum)
    c.save()
    for n, (fee, percent) in enumerate(zip(fees, percents, strict=True)):
        cs = service(c, fee=fee)
        objective(
            c,
            cs,
            key=f"on-time-{n}",
            indicator="ratio",
            target="99",
            rule={"kind": "flat", "percent": percent},
        )
        ratio(cs, f"on-time-{n}", at(2026, 10, 2), 90, 100)  # breached
    return settle_period(contract=c, period_start=OCTOBER, now=NOW, announce=False).statement


def test_e11_a_total_below_the_minimum_credit_is_paid_as_zero_on_page_csv_and_pdf(client, personas):
    statement = settled(
        fees=["6.00"],
        percents=["10"],
        currency="USD",
        minimum="1.00",
        provider=personas.provider,
        customer=personas.customer,
    )

    assert statement.lines.get().amount == Decimal("0.60")
    assert statement.credit_total == Decimal("0.00")
    (row,) = statement.adjustments.all()
    assert (row.kind, row.amount) == ("minimum_credit", Decimal("-0.60"))
    assert "below the minimum credit of 1.00 USD" in row.explanation

    client.force_login(personas.customer_member)
    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert "below the minimum credit of 1.00 USD" in page
    rows = csv_rows(client, statement)
    assert [r["key"] for r in rows[-3:]] == ["cap_adjustment", "minimum_credit", "total"]
    assert [r["amount"] for r in rows] == ["0.60", "0.00", "-0.60", "0.00"]
    pdf = client.get(reverse("statement-pdf", args=[statement.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fees=st.lists(st.sampled_from(["0.50", "6.00", "999.99", "1234.56"]), min_size=1, max_size=3),
    percent=st.sampled_from(["1", "5", "12.5", "33.3"]),
    cap=st.sampled_from([None, "0", "2", "10"]),
    minimum=st.sampled_from(["0", "0.99", "50.00"]),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_the_csv_amounts_add_up_to_the_statement_total(
    client, personas, fees, percent, cap, minimum, currency
):
    if currency == "JPY":
        fees = [str(int(Decimal(fee))) for fee in fees]
        minimum = str(int(Decimal(minimum)))
    statement = settled(
        fees=fees,
        percents=[percent] * len(fees),
        currency=currency,
        cap=cap,
        minimum=minimum,
        provider=personas.provider,
        customer=personas.customer,
    )
    client.force_login(personas.customer_member)

    *rows, total = csv_rows(client, statement)

    assert total["key"] == "total"
    assert Decimal(total["amount"]) == statement.credit_total
    assert sum(Decimal(row["amount"]) for row in rows) == statement.credit_total


def test_api_the_statement_names_its_terms_version_and_lists_its_rows(client, personas):
    from tests.api.conftest import client_for, url

    statement = settled(
        fees=["6.00"],
        percents=["10"],
        currency="USD",
        minimum="1.00",
        provider=personas.provider,
        customer=personas.customer,
    )

    body = client_for(personas.customer_member).get(url("statement", statement.pk)).json()

    assert body["terms_change"] is None
    assert body["adjustments"] == [
        {
            "position": 1,
            "kind": "minimum_credit",
            "amount": "-0.60",
            "explanation": statement.adjustments.get().explanation,
            "dispute": None,
            "claim": None,
        }
    ]
    assert body["credit_total"] == "0.00"
