"""The integrations API: provider members read, editors write, everyone else gets 404;
bad input is a 400 naming the field; tokens are shown once and secrets never."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.models import AlertMapping, IntegrationEvent, PrometheusSource, Receiver
from tests.api.conftest import client_for
from tests.integrations.conftest import NOW, alert, make_receiver, payload

pytestmark = pytest.mark.django_db

RECEIVERS = "/api/v1/integration-receivers/"
MAPPINGS = "/api/v1/alert-mappings/"
SOURCES = "/api/v1/prometheus-sources/"
PULLS = "/api/v1/prometheus-pulls/"
EVENTS = "/api/v1/integration-events/"


@pytest.fixture
def world(personas, cs, alert_receiver):
    from integrations import services

    services.receive_alerts(receiver=alert_receiver, payload=payload(alert()), now=NOW)
    other_receiver, _ = make_receiver(personas.other_provider, name="Theirs")
    return alert_receiver, other_receiver


def test_creating_a_receiver_shows_its_token_once(personas, cs):
    editor = client_for(personas.provider_editor)
    answer = editor.post(
        RECEIVERS,
        {"organization": personas.provider.pk, "kind": "alertmanager", "name": "Prod AM"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    token = body["token"]
    assert len(token) >= 40
    assert body["token_hint"] == token[-4:]
    assert body["url"].endswith(f"/hooks/{Receiver.objects.get().public_id}/")
    assert token not in Receiver.objects.get().token_hash
    read = editor.get(f"{RECEIVERS}{body['id']}/").json()
    assert read["token"] is None
    rotated = editor.post(f"{RECEIVERS}{body['id']}/rotate-token/").json()
    assert rotated["token"] not in (None, token)

    tickets = editor.post(
        RECEIVERS,
        {
            "organization": personas.provider.pk,
            "kind": "tickets",
            "name": "Jira",
            "ticket_format": "jira",
            "ticket_settings": {"contract_services": {"SD": cs.pk}},
        },
        format="json",
    )
    assert tickets.status_code == 201, tickets.content
    assert tickets.json()["acting_user"] == "provider-editor"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "pager"}, "kind"),
        ({"name": ""}, "name"),
        ({"organization": "customer"}, "organization"),
        ({"organization": "other"}, "organization"),
        (
            {"kind": "tickets", "ticket_settings": {"statuses": {"Done": "closed"}}},
            "ticket_settings",
        ),
        ({"ticket_settings": {"priorities": {"High": "P1"}}}, "ticket_settings"),
        ({"ticket_format": "servicenow"}, "ticket_format"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_receivers_are_400s_naming_the_field(personas, body, field):
    organizations = {"customer": personas.customer.pk, "other": personas.other_provider.pk}
    data = {"organization": personas.provider.pk, "kind": "alertmanager", "name": "AM", **body}
    if isinstance(data["organization"], str):
        data["organization"] = organizations[data["organization"]]
    answer = client_for(personas.provider_editor).post(RECEIVERS, data, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert not Receiver.objects.exists()


def test_mappings_name_an_uptime_objective_of_the_providers_contract(personas, cs, world):
    receiver, other_receiver = world
    editor = client_for(personas.provider_editor)
    good = {"receiver": receiver.pk, "matchers": {"service": "mail"}, "contract_service": cs.pk}
    assert editor.post(MAPPINGS, good, format="json").status_code == 201
    cases = [
        ({"key": "latency"}, "key", "alerts become incidents"),
        ({"key": "nope"}, "key", "No objective 'nope'"),
        ({"matchers": {}}, "matchers", "At least one label"),
        ({"matchers": {"bad-name": "x"}}, "matchers", "Label names"),
        ({"matchers": ["service"]}, "matchers", "At least one label"),
        ({"receiver": other_receiver.pk}, "receiver", "object does not exist"),
        ({"contract_service": personas.other_contract.services.get().pk}, "contract_service", ""),
        ({"matchers": {"service": "mail"}}, "matchers", "already maps"),
    ]
    for change, field, message in cases:
        answer = editor.post(MAPPINGS, {**good, **change}, format="json")
        assert answer.status_code == 400, (change, answer.content)
        assert message in " ".join(answer.json()[field]), answer.json()
    assert AlertMapping.objects.count() == 2


def test_sources_never_show_their_secret(personas, settings):
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = False
    editor = client_for(personas.provider_editor)
    body = {
        "organization": personas.provider.pk,
        "name": "Prod",
        "base_url": "https://prometheus.example.com",
        "auth": "bearer",
        "secret": "tok-123",
    }
    answer = editor.post(SOURCES, body, format="json")
    assert answer.status_code == 201, answer.content
    assert "secret" not in answer.json()
    assert answer.json()["has_secret"] is True
    stored = PrometheusSource.objects.get()
    assert stored.secret_encrypted and "tok-123" not in stored.secret_encrypted
    assert "tok-123" not in editor.get(f"{SOURCES}{stored.pk}/").content.decode()
    cases = [
        ({"auth": "none"}, "auth"),
        ({"auth": "basic"}, "username"),
        ({"secret": "", "auth": "bearer"}, "auth"),
        ({"secret_env": "lower-case", "secret": ""}, "secret_env"),
        ({"secret_env": "PROM_TOKEN"}, "secret_env"),  # both a secret and a variable
        ({"base_url": "http://10.1.2.3:9090"}, "base_url"),
        ({"base_url": "ftp://prometheus.example.com"}, "base_url"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": "１０"}, "timeout_seconds"),
    ]
    for change, field in cases:
        answer = editor.post(SOURCES, {**body, "name": str(change), **change}, format="json")
        assert answer.status_code == 400, (change, answer.content)
        assert field in answer.json(), (change, answer.json())
    assert PrometheusSource.objects.count() == 1


def test_pulls_need_a_sample_objective_of_the_providers_contract(personas, cs):
    editor = client_for(personas.provider_editor)
    source = editor.post(
        SOURCES,
        {"organization": personas.provider.pk, "name": "P", "base_url": "https://p.example.com"},
        format="json",
    ).json()
    body = {
        "source": source["id"],
        "contract_service": cs.pk,
        "key": "success",
        "query": "probe_success",
        "start_at": "2026-11-01T00:00:00Z",
    }
    answer = editor.post(PULLS, body, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["next_attempt_at"] == "2026-11-01T00:00:00Z"
    for change, field in [
        ({"key": "availability"}, "key"),
        ({"query": "  "}, "query"),
        ({"step_seconds": 1}, "step_seconds"),
        ({"start_at": "yesterday"}, "start_at"),
        ({"contract_service": personas.other_contract.services.get().pk}, "contract_service"),
        ({"key": "success"}, "non_field_errors"),  # one pull per objective
        ({"pulled_until": "2026-11-01T00:00:00Z", "key": "latency"}, None),
    ]:
        answer = editor.post(PULLS, {**body, **change}, format="json")
        if field is None:
            # Progress is the pull's own: a client cannot set it.
            assert answer.status_code == 201
            assert answer.json()["pulled_until"] is None
            continue
        assert answer.status_code == 400, (change, answer.content)
        assert field in answer.json() or "__all__" in answer.json(), answer.json()


@pytest.mark.parametrize(
    "persona, visible",
    [
        ("provider_admin", True),
        ("provider_editor", True),
        ("provider_viewer", True),
        ("operator", True),
        ("customer_member", False),
        ("other_customer_member", False),
        ("other_provider_member", False),
    ],
)
def test_only_the_providers_members_see_its_integrations(personas, world, persona, visible):
    receiver, other_receiver = world
    client = client_for(getattr(personas, persona))
    mapping = receiver.mappings.get()
    event = IntegrationEvent.objects.get(organization=personas.provider)
    for prefix, pk in [(RECEIVERS, receiver.pk), (MAPPINGS, mapping.pk), (EVENTS, event.pk)]:
        answer = client.get(f"{prefix}{pk}/")
        assert answer.status_code == (200 if visible else 404), (prefix, answer.status_code)
        listed = {row["id"] for row in client.get(prefix).json()["results"]}
        assert (pk in listed) is visible
    if persona == "other_provider_member":
        assert client.get(f"{RECEIVERS}{other_receiver.pk}/").status_code == 200


def test_viewers_and_outsiders_cannot_change_anything(personas, world):
    receiver, _ = world
    viewer = client_for(personas.provider_viewer)
    assert (
        viewer.patch(f"{RECEIVERS}{receiver.pk}/", {"name": "x"}, format="json").status_code == 403
    )
    assert viewer.post(f"{RECEIVERS}{receiver.pk}/rotate-token/").status_code == 403
    outsider = client_for(personas.other_provider_member)
    assert (
        outsider.patch(f"{RECEIVERS}{receiver.pk}/", {"name": "x"}, format="json").status_code
        == 404
    )
    assert outsider.delete(f"{RECEIVERS}{receiver.pk}/").status_code == 404
    assert outsider.post(f"{RECEIVERS}{receiver.pk}/rotate-token/").status_code == 404
    answer = outsider.post(
        MAPPINGS,
        {"receiver": receiver.pk, "matchers": {"a": "b"}, "contract_service": 1},
        format="json",
    )
    assert answer.status_code == 400
    assert "receiver" in answer.json()
    assert client_for(personas.anonymous).get(RECEIVERS).status_code in (401, 403)
    # A receiver's organisation and kind never move.
    editor = client_for(personas.provider_editor)
    moved = editor.patch(f"{RECEIVERS}{receiver.pk}/", {"kind": "tickets"}, format="json")
    assert moved.status_code == 400
    assert moved.json() == {"kind": ["Cannot be changed."]}


def test_the_page_is_the_providers_and_404_for_others(personas, world, client):
    url = f"/providers/{personas.provider.slug}/integrations/"
    for persona, status in [
        ("provider_viewer", 200),
        ("customer_member", 404),
        ("other_provider_member", 404),
    ]:
        client.force_login(getattr(personas, persona))
        assert client.get(url).status_code == status, persona
    client.force_login(personas.provider_viewer)
    receiver, _ = world
    assert client.post(f"{url}receivers/{receiver.pk}/test/").status_code == 403
    client.force_login(personas.other_provider_member)
    assert client.post(f"{url}receivers/{receiver.pk}/test/").status_code == 404


def test_the_log_keeps_the_last_thousand_events_per_organisation(personas, world):
    from integrations import services

    receiver, _ = world
    rows = [
        IntegrationEvent(
            organization=personas.provider,
            channel="alertmanager",
            outcome="recorded",
            at=datetime(2026, 1, 1, tzinfo=UTC),
            summary=f"old {n}",
            receiver=receiver,
        )
        for n in range(1_005)
    ]
    IntegrationEvent.objects.bulk_create(rows)
    services.log_event(
        organization_id=personas.other_provider.pk,
        channel="alertmanager",
        outcome="refused",
        at=NOW,
        summary="theirs",
    )
    deleted = services.prune_events()
    assert deleted == 6
    ours = IntegrationEvent.objects.filter(organization=personas.provider)
    assert ours.count() == 1_000
    assert ours.filter(at=NOW).exists()  # the newest stays
    assert IntegrationEvent.objects.filter(organization=personas.other_provider).count() == 1
