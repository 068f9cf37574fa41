"""The charts in Debian's Chromium at 390 px and 1366 px: a year of attainment against
target and credits stacked by two contracts. The keyboard reaches each point and bar and
shows its figures; the text is readable (at least 11 px), the month names neither overlap
nor leave the chart, the page does not scroll sideways and axe finds nothing serious."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise

import pytest

from credits.models import OpenPeriodProgress
from tests.browser.conftest import screenshot
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement
from tests.factories import ContractFactory, ContractServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The server's clock (ticking): December 2026 is the open month, the twelve before it
# are settled.
SERVER_NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
WIDTHS = (390, 1366)
TEXT = """(selector) => [...document.querySelectorAll(selector)].filter(
  (t) => t.getClientRects().length && getComputedStyle(t).display !== 'none').map((t) => {
    const box = t.getBoundingClientRect();
    return {text: t.textContent, left: box.left, right: box.right, height: box.height};
  })"""
FRAME = "(selector) => document.querySelector(selector).getBoundingClientRect().toJSON()"


@pytest.fixture
def year(personas, time_machine):
    time_machine.move_to(SERVER_NOW, tick=True)
    level = availability_objective(personas, target=Decimal("99.9"))
    cs = personas.contract.services.get()
    months = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 12)]
    for i, month in enumerate(months):
        attainment = (
            Decimal("99.4444") if month.month == 11 else Decimal("99.9") + Decimal(i % 3) / 100
        )
        make_statement(
            personas.contract,
            period_start=month,
            lines=[
                LineSpec(
                    cs,
                    Decimal("250.00") if month.month == 11 else Decimal(i * 10),
                    attainment=attainment,
                    target=Decimal("99.9"),
                )
            ],
        )
    second = ContractFactory(
        provider=personas.provider, customer=personas.customer, reference="ACME-2"
    )
    make_statement(
        second,
        period_start=date(2026, 11, 1),
        lines=[LineSpec(ContractServiceFactory(contract=second), Decimal("100.00"))],
    )
    OpenPeriodProgress.objects.create(
        contract_service=cs,
        key="availability",
        period_start=date(2026, 12, 1),
        period_end=date(2026, 12, 31),
        service_level=level,
        indicator="ratio",
        comparator="gte",
        target=Decimal("99.9"),
        attainment=Decimal("99.95"),
        state=OpenPeriodProgress.State.ON_TRACK,
        measured_at=SERVER_NOW,
    )
    return cs


def _tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _visible_tip(page, selector: str) -> dict:
    return page.evaluate(
        """(s) => {
          const tip = document.querySelector(s).nextElementSibling;
          const box = tip.getBoundingClientRect();
          return {visibility: getComputedStyle(tip).visibility, text: tip.textContent,
                  left: box.left, right: box.right};
        }""",
        selector,
    )


def _check_layout(page, width: int, axe, chart: str) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    texts = page.evaluate(TEXT, f"{chart} svg.chart > g:not(.tip) text, {chart} .xlabels text")
    assert texts and all(t["height"] >= 11 for t in texts), texts
    frame = page.evaluate(FRAME, f"{chart} svg.chart")
    labels = page.evaluate(TEXT, f"{chart} .xlabels text")
    assert labels[-1]["text"] in ("December 2026", "November 2026")
    for before, label in pairwise(labels):
        assert label["left"] >= before["right"], labels
    assert all(frame["left"] - 1 <= t["left"] and t["right"] <= frame["right"] + 1 for t in labels)
    violations = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in axe.run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert violations == []


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_values_show_on_keyboard_focus_and_the_pages_fit(year, login, page, width):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page.set_viewport_size({"width": width, "height": 900})
    login("customer-member")

    page.goto("/dashboard/")
    bar = 'rect.bar[data-period="2026-11-01"]'
    assert page.locator(f"{bar} + .tip").evaluate("t => getComputedStyle(t).visibility") == (
        "hidden"
    )
    _tab_to(page, bar)
    tip = _visible_tip(page, bar)
    assert tip["visibility"] == "visible"
    assert "350.00 EUR" in tip["text"] and "ACME-1: 250.00 EUR" in tip["text"]
    assert tip["left"] >= 0 and tip["right"] <= width
    assert (
        page.get_by_role(
            "img", name="November 2026: 350.00 EUR (ACME-1 250.00 EUR, ACME-2 100.00 EUR)"
        ).count()
        == 1
    )
    _check_layout(page, width, axe, "#credits-chart-EUR")
    screenshot(page, f"charts-dashboard-{width}")

    page.goto(f"/objectives/{year.pk}/availability/")
    point = 'circle.point[data-period="2026-11-01"]'
    _tab_to(page, point)
    tip = _visible_tip(page, point)
    assert tip["visibility"] == "visible"
    assert "99.444 %" in tip["text"] and "target ≥ 99.9 %" in tip["text"]
    assert tip["left"] >= 0 and tip["right"] <= width
    page.mouse.move(0, 0)
    assert page.locator("circle.point.provisional").count() == 1
    _check_layout(page, width, axe, "#attainment-chart")
    screenshot(page, f"charts-objective-{width}")

    # The contract page: a compact chart per objective, the same point.
    page.goto(f"/contracts/{year.contract_id}/")
    chart = f"#attainment-{year.pk}-availability"
    _tab_to(page, f"{chart} {point}", limit=200)
    tip = _visible_tip(page, f"{chart} {point}")
    assert tip["visibility"] == "visible" and "99.444 %" in tip["text"]
    assert tip["left"] >= 0 and tip["right"] <= width
    page.mouse.move(0, 0)
    _check_layout(page, width, axe, chart)
    screenshot(page, f"charts-contract-{width}")
