"""Alertmanager → incidents, through the live receiver over real HTTP: firing opens an
incident, resolved closes it, repeats and a resolution that overtakes its firing end in
one incident, a wrong token stores nothing, and an alert that maps nowhere is refused
and shown on the integrations page."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests

from contracts.models import Incident
from integrations import services
from integrations.models import AlertIncident, IntegrationEvent
from tests.api.conftest import client_for
from tests.integrations.conftest import NOW, alert, payload

pytestmark = pytest.mark.django_db(transaction=True)


def post(live_server, receiver, body, token=None, **headers):
    headers.setdefault("Authorization", f"Bearer {token or receiver.token}")
    return requests.post(
        f"{live_server.url}/hooks/{receiver.public_id}/", json=body, headers=headers, timeout=10
    )


def test_firing_opens_and_resolved_closes_one_incident(live_server, clock, alert_receiver, cs):
    answer = post(live_server, alert_receiver, payload(alert()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 1
    incident = Incident.objects.get()
    assert incident.contract_service == cs
    assert incident.key == "availability"
    assert incident.cause == Incident.Cause.PROVIDER
    assert incident.started_at == datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
    # Still firing: it counts up to now.
    assert incident.ended_at == NOW
    assert "ProbeFailure" in incident.description

    # Alertmanager repeats the group: the same occurrence, nothing new.
    again = post(live_server, alert_receiver, payload(alert()))
    assert again.json() == {"recorded": 0, "unchanged": 1, "refused": []}
    assert Incident.objects.count() == 1

    # Later it repeats while the alert still fires: the incident grows to now.
    clock.shift(timedelta(minutes=30))
    post(live_server, alert_receiver, payload(alert()))
    incident.refresh_from_db()
    assert incident.ended_at == NOW + timedelta(minutes=30)

    resolved = alert("resolved", ends="2026-11-10T12:20:00.123456789Z")
    assert post(live_server, alert_receiver, payload(resolved)).json()["recorded"] == 1
    incident.refresh_from_db()
    assert incident.ended_at == datetime(2026, 11, 10, 12, 20, 0, 123456, tzinfo=UTC)
    # The resolution repeated changes nothing.
    assert post(live_server, alert_receiver, payload(resolved)).json()["unchanged"] == 1
    assert Incident.objects.count() == 1
    assert AlertIncident.objects.get().ends_at == incident.ended_at

    # The same alert firing again later is a new occurrence: a second incident.
    clock.shift(timedelta(hours=1))
    post(live_server, alert_receiver, payload(alert(starts="2026-11-10T13:15:00Z")))
    assert Incident.objects.count() == 2


def test_resolved_before_firing_records_the_whole_incident_once(live_server, clock, alert_receiver):
    resolved = alert("resolved", ends="2026-11-10T11:45:00Z")
    assert post(live_server, alert_receiver, payload(resolved)).json()["recorded"] == 1
    incident = Incident.objects.get()
    assert (incident.started_at, incident.ended_at) == (
        datetime(2026, 11, 10, 11, 0, tzinfo=UTC),
        datetime(2026, 11, 10, 11, 45, tzinfo=UTC),
    )
    # The firing delivery that was overtaken arrives: the outage is over, nothing moves.
    late = post(live_server, alert_receiver, payload(alert()))
    assert late.json() == {"recorded": 0, "unchanged": 1, "refused": []}
    incident.refresh_from_db()
    assert incident.ended_at == datetime(2026, 11, 10, 11, 45, tzinfo=UTC)
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": ""},
        {"Authorization": "Basic " + base64.b64encode(b"alertmanager:wrong").decode()},
        {"Authorization": "Token x"},
    ],
    ids=["wrong-bearer", "missing", "wrong-basic", "other-scheme"],
)
def test_a_wrong_or_missing_token_is_401_and_stores_nothing(
    live_server, clock, alert_receiver, headers
):
    answer = requests.post(
        f"{live_server.url}/hooks/{alert_receiver.public_id}/",
        json=payload(alert()),
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert not Incident.objects.exists()
    assert not AlertIncident.objects.exists()
    assert not IntegrationEvent.objects.exists()


def test_an_unknown_receiver_answers_like_a_wrong_token(live_server, alert_receiver):
    for public_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        answer = requests.post(
            f"{live_server.url}/hooks/{public_id}/",
            json=payload(alert()),
            headers={"Authorization": f"Bearer {alert_receiver.token}"},
            timeout=10,
        )
        assert answer.status_code == 401
    assert not IntegrationEvent.objects.exists()


def test_the_token_also_works_as_a_basic_password_and_a_disabled_receiver_refuses(
    live_server, clock, alert_receiver
):
    basic = base64.b64encode(f"am:{alert_receiver.token}".encode()).decode()
    answer = post(live_server, alert_receiver, payload(alert()), Authorization=f"Basic {basic}")
    assert answer.status_code == 200
    alert_receiver.enabled = False
    services.save_receiver(receiver=alert_receiver)
    assert post(live_server, alert_receiver, payload(alert())).status_code == 401


def test_a_rotated_token_replaces_the_old_one(live_server, clock, alert_receiver):
    old = alert_receiver.token
    new = services.rotate_token(receiver=alert_receiver)
    assert post(live_server, alert_receiver, payload(alert()), token=old).status_code == 401
    assert post(live_server, alert_receiver, payload(alert()), token=new).status_code == 200


def test_labels_that_map_nowhere_are_refused_and_shown_on_the_page(
    live_server, clock, alert_receiver, personas, client
):
    stray = alert(fingerprint="ffff000011112222", customer="initech")
    answer = post(live_server, alert_receiver, payload(alert(), stray))
    assert answer.status_code == 200
    body = answer.json()
    assert body["recorded"] == 1
    assert len(body["refused"]) == 1
    assert 'customer="initech"' in body["refused"][0]
    assert "no mapping matches" in body["refused"][0]
    assert Incident.objects.count() == 1
    event = IntegrationEvent.objects.get()
    assert event.outcome == IntegrationEvent.Outcome.PARTLY
    assert event.refusals == body["refused"]

    post(live_server, alert_receiver, payload(stray))
    assert IntegrationEvent.objects.filter(outcome="refused").count() == 1

    client.force_login(personas.provider_viewer)
    page = client.get(f"/providers/{personas.provider.slug}/integrations/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "no mapping matches these labels" in text
    assert "customer=&quot;initech&quot;" in text
    assert "Partly recorded" in text and "Refused" in text


def test_a_payload_that_is_not_version_4_is_a_400_and_logged(live_server, clock, alert_receiver):
    body = payload(alert())
    body["version"] = "3"
    answer = post(live_server, alert_receiver, body)
    assert answer.status_code == 400
    assert "version" in answer.json()
    not_json = requests.post(
        f"{live_server.url}/hooks/{alert_receiver.public_id}/",
        data=b"{not json",
        headers={"Authorization": f"Bearer {alert_receiver.token}"},
        timeout=10,
    )
    assert not_json.status_code == 400
    assert not Incident.objects.exists()
    assert IntegrationEvent.objects.filter(outcome="refused").count() == 2


def test_bad_alerts_are_refused_one_by_one(live_server, clock, alert_receiver):
    ends_first = alert("resolved", ends="2026-11-10T10:00:00Z", fingerprint="aaaa")
    no_start = alert(fingerprint="bbbb")
    no_start["startsAt"] = "yesterday"
    answer = post(live_server, alert_receiver, payload(alert(), ends_first, no_start))
    body = answer.json()
    assert body["recorded"] == 1
    assert any("endsAt must be after startsAt" in r for r in body["refused"])
    assert any("startsAt must be an RFC 3339" in r for r in body["refused"])


def test_an_editor_reclassifies_the_cause_and_later_deliveries_keep_it(
    live_server, clock, alert_receiver, personas
):
    post(live_server, alert_receiver, payload(alert()))
    incident = Incident.objects.get()
    editor = client_for(personas.provider_editor)
    answer = editor.patch(
        f"/api/v1/incidents/{incident.pk}/", {"cause": "third_party"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert incident.history.count() == 2
    reclassified = incident.history.first()
    assert reclassified.cause == "third_party"
    assert reclassified.history_user == personas.provider_editor

    post(live_server, alert_receiver, payload(alert("resolved", ends="2026-11-10T11:50:00Z")))
    incident.refresh_from_db()
    assert incident.cause == "third_party"
    assert incident.ended_at == datetime(2026, 11, 10, 11, 50, tzinfo=UTC)
    assert [h.cause for h in incident.history.order_by("history_date")] == [
        "provider",
        "third_party",
        "third_party",
    ]


def test_an_alert_matching_two_mappings_counts_against_both(
    live_server, clock, alert_receiver, personas
):
    from integrations.models import AlertMapping
    from tests.factories import ContractServiceFactory

    second = ContractServiceFactory(contract=personas.contract)
    services.save_mapping(
        mapping=AlertMapping(
            receiver=alert_receiver,
            matchers={"service": "internet-1g"},
            contract_service=second,
            key="availability",
        )
    )
    body = post(live_server, alert_receiver, payload(alert())).json()
    assert body["recorded"] == 2
    assert set(Incident.objects.values_list("contract_service_id", flat=True)) == {
        alert_receiver.mappings.order_by("pk").first().contract_service_id,
        second.pk,
    }


def test_a_firing_alert_grows_with_the_periodic_task(clock, alert_receiver):
    from integrations.tasks import tick

    services.receive_alerts(receiver=alert_receiver, payload=payload(alert()), now=NOW)
    clock.shift(timedelta(minutes=3))
    tick()
    incident = Incident.objects.get()
    # Not every minute: at most every five, so that its history stays readable.
    assert incident.ended_at == NOW
    clock.shift(timedelta(minutes=4))
    tick()
    incident.refresh_from_db()
    assert incident.ended_at == NOW + timedelta(minutes=7)
    services.receive_alerts(
        receiver=alert_receiver,
        payload=payload(alert("resolved", ends="2026-11-10T12:05:00Z")),
        now=NOW + timedelta(minutes=7),
    )
    clock.shift(timedelta(minutes=10))
    tick()
    incident.refresh_from_db()
    assert incident.ended_at == datetime(2026, 11, 10, 12, 5, tzinfo=UTC)


def test_the_test_button_maps_without_recording(clock, alert_receiver):
    result = services.send_test_event(receiver=alert_receiver, now=NOW)
    assert "would count against" in result
    assert not Incident.objects.exists()
    event = IntegrationEvent.objects.get()
    assert event.test is True
