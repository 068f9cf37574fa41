"""In a real browser: an organisation's admin adds two webhooks (a signed JSON one for every
event, a Slack one for statements only), sends one a test message and reads its own
delivery log; a bad URL is refused beside the field."""

from __future__ import annotations

import pytest

from credits.models import Delivery
from people.models import Webhook
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_webhook(page, *, name: str, url: str, shape: str, topics: tuple[str, ...] = ()) -> None:
    page.goto("/organizations/acme/webhooks/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("URL").fill(url)
    page.get_by_label("Format").select_option(label=shape)
    page.get_by_label("Secret").fill("s3cret")
    for topic in topics:
        page.get_by_label(topic).check()
    page.get_by_role("button", name="Add the webhook").click()


def test_an_admin_adds_two_webhooks_tests_one_and_reads_its_log(personas, login, page, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    login("provider-admin")

    add_webhook(page, name="Tools", url="https://hooks.example.test/tools", shape="Signed JSON")
    page.wait_for_url("**/webhooks/*/")
    assert "Webhook Tools added: send it a test message." in page.content()
    add_webhook(
        page,
        name="#sla",
        url="https://hooks.slack.example.test/T0/B0",
        shape="Slack (incoming webhook)",
        topics=("Statements issued",),
    )
    page.wait_for_url("**/webhooks/*/")
    slack = Webhook.objects.get(name="#sla")
    assert (slack.format, slack.topics) == ("slack", ["statement"])

    page.get_by_role("button", name="Send a test message").click()
    page.wait_for_url(f"**/webhooks/{slack.pk}/")
    assert "Test message queued" in page.content()
    delivery = Delivery.objects.get(webhook=slack)
    row = page.locator(f'tr[data-delivery="{delivery.pk}"]')
    assert "Webhook test" in row.inner_text()
    screenshot(page, "people-webhook-log")

    page.goto("/organizations/acme/webhooks/")
    rows = page.locator("table.webhooks tbody tr")
    assert rows.count() == 2
    assert "every event" in rows.nth(0).inner_text()
    assert "statement" in rows.nth(1).inner_text()

    # A private address is refused beside the field, and nothing is added.
    add_webhook(page, name="Inside", url="https://10.0.0.7/hook", shape="Signed JSON")
    field = page.locator("#field-url")
    assert "private address" in field.inner_text()
    assert Webhook.objects.count() == 2
