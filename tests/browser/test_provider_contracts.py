"""A provider editor runs contracts in a real browser (Debian's Chromium).

Three journeys: build a contract (two services, objectives at two levels, a tiered rule
whose rows are added in the browser, a validation error beside its field); edit a rule
with the what-if preview and upload a CSV file with a bad row; settle a period by hand,
read the statement and print the SLA schedule. Screenshots of each main page are kept
in test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

import engine
from contracts.models import Contract, Measurement, ServiceLevel
from credits.models import Statement
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.contracts.conftest import REPORTS_ON_TIME, contract_objective, hourly_samples
from tests.factories import ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_console_errors(page):
    """A CSP violation (an inline script or style) or a script error fails the test."""
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def wait_for_scripts(page) -> None:
    """The form's script marks the page once it runs (it is deferred)."""
    page.wait_for_load_state()
    page.wait_for_selector("html.js", state="attached")


def last_closed_month() -> engine.Period:
    today = timezone.now().astimezone(UTC).date()
    current = engine.period_containing(today, "month", "UTC")
    return engine.previous_period(current, "month")


def test_an_editor_builds_a_contract_with_two_services_objectives_and_tiers(personas, login, page):
    ServiceFactory(provider=personas.provider, code="internet-1g", name="Internet 1G")
    ServiceFactory(provider=personas.provider, code="reporting", name="Monthly reporting")
    login("provider-editor")
    page.wait_for_url("**/contracts/")
    assert "Acme Networks (editor)" in page.locator("header.site").inner_text()
    screenshot(page, "provider-contract-list")

    # The header, with a mistake first: the error sits beside its field, the rest is kept.
    page.get_by_role("link", name="New contract").click()
    page.get_by_label("Customer", exact=True).select_option(label="Globex")
    page.get_by_label("Reference").fill("ACME-7")
    page.get_by_label("Title").fill("Connectivity and reporting")
    page.get_by_label("Currency").fill("XYZ")
    page.get_by_label("Status").select_option("active")
    page.get_by_label("Start date").fill("2026-01-01")
    page.get_by_label("Settlement period").select_option("month")
    page.get_by_label("Timezone").fill("UTC")
    page.get_by_label("Credit cap (at-risk amount), % of the period's fees").fill("20")
    page.get_by_role("button", name="Create contract").click()
    error = page.locator("#id_currency_error")
    assert "not an ISO 4217 currency code" in error.inner_text()
    currency = page.get_by_label("Currency")
    assert "id_currency_error" in currency.get_attribute("aria-describedby")
    assert currency.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Title").input_value() == "Connectivity and reporting"
    assert page.locator(".field-error").count() == 1
    screenshot(page, "provider-contract-form-error")
    assert not Contract.objects.filter(reference="ACME-7").exists()
    currency.fill("EUR")
    page.get_by_role("button", name="Create contract").click()
    page.wait_for_url("**/contracts/*/#services")
    contract = Contract.objects.get(reference="ACME-7")

    # Two services with their fees.
    for name, fee in (("Internet 1G", "1000.00"), ("Monthly reporting", "2000.00")):
        page.get_by_role("link", name="Add a service").click()
        page.get_by_label("Service", exact=True).select_option(label=name)
        page.get_by_label("Fee per month (EUR)").fill(fee)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**#services")
    assert contract.services.count() == 2

    # A contract-wide objective with a per-step rule.
    page.get_by_role("link", name="New objective").click()
    wait_for_scripts(page)
    page.get_by_label("Applies to").select_option("customer")
    page.get_by_label("Key", exact=True).fill("report-delivery")
    page.get_by_label("Name", exact=True).fill("Reports on time")
    page.get_by_label("Indicator").select_option("ratio")
    page.get_by_label("Target").fill("99.5")
    page.get_by_label("Credit rule").select_option("per_step")
    # Only the chosen kind's inputs show.
    assert page.get_by_label("Step (points of shortfall)").is_visible()
    assert not page.locator("#rule-tiered").is_visible()
    page.get_by_label("Step (points of shortfall)").fill("0.5")
    page.get_by_label("Percent of the fee per started step").fill("1")
    page.get_by_role("button", name="Save objective").click()
    page.wait_for_url("**#objectives")

    # One service's availability with three tiers, rows added in the browser.
    page.get_by_role("link", name="New objective").click()
    wait_for_scripts(page)
    page.get_by_label("Applies to").select_option(label="Internet 1G only")
    page.get_by_label("Key", exact=True).fill("availability")
    page.get_by_label("Name", exact=True).fill("Availability")
    page.get_by_label("Indicator").select_option("uptime")
    page.get_by_label("Target").fill("99.99")
    page.get_by_label("Credit rule").select_option("tiered")
    assert not page.get_by_label("Step (points of shortfall)").is_visible()
    add = page.get_by_role("button", name="Add a tier")
    add.click()
    add.click()
    add.click()  # one row too many, removed again below
    rows = page.locator("tr.tier-row:visible")
    assert rows.count() == 4
    tiers = [("99.99", "10"), ("99.0", "30"), ("95.0", "100")]
    for index, (bound, percent) in enumerate(tiers):
        page.get_by_label(f"Tier {index + 1} bound").fill(bound)
        page.get_by_label(f"Tier {index + 1} percent").fill(percent)
    rows.nth(3).get_by_role("button", name="Remove").click()
    assert page.locator("tr.tier-row:visible").count() == 3
    screenshot(page, "provider-objective-tiered")
    page.get_by_role("button", name="Save objective").click()
    page.wait_for_url("**#objectives")

    availability = ServiceLevel.objects.get(contract=contract, key="availability")
    assert availability.level == "contract_service"
    assert availability.credit_rule == {
        "kind": "tiered",
        "tiers": [{"bound": b, "percent": p} for b, p in tiers],
    }
    section = page.locator("table.effective").first.inner_text()
    assert "Availability of Internet 1G is at least 99.99 % of each month" in section
    assert "10 % of that month's fee, 30 % below 99 %, 100 % below 95 %" in section
    assert "this service" in section and "inherited: contract-wide" in section
    screenshot(page, "provider-contract-detail")


@pytest.fixture
def reporting(personas):
    """ACME-1 with reports on time, contract-wide; last month 9 of 10 reports on time."""
    cs = personas.contract.services.select_related("service").get()
    objective = contract_objective(personas, **REPORTS_ON_TIME)
    month = last_closed_month()
    first = datetime(month.start.year, month.start.month, 3, 9, tzinfo=UTC)
    hourly_samples(cs, first, ok=9, total=10)
    return objective, cs, month


@pytest.mark.dates
def test_an_editor_previews_a_rule_and_uploads_a_csv_with_a_bad_row(
    personas, reporting, login, page, tmp_path
):
    objective, cs, month = reporting
    login("provider-editor")
    page.goto(f"/contracts/{personas.contract.pk}/")

    # A CSV file with a bad row: nothing stored, the row named by its line number.
    tabs = page.get_by_role("navigation", name=f"Contract {personas.contract.reference}")
    tabs.get_by_role("link", name="Upload measurements").click()
    bad = tmp_path / "samples.csv"
    bad.write_text(
        "contract_service,key,observed_at,value,ok\n"
        f"{cs.service.code},report-delivery,{month.start}T10:00:00+00:00,,true\n"
        f"{cs.service.code},report-delivery,not a time,,true\n"
    )
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    table = page.locator("table.row-errors")
    assert table.is_visible()
    first_row = table.locator("tbody tr").first.inner_text()
    assert first_row.startswith("3") and "observed_at" in first_row
    assert "nothing was stored" in page.locator("#id_file_error").inner_text()
    screenshot(page, "provider-upload-rejected")
    assert Measurement.objects.count() == 10
    good = tmp_path / "good.csv"
    good.write_text(
        "contract_service,key,observed_at,value,ok\n"
        f"{cs.service.code},report-delivery,{month.start}T10:00:00+00:00,,true\n"
        f"{cs.pk},report-delivery,{month.start}T11:00:00+00:00,,true\n"
    )
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**#measurements")
    assert "2 sample(s) stored for ACME-1" in page.locator(".messages").inner_text()

    # The what-if preview of a flat 5 % rule, through htmx, before saving.
    page.goto(f"/contracts/{personas.contract.pk}/")
    page.get_by_role("link", name="Edit Reports on time").click()
    wait_for_scripts(page)
    page.get_by_label("Credit rule").select_option("flat")
    page.get_by_label("Percent of the fee", exact=True).fill("5")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview-panel table.what-if")
    preview.wait_for()
    sentence = page.locator("#preview-sentence").inner_text()
    assert "below it the customer is credited 5 % of that month's fee" in sentence
    row = preview.locator("tr", has_text=f"{month.start:%B %Y}")
    # 9 + 2 of 12 reports on time: 91.667 %, below 99.5: a flat 5 % of 1,000.00.
    assert "91.667" in row.inner_text() and "50.00 EUR" in row.inner_text()
    screenshot(page, "provider-objective-preview")
    objective.refresh_from_db()
    assert objective.credit_rule["kind"] == "per_step"  # the preview saved nothing


@pytest.mark.dates
def test_an_editor_settles_a_period_reads_the_statement_and_prints_the_schedule(
    personas, reporting, login, page
):
    _objective, _cs, month = reporting
    login("provider-editor")
    page.goto(f"/contracts/{personas.contract.pk}/#statements")
    page.get_by_label("Period", exact=True).select_option(month.start.isoformat())
    page.get_by_role("button", name="Settle").click()
    page.wait_for_load_state()
    statement = Statement.objects.get(contract=personas.contract, period_start=month.start)
    # 9 of 10 reports on time: 90 %, 9.5 points short, 19 started steps of 1 % of 1,000.00.
    assert statement.credit_total == Decimal("190.00")
    body = page.locator("main").inner_text()
    assert "Statement revision 1 issued" in body
    if f"/statements/{statement.pk}/" in page.url:
        assert "190.00" in body
    screenshot(page, "provider-statement-after-settlement")

    page.goto(f"/contracts/{personas.contract.pk}/schedule/")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.locator(".breadcrumbs").is_visible()
    schedule = page.locator("article.schedule").inner_text()
    assert "Acme Networks (the provider)" in schedule
    assert "Reports on time of" in schedule
    assert "The customer's responsibilities" in schedule
    screenshot(page, "provider-sla-schedule-print")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "provider-sla-schedule.pdf"), format="A4")
    assert (ARTIFACTS / "provider-sla-schedule.pdf").stat().st_size > 1000
