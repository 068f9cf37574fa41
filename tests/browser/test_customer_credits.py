"""A customer in Debian's Chromium: dashboard and chart, a statement, its CSV and PDF,
a dispute; the provider resolves it. Screenshots of each page are kept as artifacts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from credits.models import Dispute, Notification
from credits.settlement import warn_early
from tests.browser.conftest import screenshot
from tests.credits.settlement_book import ratio
from tests.credits.test_views_support import (
    LineSpec,
    availability_objective,
    customer_editor,
    make_statement,
)
from tests.factories import (
    ContractServiceFactory,
    ResponsibilityFactory,
    ResponsibilityLapseFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.dates, pytest.mark.django_db(transaction=True)]

# The server's clock during these tests (ticking): the three months before it are of its
# year, so the year to date holds them all, which in a real January it would not. The
# browser keeps its own clock: the cookies' Max-Age, not their date, decides their life.
SERVER_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _months_back(count: int) -> list:
    """The first days of the ``count`` months before this one, oldest first."""
    first = datetime.now(UTC).date().replace(day=1)
    months = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return list(reversed(months))


@pytest.fixture
def seeded(personas, time_machine):
    """Three settled months of ACME-1 for Globex; the last one has two lines and a cap."""
    time_machine.move_to(SERVER_NOW, tick=True)
    availability_objective(personas)
    cs = personas.contract.services.get()
    second = ContractServiceFactory(contract=personas.contract)
    months = _months_back(3)
    statements = [
        make_statement(
            personas.contract,
            period_start=months[0],
            lines=[LineSpec(cs, Decimal("20.00"), attainment=Decimal("98.7"))],
        ),
        make_statement(
            personas.contract,
            period_start=months[1],
            lines=[LineSpec(cs, Decimal("0.00"), attainment=Decimal("99.8"))],
        ),
        make_statement(
            personas.contract,
            period_start=months[2],
            lines=[
                LineSpec(cs, Decimal("300.00"), attainment=Decimal("96.5")),
                LineSpec(second, Decimal("150.00"), attainment=Decimal("97.0")),
            ],
            cap_adjustment=Decimal("-150.00"),
            at_risk_amount=Decimal("300.00"),
        ),
    ]
    make_statement(
        personas.other_contract,
        period_start=months[2],
        lines=[LineSpec(personas.other_contract.services.get(), Decimal("777.77"))],
    )
    responsibility = ResponsibilityFactory(
        contract=personas.contract, title="Name a representative for escalations"
    )
    start = datetime.combine(months[2], datetime.min.time(), tzinfo=UTC) + timedelta(days=2)
    ResponsibilityLapseFactory(
        responsibility=responsibility,
        start=start,
        end=start + timedelta(hours=5),
        note="No representative reachable",
    )
    # The open period so far: the first service's samples all on time (ten: enough to
    # judge, fewer would be "too few samples"), the second none yet.
    now = datetime.now(UTC)
    first_sample = max(now - timedelta(minutes=10), now.replace(day=1, hour=0, minute=0))
    ratio(cs, "availability", first_sample, 10, 10, every=timedelta(seconds=1))
    warn_early(contract=personas.contract, now=now)
    return {"statements": statements, "cs": cs, "editor": customer_editor(personas)}


def _ytd(seeded) -> Decimal:
    this_year = datetime.now(UTC).year
    return sum(
        (s.credit_total for s in seeded["statements"] if s.period_start.year == this_year),
        Decimal(0),
    )


def test_customer_reads_credits_downloads_a_statement_and_disputes_a_line(
    personas, seeded, login, page, tmp_path: Path
):
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    login("customer-editor")
    page.goto("/dashboard/")
    ytd = page.locator(".figure.ytd .value").first.inner_text()
    assert ytd == f"{_ytd(seeded):,.2f} EUR"
    chart = page.locator("svg.chart").first
    assert chart.is_visible()
    bars = chart.locator("rect.bar")
    values = [Decimal(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]
    for statement in seeded["statements"]:
        assert statement.credit_total in values
    assert "777.77" not in page.content()
    assert page.locator('table.per-contract tr[data-contract="ACME-1"]').is_visible()
    open_rows = page.locator('table.open-period tr[data-contract="ACME-1"]')
    assert open_rows.count() == 2
    on_track = page.locator('table.open-period tr[data-state="on_track"]')
    assert on_track.locator(".so-far").inner_text() == "100.000 %"
    assert on_track.locator(".state .badge").inner_text() == "on track"
    assert on_track.locator(".measured time").is_visible()
    waiting = page.locator('table.open-period tr[data-state="no_data"]')
    assert waiting.locator(".so-far").inner_text() == "no data yet"
    screenshot(page, "customer-dashboard")

    # The first service's objective (three settled months); both services' rows say
    # "Availability", in no order that the test should rely on.
    on_track.locator("a", has_text="Availability").click()
    page.wait_for_load_state()
    # The settled months; the open one is drawn hollow, as measured so far.
    points = page.locator("svg.chart circle.point:not(.provisional)")
    assert points.count() == 3
    assert points.last.get_attribute("data-value") == "96.500"
    screenshot(page, "customer-objective")

    page.goto("/statements/")
    assert page.locator("tr[data-statement]").count() == 3
    screenshot(page, "customer-statements")
    latest = seeded["statements"][-1]
    page.locator(f'tr[data-statement="{latest.pk}"] a').first.click()
    page.wait_for_load_state()
    assert page.locator(".credit-total").inner_text() == "300.00 EUR"
    assert page.locator(".cap-adjustment").inner_text() == "-150.00 EUR"
    assert page.locator("tbody.line").count() == 2
    screenshot(page, "customer-statement")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    csv_path = tmp_path / "statement.csv"
    csv_download.value.save_as(csv_path)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    lines = list(latest.lines.all())
    line_rows = [r for r in rows if r["line_id"]]
    assert sorted(int(r["line_id"]) for r in line_rows) == sorted(line.pk for line in lines)
    assert sorted(Decimal(r["amount"]) for r in line_rows) == sorted(x.amount for x in lines)
    # Below the lines, the cap adjustment and the total: the amounts add up to it.
    below = {r["key"]: Decimal(r["amount"]) for r in rows if not r["line_id"]}
    assert below == {"cap_adjustment": Decimal("-150.00"), "total": Decimal("300.00")}
    assert sum(Decimal(r["amount"]) for r in rows if r["key"] != "total") == below["total"]

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = tmp_path / "statement.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(pdf_path)).pages)
    assert "Credit total 300.00 EUR" in text

    line = latest.lines.order_by("contract_service__service__code").first()
    row = page.locator(f"#line-{line.pk}")
    row.locator("summary", has_text="Dispute this line").click()
    row.get_by_label("Reason for the dispute").fill("The outage was planned maintenance.")
    row.get_by_role("button", name="Open dispute").click()
    page.wait_for_load_state()
    assert page.locator(f"#line-{line.pk} .badge.open").inner_text() == "dispute open"
    screenshot(page, "customer-dispute-open")
    assert Dispute.objects.get(line=line).status == Dispute.Status.OPEN

    page.goto("/disputes/")
    assert page.locator('tr[data-status="open"]').count() == 1
    screenshot(page, "customer-disputes")

    page.goto("/responsibilities/")
    assert "No representative reachable" in page.content()
    screenshot(page, "customer-responsibilities")

    page.goto("/notifications/")
    screenshot(page, "customer-notifications")
    # Charts, forms and pages work under the CSP: nothing inline was refused.
    assert refused == []


def test_provider_editor_resolves_the_customers_dispute(personas, seeded, login, page):
    line = seeded["statements"][-1].lines.order_by("id").first()
    Dispute.objects.create(line=line, reason="Planned maintenance", opened_by=seeded["editor"])
    Notification.objects.create(
        user=personas.provider_editor,
        organization=personas.provider,
        event=Notification.Event.DISPUTE_OPENED,
        title="Globex disputes a line",
        link=f"/statements/{line.statement_id}/#line-{line.pk}",
    )
    login("provider-editor")
    page.goto("/notifications/")
    assert page.locator("#unread-count").inner_text() == "1 unread"
    page.get_by_role("link", name="Globex disputes a line").click()
    page.wait_for_load_state()
    row = page.locator(f"#line-{line.pk}")
    # Skip the browser's own required-field check to see the server's answer.
    row.locator("form.resolve-form").evaluate("form => { form.noValidate = true; }")
    row.get_by_role("button", name="Resolve dispute").click()
    page.wait_for_load_state()
    # Nothing chosen: the errors appear beside the fields and nothing is saved.
    row = page.locator(f"#line-{line.pk}")
    assert "Choose to accept or reject the dispute." in row.inner_text()
    assert "Explain the resolution." in row.inner_text()
    row.get_by_label("Reject").check()
    row.get_by_label("Resolution").fill("The window was not announced: no relief.")
    row.get_by_role("button", name="Resolve dispute").click()
    page.wait_for_load_state()
    assert page.locator(f"#line-{line.pk} .badge.rejected").inner_text() == "dispute rejected"
    screenshot(page, "provider-dispute-resolved")
    page.goto("/notifications/")
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state()
    assert page.locator("#unread-count").inner_text() == "0 unread"
