"""The receiver's round trips to the database per delivery do not grow with its alerts:
the mappings are read once, the stored occurrences and their incidents locked in one
statement each, and new and changed rows written in one statement per table; concurrent
deliveries of the same alerts still end in one incident per occurrence."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contracts.models import Incident
from integrations.models import AlertIncident, IntegrationEvent
from tests.integrations.conftest import alert, dumps, payload

pytestmark = pytest.mark.django_db(transaction=True)

# Authentication, BEGIN, mappings, lock of the stored occurrences, the new occurrences
# (ON CONFLICT), the incidents, their history, the occurrences' incidents, the log line,
# COMMIT.
FIRING_QUERIES = 10
# Authentication, BEGIN, mappings, lock of the occurrences, lock of their incidents, the
# incidents' ends, their history, the occurrences' ends, the log line, COMMIT.
RESOLVED_QUERIES = 10


def alerts(count: int, status: str = "firing") -> list[dict]:
    ends = "2026-11-10T11:50:00Z" if status == "resolved" else None
    return [
        alert(status, starts=f"2026-11-10T11:{i:02}:00Z", ends=ends, fingerprint=f"fp{i:04}")
        for i in range(count)
    ]


def deliver(receiver, alert_list: list[dict]) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        answer = Client().post(
            f"/hooks/{receiver.public_id}/",
            dumps(payload(*alert_list)),
            content_type="application/json",
            headers={"Authorization": f"Bearer {receiver.token}"},
        )
    assert answer.status_code == 200, answer.content
    return answer.json(), len(queries.captured_queries)


@pytest.mark.parametrize("count", [1, 25])
def test_firing_then_resolved_take_the_same_queries_for_1_or_25_alerts(
    clock, alert_receiver, count
):
    body, queries = deliver(alert_receiver, alerts(count))
    assert body == {"recorded": count, "unchanged": 0, "refused": []}
    assert queries == FIRING_QUERIES
    assert Incident.objects.count() == AlertIncident.objects.count() == count
    assert not AlertIncident.objects.filter(incident=None).exists()

    body, queries = deliver(alert_receiver, alerts(count, "resolved"))
    assert body == {"recorded": count, "unchanged": 0, "refused": []}
    assert queries == RESOLVED_QUERIES
    assert set(Incident.objects.values_list("ended_at", flat=True)) == {
        AlertIncident.objects.values_list("ends_at", flat=True).first()
    }
    # Every incident has its creation and its end in its history.
    assert Incident.history.filter(history_type="+").count() == count
    assert Incident.history.filter(history_type="~").count() == count


def test_a_repeat_and_an_unmapped_alert_in_one_delivery_cost_no_more(clock, alert_receiver):
    deliver(alert_receiver, alerts(3))
    unmapped = alert(fingerprint="other", service="elsewhere")
    body, queries = deliver(alert_receiver, [*alerts(3), *alerts(30)[3:], unmapped])
    assert body["recorded"] == 27
    assert body["unchanged"] == 3
    assert len(body["refused"]) == 1
    # The repeats change their occurrences' last sighting: one more statement, not three.
    assert queries == FIRING_QUERIES + 1
    assert Incident.objects.count() == 30
    assert IntegrationEvent.objects.count() == 2


def test_firing_and_resolution_of_one_occurrence_in_one_delivery_make_one_closed_incident(
    clock, alert_receiver
):
    resolved = alert("resolved", ends="2026-11-10T11:30:00Z")
    body, _ = deliver(alert_receiver, [alert(), resolved, alert()])
    assert body == {"recorded": 2, "unchanged": 1, "refused": []}
    incident = Incident.objects.get()
    assert incident.ended_at == AlertIncident.objects.get().ends_at
    assert incident.ended_at.isoformat() == "2026-11-10T11:30:00+00:00"


def test_concurrent_deliveries_of_the_same_alerts_make_one_incident_each(
    live_server, clock, alert_receiver
):
    """Eight senders post the same firing alerts at once, then their resolutions: the
    deliveries that lose the race to insert an occurrence plan again from the winner's."""
    url = f"{live_server.url}/hooks/{alert_receiver.public_id}/"
    headers = {"Authorization": f"Bearer {alert_receiver.token}"}

    def post_all(body: dict) -> list[int]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = pool.map(
                lambda _: requests.post(url, json=body, headers=headers, timeout=30), range(8)
            )
            return [answer.status_code for answer in answers]

    for round_ in range(3):
        firing = [
            alert(starts=f"2026-11-10T1{round_}:00:00Z", fingerprint=f"race{round_}{i}")
            for i in range(3)
        ]
        assert post_all(payload(*firing)) == [200] * 8
        resolved = [
            {**a, "status": "resolved", "endsAt": f"2026-11-10T1{round_}:30:00Z"} for a in firing
        ]
        assert post_all(payload(*resolved)) == [200] * 8
    assert Incident.objects.count() == AlertIncident.objects.count() == 9
    assert not AlertIncident.objects.filter(ends_at=None).exists()
    for row in AlertIncident.objects.select_related("incident"):
        assert row.incident.ended_at == row.ends_at
    # Every delivery is logged: 8 senders, 2 deliveries, 3 rounds.
    assert IntegrationEvent.objects.count() == 48


def test_an_alert_whose_incident_would_be_out_of_range_is_refused_not_a_500(clock, alert_receiver):
    far = alert(starts="1000-01-01T00:00:00Z", fingerprint="far")
    body, _ = deliver(alert_receiver, [far, alert()])
    assert body["recorded"] == 1
    assert len(body["refused"]) == 1
    assert body["refused"][0].startswith("ProbeFailure {")
    assert "started_at:" in body["refused"][0]
    assert Incident.objects.count() == AlertIncident.objects.count() == 1
    assert IntegrationEvent.objects.get().refusals == body["refused"]
