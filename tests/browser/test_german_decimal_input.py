"""A German reader types a fee the German way in the browser: the input offers the phone's
decimal keypad, keeps its label, shows the stored fee in German, refuses an ambiguous
figure beside the input and saves 99,95 as 99.95."""

from __future__ import annotations

from decimal import Decimal

import pytest

from people.models import Profile
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_german_reader_types_99_comma_95_into_a_fee_and_saves_it(personas, page):
    Profile.objects.create(user=personas.provider_editor, language="de")
    cs = personas.contract.services.get()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(personas.provider_editor.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_load_state()

    page.goto(f"/contracts/{personas.contract.pk}/services/{cs.pk}/edit/")
    fee = page.get_by_label("Entgelt je Monat (EUR)")
    assert fee.get_attribute("inputmode") == "decimal"
    assert fee.get_attribute("type") == "text"
    # The stored 1000.00, as a German reader writes it.
    assert fee.input_value() == "1000"

    fee.fill("1.234")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_load_state()
    error = page.locator("#id_fee_error")
    assert "mehrdeutig" in error.inner_text()
    fee = page.get_by_label("Entgelt je Monat (EUR)")
    assert "id_fee_error" in (fee.get_attribute("aria-describedby") or "")
    assert fee.get_attribute("inputmode") == "decimal"
    cs.refresh_from_db()
    assert cs.fee == Decimal("1000.00")

    fee.fill("99,95")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(f"**/contracts/{personas.contract.pk}/**")
    cs.refresh_from_db()
    assert cs.fee == Decimal("99.95")
    assert "99,95 EUR" in page.locator("main").inner_text()
