"""Notifications and e-mails write instants in each recipient's zone, labelled, as pages do
(docs/i18n.md "Times and zones"): their own zone, else their organisation's; never the
contract's clock, which is the contract's calendar only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contracts.models import ResponsibilityLapse
from credits.models import Delivery, Notification
from credits.notify import events, publish
from people.models import Profile
from tests.factories import ResponsibilityFactory

START = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
END = datetime(2026, 10, 5, 10, 30, tzinfo=UTC)


def lapse_on(contract, title: str) -> ResponsibilityLapse:
    """A lapse written straight through the ORM: nobody told yet."""
    responsibility = ResponsibilityFactory(contract=contract, title=title)
    return ResponsibilityLapse.objects.create(
        responsibility=responsibility, start=START, end=END, note=""
    )


def published_queries(lapse: ResponsibilityLapse) -> int:
    with CaptureQueriesContext(connection) as captured:
        publish.lapse_recorded(lapse_id=lapse.pk)
    return len(captured)


@pytest.fixture
def berlin(personas):
    """A Berlin contract; a provider member in Tokyo, a German reader in Berlin; the
    customer's organisation in New York and its member without a zone of their own."""
    personas.contract.timezone = "Europe/Berlin"
    personas.contract.save(update_fields=["timezone"])
    Profile.objects.create(user=personas.provider_admin, timezone="Asia/Tokyo")
    Profile.objects.create(user=personas.provider_viewer, language="de", timezone="Europe/Berlin")
    personas.customer.timezone = "America/New_York"
    personas.customer.save(update_fields=["timezone"])
    return personas


def told(user, event: str = "lapse_recorded") -> tuple[Notification, Delivery]:
    notification = Notification.objects.get(user=user, event=event)
    email = Delivery.objects.get(recipient=user.email, event=event, channel="email")
    return notification, email


def test_a_lapse_is_told_in_each_recipients_zone_labelled_not_the_contracts(berlin):
    publish.lapse_recorded(lapse_id=lapse_on(berlin.contract, "Name a contact").pk)

    tokyo, tokyo_email = told(berlin.provider_admin)
    assert "from 5 Oct 2026 17:00 JST to 5 Oct 2026 19:30 JST" in tokyo.body
    assert "5 Oct 2026 17:00 JST to 5 Oct 2026 19:30 JST" in tokyo.title
    assert "5 Oct 2026 17:00 JST" in tokyo_email.email["text"]
    assert "5 Oct 2026 17:00 JST" in tokyo_email.email["html"]
    assert "CEST" not in tokyo.body + tokyo_email.email["text"]

    # No zone of their own: their organisation's.
    customer, customer_email = told(berlin.customer_member)
    assert "from 5 Oct 2026 04:00 EDT to 5 Oct 2026 06:30 EDT" in customer.body
    assert "5 Oct 2026 04:00 EDT" in customer_email.email["text"]

    # German reads the German day, on their own clock.
    german, german_email = told(berlin.provider_viewer)
    assert "von 5. Okt. 2026 10:00 CEST bis 5. Okt. 2026 12:30 CEST" in german.body
    assert "5. Okt. 2026 10:00 CEST" in german_email.email["text"]


def test_a_contested_lapse_is_told_in_the_recipients_zone(berlin):
    lapse = lapse_on(berlin.contract, "Name a contact")
    lapse.status = ResponsibilityLapse.Status.CONTESTED
    lapse.contest_reason = "We answered."
    lapse.contested_at = END
    lapse.save()

    publish.lapse_contested(lapse_id=lapse.pk)

    tokyo, tokyo_email = told(berlin.provider_admin, "lapse_contested")
    assert "5 Oct 2026 17:00 JST to 5 Oct 2026 19:30 JST" in tokyo.title
    assert tokyo_email.email["subject"] == tokyo.title
    customer, _email = told(berlin.customer_member, "lapse_contested")
    assert "5 Oct 2026 04:00 EDT to 5 Oct 2026 06:30 EDT" in customer.title


def test_readings_cost_no_query_more_than_everyone_reading_the_site(personas):
    """The zones are read with the languages, in the one query of the members; the lapse
    is loaded once for every reading."""
    everyone_utc = published_queries(lapse_on(personas.contract, "Before"))
    Profile.objects.create(user=personas.provider_admin, timezone="Asia/Tokyo")
    Profile.objects.create(user=personas.provider_viewer, language="de")
    personas.customer.timezone = "America/New_York"
    personas.customer.save(update_fields=["timezone"])

    zoned = published_queries(lapse_on(personas.contract, "After"))

    assert Notification.objects.filter(title__contains="JST").exists()
    # The lapse, the members with their readings, their choices, the webhooks, and the
    # inserts (notifications, e-mail contents, deliveries) in one savepoint.
    assert zoned == everyone_utc == 9


def test_notices_without_an_instant_are_built_once_per_language_whatever_the_zones(berlin):
    """A batch of statements is not built again for every zone its recipients live in:
    only notices that write an instant are zoned. Three zones and two languages here."""
    lapse = lapse_on(berlin.contract, "Name a contact")
    zones = []

    def build():
        zones.append(timezone.get_current_timezone_name())
        return [events.lapse_notice(lapse)]

    publish.publish(build)
    assert sorted(zones) == ["UTC", "UTC"]  # English and German, both in the site's zone

    zones.clear()
    publish.publish(build, zoned=True)
    assert len(zones) > 2 and {"Asia/Tokyo", "America/New_York"} <= set(zones)
