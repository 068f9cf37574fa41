"""German on a phone: long German words must not widen the page. The login page speaks
German to a browser asking for it; a person who chose German reads the dashboard and a
contract's page at 390 px without sideways scrolling and with no serious or critical
axe-core violation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from people.models import Profile
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVER_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WIDTH = 390


@pytest.fixture
def book(personas, time_machine):
    """ACME-1 with an objective and a statement with a credit, so that every section of
    the dashboard and the contract page has rows to lay out."""
    time_machine.move_to(SERVER_NOW, tick=True)
    availability_objective(personas)
    cs = personas.contract.services.get()
    make_statement(
        personas.contract,
        period_start=date(2026, 5, 1),
        lines=[LineSpec(cs, Decimal("20.00"), attainment=Decimal("98.0"))],
    )
    return personas


def test_the_german_dashboard_and_contract_page_fit_a_phone_and_pass_axe(
    book, browser, live_server
):
    from axe_playwright_python.sync_playwright import Axe

    # The provider editor sees every section of the contract page (early warnings, the
    # edit links); their own choice says German whatever the browser asks.
    Profile.objects.create(user=book.provider_editor, language="de")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 900}, locale="de-DE"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        assert page.locator("h1").inner_text() == "Anmelden"  # the browser's German
        page.locator("#id_username").fill(book.provider_editor.username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_load_state()
        axe = Axe()
        problems = []
        for url in ("/dashboard/", f"/contracts/{book.contract.pk}/"):
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            assert page.locator("html").get_attribute("lang") == "de", url
            assert page.get_by_role("button", name="Abmelden").is_visible(), url
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > WIDTH:
                problems.append(f"{url}: {width} px wide at {WIDTH} px")
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    problems.append(f"{url}: axe {violation['id']} {targets}")
            screenshot(page, f"german{url.replace('/', '-').rstrip('-')}-{WIDTH}")
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
