"""Times in the viewer's zone, labelled (the acting organisation's zone, kept in the
session at login: no query per page), and the admin's contract page readable: inline
sections stacked (no 1,800 px table), credit rules in words, its widgets' inline styles
allowed under /admin/ only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from credits.models import Notification
from tests.conftest import PASSWORD
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db


def _log_in(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


@time_machine.travel(datetime(2026, 12, 2, 4, 25, tzinfo=UTC), tick=False)
def test_times_are_shown_in_the_organisations_zone_with_its_name(personas, client):
    personas.customer.timezone = "Europe/Berlin"
    personas.customer.save()
    Notification.objects.create(
        user=personas.customer_member,
        organization=personas.customer,
        event=Notification.Event.STATEMENT_ISSUED,
        title="Statement ACME-1 November 2026 (revision 1): credit 0.00 EUR",
        link="/statements/1/",
    )
    _log_in(client, personas.customer_member)
    for url in (reverse("dashboard"), reverse("notification-inbox")):
        text = page_text(client.get(url).content.decode())
        assert "2 Dec 2026 05:25 CET" in text, url
        assert "04:25" not in text, url
    # A provider member (UTC organisation) reads the same moment in UTC.
    client.logout()
    _log_in(client, personas.provider_editor)
    response = client.get(reverse("contract-list"))
    assert response.status_code == 200


def test_an_organisation_zone_must_be_an_iana_name(personas):
    from django.core.exceptions import ValidationError

    personas.customer.timezone = "Mars/Olympus"
    with pytest.raises(ValidationError, match="IANA time zone"):
        personas.customer.full_clean()


def test_the_admins_contract_page_says_rules_in_words_and_allows_its_styles(personas, client):
    from tests.credits.settlement_book import objective

    objective(
        personas.contract,
        key="delivery",
        indicator="ratio",
        target="95",
        rule={"kind": "flat", "percent": "5"},
    )
    client.force_login(personas.operator)
    response = client.get(reverse("admin:contracts_contract_change", args=[personas.contract.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Credit rule in words" in html
    style_src = response["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    assert "'unsafe-inline'" in style_src
    # Elsewhere the policy stays strict.
    page = client.get(reverse("contract-list"))
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
