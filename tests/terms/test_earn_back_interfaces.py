"""Earn-back and chronic-failure terms are set in the browser, the API and the admin, as
terms (an amendment or a correction); their rows show on the statement page, in the CSV,
the PDF and the API's statement (E12)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts.models import ServiceLevel, TermsChange
from credits.settlement import settle_period
from tests.api.conftest import client_for, url
from tests.contracts.test_views_objectives import objective_data
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 10, 20, 12, tzinfo=UTC)


@pytest.fixture
def level(personas) -> ServiceLevel:
    return ServiceLevelFactory(
        provider=personas.provider,
        level="customer",
        contract=personas.contract,
        key="report-delivery",
        name="Reports on time",
        indicator="ratio",
        target=Decimal("99.5"),
        credit_rule={"kind": "flat", "percent": "5"},
    )


def test_browser_the_objective_form_sets_earn_back_and_chronic_failure_as_an_amendment(
    client, personas, level
):
    client.force_login(personas.provider_editor)
    path = reverse("contract-objective-edit", args=[personas.contract.pk, level.pk])
    with time_machine.travel(TODAY, tick=False):
        page = client.get(path).content.decode()
        assert 'name="earn_back_periods"' in page and 'name="chronic_breaches"' in page
        refused = client.post(
            path,
            objective_data(
                rule_kind="flat",
                flat_percent="5",
                earn_back_periods="30",
                chronic_breaches="4",
                chronic_window="3",
                change="amendment",
            ),
        )
        assert refused.status_code == 200
        text = refused.content.decode()
        assert "Ensure this value is less than or equal to 24." in text
        assert "Chronic_breaches must be between 1 and the window" in text or (
            "chronic_breaches must be between 1 and the window" in text.lower()
        )
        assert not TermsChange.objects.exists()

        done = client.post(
            path,
            objective_data(
                rule_kind="flat",
                flat_percent="5",
                earn_back_periods="2",
                chronic_breaches="3",
                chronic_window="6",
                change="amendment",
            ),
        )
    assert done.status_code == 302, done.content.decode()[:3000]
    level.refresh_from_db()
    assert level.credit_rule == {"kind": "flat", "percent": "5", "earn_back_periods": 2}
    assert (level.chronic_breaches, level.chronic_window) == (3, 6)
    change = TermsChange.objects.get(kind="amendment")
    assert change.effective_from == date(2026, 11, 1)
    assert change.terms["credit_rule"]["earn_back_periods"] == 2
    assert (change.terms["chronic_breaches"], change.terms["chronic_window"]) == (3, 6)
    page = client.get(path).content.decode()
    assert 'name="earn_back_periods" value="2"' in page


def test_api_sets_them_as_a_correction_and_refuses_bad_values_beside_the_field(personas, level):
    api = client_for(personas.provider_editor)
    with time_machine.travel(TODAY, tick=False):
        bad = api.patch(
            url("servicelevel", level.pk),
            {"credit_rule": {"kind": "flat", "percent": "5", "earn_back_periods": 0}},
            format="json",
        )
        assert bad.status_code == 400
        assert "earn_back_periods" in str(bad.json())
        half = api.patch(url("servicelevel", level.pk), {"chronic_breaches": 2}, format="json")
        assert half.status_code == 400
        assert "chronic_window" in half.json()

        done = api.patch(
            url("servicelevel", level.pk),
            {
                "credit_rule": {"kind": "flat", "percent": "5", "earn_back_periods": 3},
                "chronic_breaches": 2,
                "chronic_window": 4,
                "change": "correction",
            },
            format="json",
        )
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["credit_rule"]["earn_back_periods"] == 3
    assert (body["chronic_breaches"], body["chronic_window"]) == (2, 4)
    assert (
        "earns it back if the target is met in each of the next 3 months" in (body["description"])
    )
    assert TermsChange.objects.get(kind="correction").terms["chronic_window"] == 4


def test_admin_sets_chronic_failure_terms(client, personas, level):
    client.force_login(personas.operator)
    path = reverse("admin:contracts_servicelevel_change", args=[level.pk])
    page = client.get(path).content.decode()
    assert 'name="chronic_breaches"' in page

    with time_machine.travel(TODAY, tick=False):
        response = client.post(
            path,
            {
                "level": "customer",
                "provider": personas.provider.pk,
                "contract": personas.contract.pk,
                "service": "",
                "key": "report-delivery",
                "name": "Reports on time",
                "indicator": "ratio",
                "comparator": "gte",
                "target": "99.5",
                "threshold": "",
                "threshold_comparator": "",
                "enabled": "on",
                "credit_rule": '{"kind": "flat", "percent": "5", "earn_back_periods": 2}',
                "calendar": "",
                "priority": "",
                "chronic_breaches": "2",
                "chronic_window": "3",
                "change": "amendment",
                "effective_from": "",
                "change_note": "",
            },
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    level.refresh_from_db()
    assert (level.chronic_breaches, level.chronic_window) == (2, 3)
    assert level.credit_rule["earn_back_periods"] == 2


@pytest.fixture
def e12(personas):
    c = contract(start=date(2026, 1, 1), provider=personas.provider, customer=personas.customer)
    cs = service(c, fee="1000.00", name="Reports")
    objective(
        c,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "flat", "percent": "10", "earn_back_periods": 2},
        name="On-time delivery",
    )
    for number, ok in ((1, 95), (2, 100), (3, 100)):
        ratio(cs, "on-time", at(2026, number, 2), ok, 100)
    now = datetime(2026, 6, 10, tzinfo=UTC)
    return [
        settle_period(contract=c, period_start=date(2026, n, 1), now=now, announce=False).statement
        for n in (1, 2, 3)
    ]


def test_e12_on_the_statement_page_csv_pdf_and_api(client, personas, e12):
    january, _february, march = e12
    client.force_login(personas.customer_member)

    page = client.get(reverse("statement-detail", args=[january.pk])).content.decode()
    assert "held 100.00 EUR" in page
    assert "Held for earn-back: 100.00 EUR of On-time delivery (Reports) is not payable now." in (
        page.replace("&#x27;", "'")
    )
    page = client.get(reverse("statement-detail", args=[march.pk])).content.decode()
    assert "was earned back by the provider" in page

    for statement, keys, amounts in (
        (
            january,
            ["cap_adjustment", "earn_back_held", "total"],
            ["100.00", "0.00", "-100.00", "0.00"],
        ),
        (march, ["cap_adjustment", "earned_back", "total"], ["0.00", "0.00", "0.00", "0.00"]),
    ):
        response = client.get(reverse("statement-csv", args=[statement.pk]))
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [row["key"] for row in rows[-3:]] == keys
        assert [row["amount"] for row in rows] == amounts
        pdf = client.get(reverse("statement-pdf", args=[statement.pk]))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    body = client_for(personas.customer_member).get(url("statement", january.pk)).json()
    assert body["lines"][0]["amount"] == "100.00" and body["lines"][0]["held"] == "100.00"
    assert [(row["kind"], row["amount"]) for row in body["adjustments"]] == [
        ("earn_back_held", "-100.00")
    ]
    assert body["credit_total"] == "0.00"
    outsider = client_for(personas.other_customer_member).get(url("statement", january.pk))
    assert outsider.status_code == 404
