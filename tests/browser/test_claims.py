"""A claim in Debian's Chromium: a customer editor files one for an outage the provider did
not record; the provider accepts it; the new revision of the statement cites it and counts
the outage. Screenshots of each page are kept as artifacts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contracts.models import Incident
from credits.models import Claim, Notification, Statement
from credits.settlement import settle_period
from tests.browser.conftest import screenshot
from tests.credits.settlement_book import at, contract, objective, service
from tests.credits.test_notify import members_of
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.dates, pytest.mark.django_db(transaction=True)]

# November 2026 has closed and its claim window (30 days) is open; the server's clock ticks.
SERVER_NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(personas, time_machine):
    """WAN-1: 1,000.00 EUR a month, availability 99.9 % at 5 % per started 0.1 point short,
    a recorded 120-minute incident on 5 November, November settled (100.00 EUR)."""
    time_machine.move_to(SERVER_NOW, tick=True)
    editor = UserFactory(username="customer-editor")
    MembershipFactory(user=editor, organization=personas.customer, role="editor")
    c = contract(provider=personas.provider, customer=personas.customer, reference="WAN-1")
    c.claim_window_days = 30
    c.save()
    cs = service(c, fee="1000.00", name="Managed WAN")
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "per_step", "step": "0.1", "percent": "5"},
    )
    Incident.objects.create(
        contract_service=cs, started_at=at(2026, 11, 5, 10), ended_at=at(2026, 11, 5, 12)
    )
    first = settle_period(
        contract=c, period_start=date(2026, 11, 1), now=SERVER_NOW, announce=False
    ).statement
    assert first.credit_total == Decimal("100.00")
    return c


def test_a_customer_files_a_claim_and_the_provider_accepts_it(page, login, personas, seeded):
    login("customer-editor")
    page.goto("/claims/")
    page.get_by_role("link", name="File a claim").click()
    page.get_by_label("Service").select_option(label="Managed WAN — WAN-1 (claims within 30 days)")
    # Ends before it starts: refused beside the field, nothing filed.
    page.get_by_label("Outage started").fill("2026-11-05T11:00")
    page.get_by_label("Outage ended").fill("2026-11-05T10:00")
    page.get_by_label("What happened").fill("The WAN was down all morning; no incident.")
    page.get_by_role("button", name="File the claim").click()
    expect(page.locator("#id_ended_at_errors")).to_have_text("The end must be after the start.")
    assert not Claim.objects.exists()
    page.get_by_label("Outage ended").fill("2026-11-05T14:00")
    page.get_by_role("button", name="File the claim").click()

    claim = Claim.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Claim #{claim.pk} open")
    expect(page.locator(".messages")).to_contain_text("the provider has been told")
    # The customer reads the claim but decides nothing.
    expect(page.get_by_role("button", name="Save the decision")).to_have_count(0)
    screenshot(page, "claim-filed-customer")

    page.context.clear_cookies()
    login("provider-editor")
    page.goto("/claims/?status=open")
    page.get_by_role("link", name=f"#{claim.pk}").click()
    page.get_by_label("Accept").check()
    page.get_by_role("button", name="Save the decision").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Claim #{claim.pk} accepted")
    revision = Statement.objects.get(contract=seeded, revision=2)
    # 10:00–12:00 recorded and 11:00–14:00 claimed are 240 minutes, counted once:
    # 99.444 %, 5 started steps of 0.1 → 25 % of 1,000.00 = 250.00 EUR.
    assert revision.credit_total == Decimal("250.00")
    link = page.get_by_role("link", name="WAN-1 November 2026, revision 2")
    expect(link.locator("..")).to_contain_text("credit 250.00 EUR")
    screenshot(page, "claim-accepted-provider")
    link.click()
    expect(page.locator("tr.adjustment.claim")).to_contain_text(
        f"Claim #{claim.pk} accepted: the outage it reports (Managed WAN, 2026-11-05 11:00 "
        "to 14:00 UTC)"
    )
    screenshot(page, "claim-revision-statement")

    both = members_of(personas.provider, personas.customer)
    for event in ("claim_filed", "claim_resolved", "statement_issued"):
        told = Notification.objects.filter(event=event).values_list("user_id", flat=True)
        assert set(told) == both, event
