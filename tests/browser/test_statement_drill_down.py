"""A keyboard user on a phone (390 px) opens a revised statement, reads its summary, reaches
the line-by-line difference and a line's drill-down by Tab and Enter alone; no page scrolls
sideways and none has a serious axe-core finding. Screenshots are kept as artifacts."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.credits.test_statement_summary import customer_editor, revised, wan

__all__ = ["customer_editor", "revised", "wan"]  # the fixtures the test uses

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390
# Enough to pass the navigation and the summary, not so many that a missing link hangs.
MAX_TABS = 60


def tab_to(page, selector: str) -> None:
    """Press Tab until the focused element matches ``selector``."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {selector}")


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def serious_violations(axe, page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    return [
        f"{violation['id']} {[node['target'] for node in violation['nodes']][:3]}"
        for violation in axe.run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_keyboard_reaches_the_diff_and_a_drill_down_at_390_px(page, login, personas, revised):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    second = revised["second"]
    page.set_viewport_size({"width": WIDTH, "height": 800})
    login(personas.customer_member.username)
    page.goto(f"/statements/{second.pk}/")
    assert page.locator("#summary-heading").inner_text() == "Summary"
    assert "250.00 EUR" in page.locator(".payable-credit").inner_text()
    assert page_width(page) <= WIDTH
    assert serious_violations(axe, page) == []
    screenshot(page, "statement-summary-390")

    tab_to(page, "#diff-link")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/statements/{second.pk}/diff/")
    assert page.locator("h1").inner_text() == "What changed in revision 2"
    changed = page.locator("tr.diff-changed")
    assert changed.count() == 1
    assert "100.00 EUR" in changed.inner_text() and "250.00 EUR" in changed.inner_text()
    assert page_width(page) <= WIDTH
    assert serious_violations(axe, page) == []
    screenshot(page, "statement-diff-390")

    page.go_back()
    tab_to(page, "a.drill-down")
    page.keyboard.press("Enter")
    page.wait_for_url("**/incidents/")
    rows = page.locator("#line-records tbody tr")
    assert rows.count() >= 1
    assert page_width(page) <= WIDTH
    # The filter by keyboard: tick "only what counts", submit with Enter.
    tab_to(page, "input[name=only]")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**only=on**")
    assert page.locator("#line-records tbody tr").count() >= 1
    assert page_width(page) <= WIDTH
    assert serious_violations(axe, page) == []
    screenshot(page, "line-incidents-390")
