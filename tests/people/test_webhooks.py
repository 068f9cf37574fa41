"""Several webhooks per organisation, each set by the organisation's admins with its URL,
format, secret and topics; each event goes to the webhooks that take its topic, signed with
each one's secret; each has its test message and its own delivery log, in the browser, the
API and the admin. The single webhook organisations had moves into the new model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from contracts.models import ResponsibilityLapse
from credits import notify
from credits.models import Delivery
from people.models import Webhook
from tests.credits.test_notify import Receiver, eager_tasks, make_statement, private_targets
from tests.factories import ResponsibilityFactory

pytestmark = pytest.mark.django_db

__all__ = ["eager_tasks", "private_targets"]  # fixtures used by name


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def hook(organization, url: str, **fields) -> Webhook:
    fields.setdefault("secret", "s")
    return Webhook.objects.create(organization=organization, url=url, **fields)


def test_each_event_goes_to_every_webhook_that_takes_its_topic_signed_with_its_own_secret(
    personas, eager_tasks, private_targets, django_capture_on_commit_callbacks
):
    customer = personas.customer
    with Receiver() as everything, Receiver() as slack, Receiver() as lapses_only:
        hook(customer, everything.url, secret="k1")
        hook(customer, slack.url, secret="k2", format="slack", topics=["statement"])
        hook(customer, lapses_only.url, secret="k3", topics=["lapse"])
        statement = make_statement(personas.contract)
        with django_capture_on_commit_callbacks(execute=True):
            notify.statement_issued(statement_id=statement.pk)

    assert len(everything.requests) == len(slack.requests) == 1
    assert lapses_only.requests == []
    (json_request,) = everything.requests
    assert json.loads(json_request["body"])["event"] == "statement_issued"
    assert notify.verify_signature(
        json_request["body"], "k1", json_request["headers"]["X-SLA-Signature"]
    )
    (slack_request,) = slack.requests
    assert json.loads(slack_request["body"])["text"].startswith("*Statement ACME-1")
    assert notify.verify_signature(
        slack_request["body"], "k2", slack_request["headers"]["X-SLA-Signature"]
    )
    # Each delivery is in its own webhook's log.
    logged = dict(Delivery.objects.filter(channel="webhook").values_list("webhook__url", "status"))
    assert logged == {everything.url: "sent", slack.url: "sent"}


def test_two_organisations_webhooks_to_one_url_each_get_the_event(personas):
    # A shared chat channel: one URL, both parties' webhooks; each is told once.
    shared = "https://hooks.example.test/shared"
    hook(personas.provider, shared)
    hook(personas.customer, shared)
    statement = make_statement(personas.contract)

    notify.statement_issued(statement_id=statement.pk)
    notify.statement_issued(statement_id=statement.pk)  # published twice: nothing new

    deliveries = Delivery.objects.filter(channel="webhook")
    assert sorted(d.organization.slug for d in deliveries) == ["acme", "globex"]


def test_a_lapse_reaches_only_the_webhooks_taking_lapses(personas):
    statements = hook(
        personas.customer, "https://hooks.example.test/statements", topics=["statement"]
    )
    lapses = hook(personas.customer, "https://hooks.example.test/lapses", topics=["lapse"])
    lapse = ResponsibilityLapse.objects.create(
        responsibility=ResponsibilityFactory(contract=personas.contract),
        start=datetime(2026, 11, 3, 8, 0, tzinfo=UTC),
        end=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        note="Access not given",
    )

    notify.lapse_recorded(lapse_id=lapse.pk)

    assert list(Delivery.objects.filter(channel="webhook").values_list("webhook", flat=True)) == [
        lapses.pk
    ]
    assert not statements.deliveries.exists()


# --------------------------------------------------------------------------- the API


def test_an_admin_manages_several_webhooks_through_the_api(
    personas, eager_tasks, private_targets, django_capture_on_commit_callbacks
):
    client = api(personas.provider_admin)
    with Receiver(statuses=[500]) as receiver:
        created = client.post(
            "/api/v1/webhooks/",
            {
                "organization": personas.provider.pk,
                "name": "#ops",
                "url": receiver.url,
                "format": "teams",
                "secret": "k",
                "topics": ["lapse", "statement"],
            },
            format="json",
        )
        assert created.status_code == 201, created.json()
        body = created.json()
        assert "secret" not in body
        assert body["topics"] == ["statement", "lapse"]  # in the topics' own order
        second = client.post(
            "/api/v1/webhooks/",
            {
                "organization": personas.provider.pk,
                "url": "https://hooks.example.test/two",
                "secret": "k2",
            },
            format="json",
        )
        assert second.status_code == 201 and second.json()["topics"] == []
        listed = client.get(f"/api/v1/webhooks/?organization={personas.provider.pk}").json()
        assert [row["id"] for row in listed["results"]] == [body["id"], second.json()["id"]]

        with django_capture_on_commit_callbacks(execute=True):
            tested = client.post(f"/api/v1/webhooks/{body['id']}/test/")
        assert tested.status_code == 202
        assert tested.json()["event"] == "webhook_test"
    (request,) = receiver.requests
    assert json.loads(request["body"])["@type"] == "MessageCard"
    log = client.get(f"/api/v1/webhooks/{body['id']}/deliveries/").json()
    assert log["count"] == 1
    (entry,) = log["results"]
    assert (entry["status"], entry["attempts"], entry["last_error"]) == (
        "pending",
        1,
        "RuntimeError: HTTP 500",
    )
    # The second webhook's log is its own.
    assert client.get(f"/api/v1/webhooks/{second.json()['id']}/deliveries/").json()["count"] == 0

    changed = client.patch(
        f"/api/v1/webhooks/{body['id']}/", {"format": "slack", "topics": []}, format="json"
    )
    assert changed.status_code == 200
    webhook = Webhook.objects.get(pk=body["id"])
    assert (webhook.format, webhook.topics, webhook.secret) == ("slack", [], "k")
    assert webhook.history.latest().history_user == personas.provider_admin
    assert client.delete(f"/api/v1/webhooks/{second.json()['id']}/").status_code == 204
    assert list(Webhook.objects.values_list("pk", flat=True)) == [body["id"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"url": "https://h.example.test/a"},
            {"secret": ["A webhook needs a secret to sign with."]},
        ),
        (
            {"url": "https://h.example.test/a", "secret": "k", "format": "pigeon"},
            {"format": ['"pigeon" is not a valid choice.']},
        ),
        (
            {"url": "https://h.example.test/a", "secret": "k", "topics": ["gossip"]},
            {"topics": {"0": ['"gossip" is not a valid choice.']}},
        ),
        (
            {"url": "https://h.example.test/a", "secret": "k", "topics": "statement"},
            {"topics": ['Expected a list of items but got type "str".']},
        ),
        ({"url": "ftp://h.example.test/a", "secret": "k"}, "url"),
        ({"url": "https://10.1.2.3/a", "secret": "k"}, "url"),
        ({"url": "https://h.example.test/a", "secret": "k", "events": []}, "events"),
    ],
)
def test_bad_webhooks_are_a_400_per_field_and_change_nothing(personas, settings, body, errors):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = api(personas.provider_admin).post(
        "/api/v1/webhooks/", {"organization": personas.provider.pk, **body}, format="json"
    )
    assert response.status_code == 400
    if isinstance(errors, str):
        assert list(response.json()) == [errors]
    else:
        assert response.json() == errors
    assert not Webhook.objects.exists()


def test_a_second_webhook_to_the_same_url_is_refused(personas):
    hook(personas.provider, "https://hooks.example.test/a")
    response = api(personas.provider_admin).post(
        "/api/v1/webhooks/",
        {
            "organization": personas.provider.pk,
            "url": "https://hooks.example.test/a",
            "secret": "k",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "already has a webhook to this URL" in str(response.json())
    assert Webhook.objects.count() == 1


def test_outsiders_get_404_for_every_webhook_id_and_change_nothing(personas):
    webhook = hook(personas.provider, "https://hooks.example.test/a")
    for user in (
        personas.provider_editor,
        personas.provider_viewer,
        personas.customer_member,
        personas.other_customer_member,
        personas.other_provider_member,
    ):
        client = api(user)
        base = f"/api/v1/webhooks/{webhook.pk}/"
        assert client.get(base).status_code == 404
        assert client.patch(base, {"name": "x"}, format="json").status_code == 404
        assert client.delete(base).status_code == 404
        assert client.post(base + "test/").status_code == 404
        assert client.get(base + "deliveries/").status_code == 404
        # Nor may they add one to an organisation they do not administer.
        added = client.post(
            "/api/v1/webhooks/",
            {"organization": personas.provider.pk, "url": "https://e.example.test/", "secret": "k"},
            format="json",
        )
        assert added.status_code in (400, 403)
    assert list(Webhook.objects.values_list("pk", "name")) == [(webhook.pk, "")]
    assert not Delivery.objects.exists()


# --------------------------------------------------------------------------- browser, admin


def test_the_webhook_list_shows_each_webhook_with_its_latest_delivery(personas, client):
    json_hook = hook(personas.provider, "https://hooks.example.test/a", name="Tools")
    hook(personas.provider, "https://hooks.example.test/b", topics=["dispute"])
    notify.statement_issued(statement_id=make_statement(personas.contract).pk)
    client.force_login(personas.provider_admin)

    page = client.get("/organizations/acme/webhooks/").content.decode()

    assert f'data-webhook="{json_hook.pk}"' in page
    assert 'data-status="pending"' in page and "every event" in page and "dispute" in page
    assert client.get("/organizations/acme/webhook/")["Location"] == "/organizations/acme/webhooks/"


def test_removing_a_webhook_in_the_browser_refuses_what_was_pending(personas, client):
    webhook = hook(personas.provider, "https://hooks.example.test/a")
    notify.statement_issued(statement_id=make_statement(personas.contract).pk)
    pending = Delivery.objects.get(channel="webhook", organization=personas.provider)
    client.force_login(personas.provider_admin)

    removed = client.post(f"/organizations/acme/webhooks/{webhook.pk}/delete/")

    assert removed.status_code == 302
    assert not Webhook.objects.exists()
    assert notify.send_delivery(delivery_id=pending.pk) == "refused"


def test_operators_add_a_webhook_test_it_and_read_its_log_in_the_admin(
    personas, client, django_capture_on_commit_callbacks
):
    client.force_login(personas.operator)
    bad = client.post(
        "/admin/people/webhook/add/",
        {"organization": personas.customer.pk, "url": "https://h.example.test/a", "format": "json"},
    )
    assert bad.status_code == 200
    assert "A webhook needs a secret to sign with." in bad.content.decode()
    added = client.post(
        "/admin/people/webhook/add/",
        {
            "organization": personas.customer.pk,
            "name": "Globex tools",
            "url": "h.example.test/a",
            "format": "teams",
            "secret": "k",
            "topics": ["claim"],
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    webhook = Webhook.objects.get()
    assert (webhook.url, webhook.topics) == ("https://h.example.test/a", ["claim"])
    assert webhook.history.latest().history_user == personas.operator

    client.post(
        "/admin/people/webhook/",
        {"action": "send_test", "_selected_action": [webhook.pk]},
    )
    delivery = Delivery.objects.get()
    assert (delivery.webhook, delivery.event) == (webhook, "webhook_test")
    page = client.get(f"/admin/people/webhook/{webhook.pk}/change/").content.decode()
    assert "Delivery log" in page and "Webhook test" in page


# --------------------------------------------------------------------------- the migration


def test_the_migration_moves_each_organisations_single_webhook_and_its_log(personas):
    from importlib import import_module

    copy = import_module("people.migrations.0004_webhooks_from_organizations")
    link = import_module("credits.migrations.0018_webhook_delivery_logs")
    old = [
        SimpleNamespace(
            pk=personas.customer.pk,
            webhook_url="https://hooks.globex.example/sla",
            webhook_secret="s3cret",
            webhook_format="slack",
        )
    ]

    class Organizations:
        """The organisation rows as they were, with their single webhook."""

        @staticmethod
        def exclude(**kwargs):
            return SimpleNamespace(only=lambda *fields: old)

    models = {
        ("contracts", "Organization"): SimpleNamespace(objects=Organizations),
        ("people", "Webhook"): Webhook,
        ("credits", "Delivery"): Delivery,
    }
    apps = SimpleNamespace(get_model=lambda app, name: models[(app, name)])
    # A delivery of the single webhook, from before Delivery named its webhook.
    Delivery.objects.create(
        event_id="00000000-0000-0000-0000-000000000001",
        event="statement_issued",
        channel="webhook",
        organization=personas.customer,
        recipient="https://hooks.globex.example/sla",
        payload={},
    )

    copy.copy_webhooks(apps, None)
    link.link_webhook_deliveries(apps, None)

    webhook = Webhook.objects.get()
    assert (webhook.organization, webhook.url, webhook.secret, webhook.format, webhook.topics) == (
        personas.customer,
        "https://hooks.globex.example/sla",
        "s3cret",
        "slack",
        [],
    )
    assert list(webhook.deliveries.values_list("recipient", flat=True)) == [
        "https://hooks.globex.example/sla"
    ]
