"""The integrations page's "send a test event": a sample delivery run through the
receiver's own reading and mapping, logged as a test, with nothing recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from integrations.models import AlertMapping, Receiver
from integrations.selectors import contract_service_ids_of
from integrations.services.alertmanager import receive_alerts
from integrations.services.tickets import TicketsRefused, receive_tickets


def sample_alerts(receiver: Receiver, now: datetime) -> dict[str, Any]:
    """An Alertmanager payload whose alert carries the first mapping's labels (or none)."""
    mapping = AlertMapping.objects.filter(receiver=receiver).order_by("pk").first()
    labels = {"alertname": "SLAPortalTestAlert", **(mapping.matchers if mapping else {})}
    starts = (now - timedelta(minutes=5)).isoformat()
    return {
        "version": "4",
        "groupKey": '{}:{alertname="SLAPortalTestAlert"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": receiver.name,
        "groupLabels": {"alertname": "SLAPortalTestAlert"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "A test alert sent from the integrations page"},
        "externalURL": "the integrations page",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "A test alert sent from the integrations page"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "0000000000000000",
            }
        ],
    }


def sample_ticket(receiver: Receiver, now: datetime) -> dict[str, Any]:
    cs_ids = list((receiver.ticket_settings or {}).get("contract_services", {}).items())
    opened = (now - timedelta(hours=1)).isoformat()
    if receiver.ticket_format == Receiver.TicketFormat.JIRA:
        project = cs_ids[0][0] if cs_ids else "TEST"
        return {
            "timestamp": int(now.timestamp() * 1000),
            "webhookEvent": "jira:issue_created",
            "issue": {
                "key": f"{project}-0",
                "fields": {
                    "project": {"key": project},
                    "summary": "A test ticket sent from the integrations page",
                    "priority": {"name": "High"},
                    "status": {"name": "Open", "statusCategory": {"key": "new"}},
                    "created": opened,
                },
            },
        }
    if receiver.ticket_format == Receiver.TicketFormat.ZAMMAD:
        group = cs_ids[0][0] if cs_ids else "Support"
        return {
            "ticket": {
                "number": "TEST-0",
                "title": "A test ticket sent from the integrations page",
                "group": {"name": group},
                "priority": {"name": "2 normal"},
                "state": {"name": "new"},
                "created_at": opened,
                "updated_at": opened,
            }
        }
    own = sorted(contract_service_ids_of(receiver.organization_id))
    return {
        "contract_service": own[0] if own else 0,
        "reference": "TEST-0",
        "priority": "P1",
        "title": "A test ticket sent from the integrations page",
        "opened_at": opened,
    }


def send_test_event(*, receiver: Receiver, now: datetime) -> str:
    """Run a sample delivery through ``receiver``; returns what it would have become."""
    if receiver.kind == Receiver.Kind.ALERTMANAGER:
        received = receive_alerts(
            receiver=receiver, payload=sample_alerts(receiver, now), now=now, test=True
        )
        if received.refused:
            return f"The test alert was refused: {received.refused[0]}"
        return received.recorded[0]
    try:
        receive_tickets(receiver=receiver, payload=sample_ticket(receiver, now), now=now, test=True)
    except TicketsRefused as refused:
        return f"The test ticket was refused: {refused}"
    return "The test ticket was read and mapped; nothing was stored."
