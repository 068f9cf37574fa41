"""In a real browser (Chromium): the provider corrects a fee and sees it on the contract's
timeline of terms; an amendment from a day inside a period is refused beside the field."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

import engine
from contracts.models import TermsChange
from tests.browser.conftest import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dates,  # the amendment's refused day is taken from the real clock
    pytest.mark.django_db(transaction=True),
]


def test_a_fee_is_corrected_and_the_timeline_shows_it(personas, login, page):
    contract = personas.contract
    cs = contract.services.select_related("service").get()
    today = timezone.now().astimezone(UTC).date()
    inside_next = engine.period_containing(today, "month", "UTC").end + timedelta(days=10)
    login("provider-editor")

    page.goto(f"/contracts/{contract.pk}/")
    page.get_by_role("link", name=f"Edit fee of {cs.service.name}").click()
    page.get_by_label("Fee per month (EUR)").fill("1200.00")
    page.get_by_label("An amendment: it takes effect from a period start").check()
    page.get_by_label("Effective from").fill(inside_next.isoformat())
    page.get_by_role("button", name="Save").click()
    error = page.locator("#id_effective_from_error, .errorlist").first
    assert "inside the period starting" in error.inner_text()
    assert not TermsChange.objects.exists()

    page.get_by_label("A correction: the terms were wrong, settled periods are revised").check()
    page.get_by_label("Effective from").fill("")
    page.get_by_label("Note for both parties").fill("The order form said 1,200.00.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/contracts/{contract.pk}/#services")

    timeline = page.locator("table.terms-timeline")
    text = timeline.inner_text()
    assert "Correction (retroactive)" in text
    assert "The order form said 1,200.00." in text
    assert "fee: 1200" in text
    screenshot(page, "contract-terms-timeline")
