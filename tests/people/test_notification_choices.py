"""Notification choices per person, topic and channel; the daily digest; webhooks in the
organisation's format, its test message and delivery log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from contracts.models import ResponsibilityLapse
from credits import notify
from credits.models import Delivery, Notification
from credits.notify import events
from people.models import DigestItem, NotificationPreference, Webhook
from people.topics import TOPICS
from tests.credits.test_notify import (
    Receiver,
    eager_tasks,
    make_statement,
    private_targets,
    set_webhook,
)
from tests.factories import ResponsibilityFactory

pytestmark = pytest.mark.django_db

__all__ = ["eager_tasks", "private_targets"]  # fixtures used by name


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_event_that_people_hear_of_belongs_to_a_topic_they_can_choose():
    # A new event (a claim, say) must be given a topic, or nobody could turn it off.
    not_news = {Notification.Event.DIGEST, Notification.Event.WEBHOOK_TEST}
    assert set(events.TOPIC_OF_EVENT) == set(Notification.Event.values) - not_news
    assert set(events.TOPIC_OF_EVENT.values()) <= set(TOPICS)


def test_preferences_are_read_and_changed_through_the_api(personas):
    client = api(personas.customer_member)
    listed = client.get("/api/v1/notification-preferences/").json()
    assert [row["topic"] for row in listed] == list(TOPICS)
    assert listed[0] == {
        "topic": "statement",
        "label": "Statements issued",
        "in_app": True,
        "email": True,
        "digest": False,
    }

    changed = client.patch(
        "/api/v1/notification-preferences/change/",
        [{"topic": "dispute", "email": False, "digest": True}],
        format="json",
    )
    assert changed.status_code == 200
    dispute = next(row for row in changed.json() if row["topic"] == "dispute")
    assert (dispute["in_app"], dispute["email"], dispute["digest"]) == (True, False, True)
    # One person's choices are nobody else's.
    other = api(personas.provider_admin).get("/api/v1/notification-preferences/").json()
    assert next(r for r in other if r["topic"] == "dispute")["email"] is True


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            [{"topic": "gossip", "email": False}],
            {"0": {"topic": ['"gossip" is not a valid choice.']}},
        ),
        (
            [{"topic": "dispute", "email": "maybe"}],
            {"0": {"email": ["Must be a valid boolean."]}},
        ),
        (
            {"topic": "dispute"},
            {"non_field_errors": ['Expected a list of items but got type "dict".']},
        ),
    ],
)
def test_bad_preferences_are_a_400_and_change_nothing(personas, body, errors):
    response = api(personas.customer_member).patch(
        "/api/v1/notification-preferences/change/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == errors
    assert not NotificationPreference.objects.exists()


def test_publishing_follows_each_persons_choices(
    personas, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    quiet, digest_reader = personas.provider_viewer, personas.customer_member
    NotificationPreference.objects.create(user=quiet, topic="statement", in_app=False, email=False)
    NotificationPreference.objects.create(
        user=digest_reader, topic="statement", email=False, digest=True
    )
    statement = make_statement(personas.contract)

    with django_capture_on_commit_callbacks(execute=True):
        notify.statement_issued(statement_id=statement.pk)

    told_in_app = set(Notification.objects.values_list("user_id", flat=True))
    assert quiet.pk not in told_in_app and digest_reader.pk in told_in_app
    emailed = {m.to[0] for m in mailoutbox}
    assert quiet.email not in emailed and digest_reader.email not in emailed
    assert personas.provider_admin.email in emailed
    assert list(DigestItem.objects.values_list("user_id", flat=True)) == [digest_reader.pk]


def test_fifty_events_in_a_day_become_one_digest_email_per_person_who_chose_it(
    personas, eager_tasks, mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    day = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    time_machine.move_to(day, tick=False)
    readers = [personas.provider_admin, personas.customer_member]
    for reader in readers:
        NotificationPreference.objects.create(user=reader, topic="lapse", email=False, digest=True)
    responsibility = ResponsibilityFactory(contract=personas.contract)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(50):
            time_machine.move_to(day + timedelta(minutes=10 * n), tick=False)
            lapse = ResponsibilityLapse.objects.create(
                responsibility=responsibility,
                start=day + timedelta(hours=n),
                end=day + timedelta(hours=n, minutes=30),
                note=f"Lapse {n + 1}",
            )
            notify.lapse_recorded(lapse_id=lapse.pk)
    # Those who kept e-mail at once got fifty each; the digest readers none yet.
    at_once = [m for m in mailoutbox if m.to == [personas.provider_editor.email]]
    assert len(at_once) == 50
    assert not [m for m in mailoutbox if m.to[0] in {r.email for r in readers}]
    mailoutbox.clear()

    time_machine.move_to(datetime(2026, 11, 4, 6, 0, tzinfo=UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        sent = notify.send_digests()

    assert sent == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in readers)
    message = mailoutbox[0]
    assert message.subject == "Your SLA Portal digest: 50 events"
    assert message.body.count("Responsibility lapse on ACME-1") == 50
    assert not DigestItem.objects.filter(sent_at__isnull=True).exists()
    # A second run the same morning finds nothing left to send.
    with django_capture_on_commit_callbacks(execute=True):
        assert notify.send_digests() == 0
    assert len(mailoutbox) == 2


@pytest.mark.parametrize(
    ("shape", "check"),
    [
        ("json", lambda body: body["event"] == "statement_issued" and "data" in body),
        ("slack", lambda body: body["text"].startswith("*Statement ACME-1")),
        (
            "teams",
            lambda body: (
                body["@type"] == "MessageCard"
                and body["title"].startswith("Statement ACME-1")
                and body["potentialAction"][0]["targets"][0]["uri"].endswith("/")
            ),
        ),
    ],
)
def test_webhooks_arrive_signed_in_the_organisations_format(
    personas, eager_tasks, private_targets, django_capture_on_commit_callbacks, shape, check
):
    with Receiver() as receiver:
        set_webhook(personas.customer, receiver.url, "s3cret", shape)
        statement = make_statement(personas.contract)
        with django_capture_on_commit_callbacks(execute=True):
            notify.statement_issued(statement_id=statement.pk)
    (request,) = receiver.requests
    body = json.loads(request["body"])
    assert check(body)
    assert notify.verify_signature(request["body"], "s3cret", request["headers"]["X-SLA-Signature"])


def test_an_admin_sends_a_test_message_and_reads_the_delivery_log(
    personas, client, eager_tasks, private_targets, django_capture_on_commit_callbacks
):
    client.force_login(personas.provider_admin)
    with Receiver(statuses=[500]) as receiver:
        saved = client.post(
            "/organizations/acme/webhooks/",
            {"name": "#ops", "url": receiver.url, "format": "slack", "secret": "k3y"},
        )
        assert saved.status_code == 302
        webhook = Webhook.objects.get(organization=personas.provider)
        assert saved["Location"] == f"/organizations/acme/webhooks/{webhook.pk}/"
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/organizations/acme/webhooks/{webhook.pk}/test/")
    (request,) = receiver.requests
    assert json.loads(request["body"])["text"].startswith("*Test message from the SLA Portal*")
    delivery = Delivery.objects.get(event="webhook_test")
    assert delivery.webhook == webhook
    assert delivery.attempts == 1 and delivery.last_error == "RuntimeError: HTTP 500"
    page = client.get(f"/organizations/acme/webhooks/{webhook.pk}/").content.decode()
    assert f'data-delivery="{delivery.pk}" data-status="pending"' in page
    assert "RuntimeError: HTTP 500" in page
    # Saving again without a secret keeps the one there is.
    client.post(
        f"/organizations/acme/webhooks/{webhook.pk}/",
        {"name": "#ops", "url": receiver.url, "format": "json"},
    )
    webhook.refresh_from_db()
    assert (webhook.secret, webhook.format) == ("k3y", "json")


def test_only_the_organisations_admins_reach_its_webhook_pages(personas, client):
    webhook = set_webhook(personas.provider, "https://hooks.example.test/acme")
    for user in (
        personas.provider_editor,
        personas.customer_member,
        personas.other_customer_member,
    ):
        client.force_login(user)
        assert client.get("/organizations/acme/webhooks/").status_code == 404
        assert client.get(f"/organizations/acme/webhooks/{webhook.pk}/").status_code == 404
        assert client.post(f"/organizations/acme/webhooks/{webhook.pk}/test/").status_code == 404
        assert client.post(f"/organizations/acme/webhooks/{webhook.pk}/delete/").status_code == 404
    assert not Delivery.objects.exists()
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_a_webhook_to_a_private_address_is_refused_beside_the_field(personas, client):
    client.force_login(personas.provider_admin)
    response = client.post(
        "/organizations/acme/webhooks/",
        {"url": "http://10.0.0.1/hook", "format": "json", "secret": "k"},
    )
    assert response.status_code == 400
    assert "a private address" in response.content.decode()
    assert not Webhook.objects.exists()


def test_preferences_page_saves_the_choices(personas, client):
    client.force_login(personas.customer_member)
    page = client.get("/account/notifications/")
    assert page.status_code == 200
    data = {f"{topic}__in_app": "on" for topic in TOPICS}
    data["early_warning__digest"] = "on"
    assert client.post("/account/notifications/", data).status_code == 302
    row = NotificationPreference.objects.get(user=personas.customer_member, topic="early_warning")
    assert (row.in_app, row.email, row.digest) == (True, False, True)
    assert timezone.now() >= row.updated_at
