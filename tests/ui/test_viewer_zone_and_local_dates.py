"""Times and dates as a person reads them (the audit of #16): an instant reads the same, in
the viewer's zone and labelled, on the contract page and the statement page; the contract's
own calendar (a maintenance window) stays on the contract's clock, labelled with its zone;
dates are written the reader's way, never ISO, on German pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from contracts.models import MaintenanceWindow
from credits.settlement import settle_period
from people.models import Profile
from tests.conftest import PASSWORD
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import ResponsibilityFactory, ResponsibilityLapseFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
# 07:40 UTC: 08:40 in Berlin (CET), 16:40 in Tokyo (JST).
ISSUED = datetime(2026, 12, 2, 7, 40, tzinfo=UTC)


@pytest.fixture
def berlin(personas):
    """A Berlin contract from 3 Aug 2026, its November settled at ``ISSUED``."""
    with time_machine.travel(ISSUED, tick=False):
        berlin = contract(
            reference="BER-1",
            tz="Europe/Berlin",
            start=date(2026, 8, 3),
            provider=personas.provider,
            customer=personas.customer,
        )
        cs = service(berlin)
        objective(berlin, key="delivery", indicator="ratio", target="95")
        ratio(cs, "delivery", at(2026, 11, 10, 9), ok=99, total=100)
        statement = settle_period(contract=berlin, period_start=date(2026, 11, 1)).statement
    return berlin, statement


def _log_in(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_the_issue_time_reads_the_same_in_tokyo_on_the_contract_and_statement_pages(
    personas, client, berlin
):
    contract_, statement = berlin
    assert statement.issued_at == ISSUED
    MaintenanceWindow.objects.create(
        contract=contract_,
        start=datetime(2026, 12, 5, 21, tzinfo=UTC),
        end=datetime(2026, 12, 5, 23, tzinfo=UTC),
        description="Database upgrade",
    )
    reader = personas.customer_member
    Profile.objects.create(user=reader, timezone="Asia/Tokyo")
    _log_in(client, reader)

    contract_page = page_text(
        client.get(reverse("contract-detail", args=[contract_.pk])).content.decode()
    )
    statement_page = page_text(
        client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    )
    for page in (contract_page, statement_page):
        assert "2 Dec 2026 16:40 JST" in page
        assert "08:40" not in page
    # The maintenance window is the contract's calendar: Berlin's clock, said so.
    assert "5 Dec 2026 22:00 CET" in contract_page
    assert "6 Dec 2026 00:00 CET" in contract_page


def test_a_german_reader_sees_the_start_date_and_a_lapse_in_german(personas, client, berlin):
    contract_, _statement = berlin
    responsibility = ResponsibilityFactory(contract=contract_, title="Ansprechpartner benennen")
    ResponsibilityLapseFactory(
        responsibility=responsibility,
        start=datetime(2026, 11, 3, 8, 15, tzinfo=UTC),
        end=datetime(2026, 11, 3, 10, tzinfo=UTC),
    )
    reader = personas.provider_editor
    Profile.objects.create(user=reader, timezone="Europe/Berlin")
    _log_in(client, reader)

    page = page_text(
        client.get(reverse("contract-detail", args=[contract_.pk]), **GERMAN).content.decode()
    )
    assert "3. Aug. 2026 –" in page
    assert "3. Nov. 2026 09:15 CET" in page and "3. Nov. 2026 11:00 CET" in page
    assert "2. Dez. 2026 08:40 CET" in page  # the statement's issue, the reader's zone
    assert "2026-08-03" not in page and "2026-11-03" not in page

    listing = page_text(client.get(reverse("contract-list"), **GERMAN).content.decode())
    assert "3. Aug. 2026" in listing and "2026-08-03" not in listing
