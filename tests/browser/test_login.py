"""Logging in and out in a real browser."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_provider_editor_logs_in_sees_their_organisation_and_logs_out(personas, login, page):
    login("provider-editor")
    assert page.url.endswith("/")
    nav = page.locator("header.site").inner_text()
    assert "Acme Networks (editor)" in nav
    assert "ACME-1" in page.content()
    screenshot(page, "home-provider")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_a_wrong_password_is_refused_beside_the_form(personas, login, page):
    login("provider-editor", password="not the password")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("alert").is_visible()
