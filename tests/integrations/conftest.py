"""Fixtures of the integration tests: Acme's contract ACME-1 with one service and four
corporate objectives (uptime, ratio, threshold, count), a frozen clock, and receivers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from contracts.models import ServiceLevel
from integrations import services
from integrations.models import AlertMapping, Receiver
from tests.factories import ServiceLevelFactory

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cs(personas):
    """ACME-1's one contract service, with the provider's four objectives applying."""
    provider = personas.provider
    ServiceLevelFactory(provider=provider, key="availability", indicator="uptime")
    ServiceLevelFactory(
        provider=provider,
        key="success",
        name="Successful probes",
        indicator="ratio",
        target=Decimal("99"),
    )
    ServiceLevelFactory(
        provider=provider,
        key="latency",
        name="Fast answers",
        indicator="threshold",
        target=Decimal("95"),
        threshold=Decimal("0.3"),
        threshold_comparator=ServiceLevel.Comparator.LTE,
    )
    ServiceLevelFactory(
        provider=provider,
        key="outages",
        name="Outages",
        indicator="count",
        comparator="lte",
        target=Decimal("3"),
    )
    return personas.contract.services.select_related("contract", "service").get()


def make_receiver(organization, kind="alertmanager", **fields: Any) -> tuple[Receiver, str]:
    return services.create_receiver(
        receiver=Receiver(
            organization=organization, kind=kind, name=fields.pop("name", kind), **fields
        )
    )


@pytest.fixture
def alert_receiver(personas, cs):
    receiver, token = make_receiver(personas.provider, name="Alertmanager")
    services.save_mapping(
        mapping=AlertMapping(
            receiver=receiver,
            matchers={"service": "internet-1g", "customer": "globex"},
            contract_service=cs,
            key="availability",
        )
    )
    receiver.token = token
    return receiver


def alert(
    status="firing",
    starts="2026-11-10T11:00:00Z",
    ends=None,
    fingerprint="1a30ba71cca2921f",
    **labels: str,
) -> dict[str, Any]:
    labels = {"alertname": "ProbeFailure", "service": "internet-1g", "customer": "globex", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "BlackBox probe failure"},
        "startsAt": starts,
        "endsAt": ends or "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4, as template.Data marshals it."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "sla-portal",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": alerts[0]["labels"] if alerts else {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
    }


def dumps(body: Any) -> str:
    return json.dumps(body)
