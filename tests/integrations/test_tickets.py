"""Ticket systems → tickets through a receiver with a secret: the portal's own shape, a
Jira Service Management webhook and a Zammad/osTicket-style JSON, each recorded by the
ticket API's upsert (all or nothing, per-item errors) and logged on the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from contracts.models import Membership, Ticket
from integrations.models import IntegrationEvent
from tests.factories import ticket_payload
from tests.integrations.conftest import make_receiver

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def post(client, receiver, body, token=None):
    return client.post(
        f"/hooks/{receiver.public_id}/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or receiver.token}",
    )


def ticket_receiver(personas, ticket_format="generic", ticket_settings=None):
    receiver, token = make_receiver(
        personas.provider,
        kind="tickets",
        name=f"Tickets ({ticket_format})",
        ticket_format=ticket_format,
        ticket_settings=ticket_settings or {},
        acting_user=personas.provider_editor,
    )
    receiver.token = token
    return receiver


def history(ticket):
    return [(e.at, e.status) for e in ticket.events.order_by("at", "pk")]


def test_the_generic_shape_is_the_ticket_api_upsert(clock, personas, cs, client):
    receiver = ticket_receiver(personas)
    body = ticket_payload(cs)
    first = post(client, receiver, body)
    assert first.status_code == 201, first.content
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    again = post(client, receiver, {"tickets": [body]})
    assert again.status_code == 200
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1}
    ticket = Ticket.objects.get()
    assert ticket.reference == "INC-1"
    assert len(history(ticket)) == 4
    assert [e.outcome for e in IntegrationEvent.objects.order_by("pk")] == [
        "recorded",
        "unchanged",
    ]


def test_a_wrong_token_is_401_and_stores_nothing(clock, personas, cs, client):
    receiver = ticket_receiver(personas)
    answer = post(client, receiver, ticket_payload(cs), token="not-the-token")
    assert answer.status_code == 401
    assert not Ticket.objects.exists()
    assert not IntegrationEvent.objects.exists()


def test_a_bad_batch_is_refused_whole_with_each_item_named(clock, personas, cs, client):
    receiver = ticket_receiver(personas)
    other = personas.other_contract.services.get()
    answer = post(
        client,
        receiver,
        [
            ticket_payload(cs, "OK-1"),
            ticket_payload(other, "THEIRS"),
            ticket_payload(cs, "X", priority="P9"),
        ],
    )
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert errors == [
        {
            "index": 1,
            "field": "contract_service",
            "message": f"contract service {other.pk} does not exist",
        }
    ]
    answer = post(
        client, receiver, [ticket_payload(cs, "OK-1"), ticket_payload(cs, "X", priority="P9")]
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "priority"
    assert answer.json()["errors"][0]["index"] == 1
    assert not Ticket.objects.exists()
    refused = IntegrationEvent.objects.filter(outcome="refused")
    assert refused.count() == 2
    assert "unknown priority 'P9'" in refused.first().refusals[0]


def test_an_acting_editor_who_lost_the_right_stops_the_receiver(clock, personas, cs, client):
    receiver = ticket_receiver(personas)
    Membership.objects.filter(user=personas.provider_editor).update(role="viewer")
    answer = post(client, receiver, ticket_payload(cs))
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "acting_user"
    assert not Ticket.objects.exists()

    # Another editor saves the receiver: it writes with that editor's rights from now on.
    from tests.api.conftest import client_for

    taken_over = client_for(personas.provider_admin).patch(
        f"/api/v1/integration-receivers/{receiver.pk}/", {"enabled": True}, format="json"
    )
    assert taken_over.status_code == 200, taken_over.content
    assert taken_over.json()["acting_user"] == "provider-admin"
    assert post(client, receiver, ticket_payload(cs)).status_code == 201


def jira(event, status, category, timestamp, **extra):
    fields = {
        "project": {"id": "10000", "key": "SD", "name": "Service Desk"},
        "summary": "VPN drops every hour",
        "priority": {"id": "1", "name": "Highest"},
        "status": {"name": status, "statusCategory": {"key": category}},
        "created": "2026-11-10T09:00:00.000+0000",
        "updated": timestamp,
        "resolutiondate": extra.pop("resolutiondate", None),
    }
    return {
        "timestamp": int(at(timestamp).timestamp() * 1000),
        "webhookEvent": event,
        "issue_event_type_name": event.split(":")[-1],
        "user": {"displayName": "Agent Smith"},
        "issue": {"id": "10042", "key": "SD-12", "fields": fields},
        **extra,
    }


def test_a_jira_service_management_webhook_builds_the_ticket_and_its_history(
    clock, personas, cs, client
):
    receiver = ticket_receiver(
        personas, "jira", {"contract_services": {"SD": cs.pk}, "statuses": {"Triage": "open"}}
    )
    created = jira(
        "jira:issue_created", "Waiting for support", "new", "2026-11-10T09:00:00.000+0000"
    )
    assert post(client, receiver, created).status_code == 201
    ticket = Ticket.objects.get()
    assert (ticket.reference, ticket.priority, ticket.first_response_at) == ("SD-12", "P1", None)
    assert history(ticket) == [(at("2026-11-10T09:00:00+00:00"), "open")]

    comment = jira(
        "comment_created",
        "Waiting for support",
        "new",
        "2026-11-10T09:20:00.000+0000",
        comment={
            "body": "Looking into it",
            "created": "2026-11-10T09:20:00.000+0000",
            "jsdPublic": True,
        },
    )
    assert post(client, receiver, comment).status_code == 200
    ticket.refresh_from_db()
    assert ticket.first_response_at == at("2026-11-10T09:20:00+00:00")

    for status, category, when in [
        ("Waiting for customer", "indeterminate", "2026-11-10T10:00:00.000+0000"),
        ("In Progress", "indeterminate", "2026-11-10T11:00:00.000+0000"),
    ]:
        assert (
            post(client, receiver, jira("jira:issue_updated", status, category, when)).status_code
            == 200
        )
    resolved = jira(
        "jira:issue_updated",
        "Resolved",
        "done",
        "2026-11-10T11:30:00.000+0000",
        resolutiondate="2026-11-10T11:30:00.000+0000",
    )
    assert post(client, receiver, resolved).status_code == 200
    assert post(client, receiver, resolved).json() == {"created": 0, "updated": 0, "unchanged": 1}
    ticket.refresh_from_db()
    assert ticket.resolved_at == at("2026-11-10T11:30:00+00:00")
    # The first response stays the comment's, not the later transitions'.
    assert ticket.first_response_at == at("2026-11-10T09:20:00+00:00")
    assert history(ticket) == [
        (at("2026-11-10T09:00:00+00:00"), "open"),
        (at("2026-11-10T10:00:00+00:00"), "waiting_on_customer"),
        (at("2026-11-10T11:00:00+00:00"), "in_progress"),
        (at("2026-11-10T11:30:00+00:00"), "resolved"),
    ]

    # Reopened in Jira: the portal's history says so and the resolution is gone.
    reopened = jira(
        "jira:issue_updated", "In Progress", "indeterminate", "2026-11-10T11:45:00.000+0000"
    )
    post(client, receiver, reopened)
    ticket.refresh_from_db()
    assert ticket.resolved_at is None
    assert history(ticket)[-1] == (at("2026-11-10T11:45:00+00:00"), "reopened")


def test_a_jira_project_mapped_nowhere_is_refused_with_the_reason(clock, personas, cs, client):
    receiver = ticket_receiver(personas, "jira", {"contract_services": {"OPS": cs.pk}})
    answer = post(
        client, receiver, jira("jira:issue_created", "Open", "new", "2026-11-10T09:00:00.000+0000")
    )
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["field"] == "issue.fields.project"
    assert "SD is mapped to no contract service" in error["message"]
    assert "knows OPS" in error["message"]


def test_a_zammad_ticket_and_an_osticket_style_one(clock, personas, cs, client):
    receiver = ticket_receiver(personas, "zammad", {"contract_services": {"Service Desk": cs.pk}})
    zammad = {
        "ticket": {
            "id": 77,
            "number": "31001",
            "title": "Printer on fire",
            "group": {"name": "Service Desk"},
            "priority": {"name": "3 high"},
            "state": {"name": "closed"},
            "created_at": "2026-11-10T08:00:00.000Z",
            "updated_at": "2026-11-10T10:00:00.000Z",
            "first_response_at": "2026-11-10T08:30:00.000Z",
            "close_at": "2026-11-10T10:00:00.000Z",
        },
        "article": {"subject": "Printer on fire", "body": "…"},
    }
    assert post(client, receiver, zammad).status_code == 201
    ticket = Ticket.objects.get(reference="31001")
    assert ticket.priority == "P1"
    assert ticket.first_response_at == at("2026-11-10T08:30:00+00:00")
    assert ticket.resolved_at == at("2026-11-10T10:00:00+00:00")
    assert history(ticket) == [
        (at("2026-11-10T08:00:00+00:00"), "open"),
        (at("2026-11-10T10:00:00+00:00"), "resolved"),
    ]

    osticket = {
        "number": "000123",
        "subject": "Cannot log in",
        "dept": "Service Desk",
        "priority": "Emergency",
        "status": "Open",
        "created": "2026-11-10T09:00:00+00:00",
        "updated": "2026-11-10T09:40:00+00:00",
    }
    assert post(client, receiver, osticket).status_code == 201
    ticket = Ticket.objects.get(reference="000123")
    assert ticket.priority == "P1"
    assert history(ticket) == [
        (at("2026-11-10T09:00:00+00:00"), "open"),
        (at("2026-11-10T09:40:00+00:00"), "in_progress"),
    ]


def test_the_test_button_reads_a_sample_ticket_and_stores_nothing(clock, personas, cs):
    from integrations import services
    from tests.integrations.conftest import NOW

    receiver = ticket_receiver(personas, "jira", {"contract_services": {"SD": cs.pk}})
    assert "read and mapped" in services.send_test_event(receiver=receiver, now=NOW)
    generic = ticket_receiver(personas)
    assert "read and mapped" in services.send_test_event(receiver=generic, now=NOW)
    assert not Ticket.objects.exists()
    assert IntegrationEvent.objects.filter(test=True).count() == 2
