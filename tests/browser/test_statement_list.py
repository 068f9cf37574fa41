"""The statement list in Debian's Chromium on a phone (390 px): filtered by "with credit",
the page does not scroll sideways, the totals rows are a table's row headers in its footer
(what a screen reader announces with each total), and the download keeps the filter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.browser.conftest import screenshot
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement
from tests.factories import ContractFactory, ContractServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVER_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WIDTH = 390


@pytest.fixture
def statements(personas, time_machine):
    """ACME-1 (EUR): January 20.00, February 0.00; ACME-USD: January 7.50."""
    time_machine.move_to(SERVER_NOW, tick=True)
    availability_objective(personas)
    cs = personas.contract.services.get()
    usd = ContractFactory(
        provider=personas.provider, customer=personas.customer, reference="ACME-USD", currency="USD"
    )
    return {
        "jan": make_statement(
            personas.contract,
            period_start=date(2026, 1, 1),
            lines=[LineSpec(cs, Decimal("20.00"), attainment=Decimal("98.0"))],
        ),
        "feb": make_statement(
            personas.contract, period_start=date(2026, 2, 1), lines=[LineSpec(cs, Decimal("0"))]
        ),
        "usd": make_statement(
            usd,
            period_start=date(2026, 1, 1),
            lines=[LineSpec(ContractServiceFactory(contract=usd), Decimal("7.50"))],
        ),
    }


def test_with_credit_filter_on_a_phone_keeps_the_page_narrow_and_names_the_totals(
    statements, login, page
):
    page.set_viewport_size({"width": WIDTH, "height": 900})
    login("customer-member")
    page.goto("/statements/")
    page.get_by_label("With credit (a payable credit above zero)").check()
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_load_state()

    assert "with_credit=on" in page.url
    listed = page.locator("tbody tr[data-statement]").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.statement))"
    )
    assert sorted(listed) == sorted([statements["jan"].pk, statements["usd"].pk])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH

    # The totals are rows of the table's footer, each named by its row header, so a
    # screen reader reads "Total in EUR: 1 statement on every page" with each figure.
    footer = page.get_by_role("table").locator("tfoot")
    snapshot = footer.aria_snapshot()
    assert re.search(r"rowheader \"Total in EUR: 1 statement on every page\"", snapshot)
    assert re.search(r"rowheader \"Total in USD: 1 statement on every page\"", snapshot)
    eur = page.get_by_role("row", name=re.compile("Total in EUR"))
    credit = re.compile(r"^20\.00\sEUR payable credit of the latest revisions$")
    assert eur.get_by_role("cell", name=credit).count() == 1

    download = page.get_by_role("link", name="Download CSV (one row per statement)")
    assert "with_credit=on" in download.get_attribute("href")
    screenshot(page, f"statement-list-with-credit-{WIDTH}")


def test_contract_list_with_credit_on_a_phone_fits_and_names_its_totals(statements, login, page):
    page.set_viewport_size({"width": WIDTH, "height": 900})
    login("customer-member")
    page.goto("/contracts/")
    page.get_by_label("With credit in these periods").check()
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_load_state()

    assert "with_credit=on" in page.url
    references = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert sorted(references) == ["ACME-1", "ACME-USD"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    snapshot = page.get_by_role("table").locator("tfoot").aria_snapshot()
    assert re.search(r"rowheader \"Total in USD: 1 contract on every page\"", snapshot)
    usd = page.get_by_role("row", name=re.compile("Total in USD"))
    assert usd.get_by_role("cell", name=re.compile(r"^7\.50\sUSD$")).count() == 1
    screenshot(page, f"contract-list-with-credit-{WIDTH}")
