"""In a real browser (Debian's Chromium): a provider's admin invites a new customer, who
accepts from the e-mail, logs in and sees the contract once the provider activates it;
a person in two organisations switches between them and sees each one's data only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from contracts.models import Organization
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.factories import ContractFactory, MembershipFactory, UserFactory
from tests.people.conftest import link_in

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


def test_a_provider_invites_a_new_customer_who_sees_the_contract_once_active(
    personas, login, page, browser, live_server, mailoutbox
):
    login("provider-admin")
    page.goto("/invitations/")
    page.get_by_label("Customer organisation").fill("Hooli")
    page.get_by_label("Its first admin's e-mail").fill("gavin@hooli.test")
    page.get_by_role("button", name="Invite customer").click()
    page.wait_for_url("**/invitations/")
    assert "Invitation sent to gavin@hooli.test to join Hooli as admin" in page.content()
    row = page.locator("table.invitations tbody tr").first
    assert row.get_attribute("data-state") == "pending"
    screenshot(page, "people-invitations")

    # The provider prepares the contract as a draft with the customer it just invited
    # (the contract form offers it: the provider serves it before any contract).
    page.goto("/contracts/new/")
    assert "Hooli" in page.get_by_label("Customer", exact=True).inner_text()
    contract = ContractFactory(
        provider=personas.provider,
        customer=Organization.objects.get(name="Hooli"),
        reference="ACME-H1",
        status="draft",
    )

    # The customer accepts from the e-mail, in a browser of its own.
    (message,) = [m for m in mailoutbox if m.to == ["gavin@hooli.test"]]
    customer = browser.new_context(base_url=live_server.url).new_page()
    customer.goto(link_in(message))
    assert "Join Hooli" in customer.content()
    customer.get_by_label("Username").fill("gavin")
    customer.locator("#id_password").fill(PASSWORD)
    customer.get_by_label("Password again").fill(PASSWORD)
    customer.get_by_role("button", name="Create account and join").click()
    customer.wait_for_url("**/dashboard/")
    assert "Welcome to Hooli: you joined as admin." in customer.content()
    # The same link again: a clear page, not an error.
    customer.goto(link_in(message))
    assert "This invitation was already used" in customer.content()

    # Logged in anew, the customer does not see the draft.
    customer.context.clear_cookies()
    customer.goto("/accounts/login/")
    customer.get_by_label("Username").fill("gavin")
    customer.get_by_label("Password").fill(PASSWORD)
    customer.get_by_role("button", name="Log in").click()
    customer.wait_for_load_state()
    customer.goto("/contracts/")
    assert "ACME-H1" not in customer.content()

    # The provider activates it (through the API, as its tools would); the customer sees it.
    provider_api = APIClient()
    provider_api.force_authenticate(personas.provider_admin)
    activated = provider_api.patch(f"/api/v1/contracts/{contract.pk}/", {"status": "active"})
    assert activated.status_code == 200, activated.json()
    customer.goto("/contracts/")
    assert "ACME-H1" in customer.content()
    screenshot(customer, "people-new-customer-contracts")
    page.goto("/invitations/")
    assert page.locator("table.invitations tbody tr").first.get_attribute("data-state") == (
        "accepted"
    )
    customer.context.close()


def test_a_person_in_two_organisations_switches_and_sees_each_ones_data_only(personas, login, page):
    consultant = UserFactory(username="consultant")
    MembershipFactory(user=consultant, organization=personas.customer, role="editor")
    MembershipFactory(user=consultant, organization=personas.other_customer, role="viewer")

    login("consultant")
    page.goto("/dashboard/")
    body = page.locator("main").inner_text()
    assert "ACME-1" in body and "UMB-1" not in body
    switcher = page.get_by_label("Acting for")
    assert switcher.input_value() == str(personas.customer.pk)

    switcher.select_option(label="Initech (viewer)")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**/dashboard/")
    body = page.locator("main").inner_text()
    assert "UMB-1" in body and "ACME-1" not in body
    assert "You are acting for Initech." in body
    assert page.get_by_label("Acting for").input_value() == str(personas.other_customer.pk)
    screenshot(page, "people-switched-organisation")

    page.get_by_label("Acting for").select_option(label="Globex (editor)")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**/dashboard/")
    body = page.locator("main").inner_text()
    assert "ACME-1" in body and "UMB-1" not in body
