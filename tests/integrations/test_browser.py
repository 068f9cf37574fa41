"""The integrations page in a real browser (Debian's Chromium): a provider editor opens it
from the menu, reads what arrived and what was refused, and sends a test event."""

from __future__ import annotations

import pytest
import requests
import time_machine
from playwright.sync_api import expect

from tests.browser import conftest as browser_fixtures
from tests.integrations.conftest import NOW, alert, payload

# The browser suite's fixtures: Debian's Chromium, a page on the live server, logging in.
browser = browser_fixtures.browser
page = browser_fixtures.page
login = browser_fixtures.login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def ticking_clock():
    # The clock keeps ticking from there, so the browser's and the server's waits work.
    with time_machine.travel(NOW, tick=True):
        yield


def test_the_page_shows_what_arrived_what_was_refused_and_sends_a_test_event(
    live_server,
    page,
    login,
    personas,
    alert_receiver,
):
    stray = alert(fingerprint="ffff000011112222", customer="initech")
    answer = requests.post(
        f"{live_server.url}/hooks/{alert_receiver.public_id}/",
        json=payload(alert(), stray),
        headers={"Authorization": f"Bearer {alert_receiver.token}"},
        timeout=10,
    )
    assert answer.status_code == 200

    login("provider-editor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Integrations of Acme Networks")).to_be_visible()
    receivers = page.locator("table.receivers")
    expect(receivers).to_contain_text(f"/hooks/{alert_receiver.public_id}/")
    expect(receivers).to_contain_text('{customer="globex", service="internet-1g"} → availability')

    events = page.locator("table.events")
    expect(events.locator("tbody tr")).to_have_count(1)
    row = events.locator("tbody tr").first
    expect(row).to_contain_text("Partly recorded")
    expect(row).to_contain_text("opened: incident #")
    expect(row).to_contain_text('customer="initech"')
    expect(row).to_contain_text("no mapping matches these labels")
    expect(page.get_by_text("1 with something refused", exact=False)).to_be_visible()

    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator(".messages")).to_contain_text(
        "Test event to Alertmanager: test: SLAPortalTestAlert"
    )
    expect(events.locator("tbody tr")).to_have_count(2)
    newest = events.locator("tbody tr").first
    expect(newest.locator(".badge")).to_have_text("test")
    expect(newest).to_contain_text("would count against")
    browser_fixtures.screenshot(page, "integrations")
