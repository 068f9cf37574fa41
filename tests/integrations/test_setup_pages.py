"""Setting the integrations up in the browser's pages (Django's test client): receivers
with their token shown once and rotated, alert mappings, ticket receivers, Prometheus
sources whose secret is never shown back, pulls named from an objective; errors beside
their field; viewers 403, outsiders 404; the objective shows how its pull fares."""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from contracts.models import Incident
from integrations import secrets, services
from integrations.models import AlertMapping, PrometheusPull, PrometheusSource, Receiver
from tests.integrations.conftest import NOW, alert, payload

pytestmark = pytest.mark.django_db

BASE = "/providers/acme/integrations/"


@pytest.fixture(autouse=True)
def frozen(clock):
    """Every test runs on the integration tests' fixed day."""


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_error(html: str, name: str) -> str:
    """The error text shown beside the field ``name`` (empty if none)."""
    match = re.search(
        rf'<div class="field field-error" id="field-{name}">(.*?)</div>\s*(?=<div class="field|'
        rf"<div class=\"actions|<fieldset)",
        html,
        re.S,
    )
    if match is None:
        return ""
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', match.group(1), re.S)
    return html_module.unescape(" ".join(re.sub(r"<[^>]+>", "", e) for e in errors))


def token_on(html: str) -> str:
    return re.search(r'<code id="receiver-token">([^<]+)</code>', html).group(1)


def test_an_editor_creates_an_alertmanager_receiver_and_sees_its_token_once(personas, cs):
    editor = browser_for(personas.provider_editor)
    answer = editor.post(f"{BASE}receivers/new/alertmanager/", {"name": "Prod", "enabled": "on"})
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    html = answer.content.decode()
    receiver = Receiver.objects.get(name="Prod")
    token = token_on(html)
    assert receiver.kind == "alertmanager"
    assert receiver.token_hash == secrets.token_hash(token)
    assert f"/hooks/{receiver.public_id}/" in html
    assert "credentials: " + token in html  # the alertmanager.yml snippet

    page = editor.get(BASE).content.decode()
    assert token not in page
    assert f"…{receiver.token_hint}" in page

    hook = Client()
    accepted = hook.post(
        f"/hooks/{receiver.public_id}/",
        payload(alert()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert accepted.status_code == 200


def test_rotating_the_token_shows_the_new_one_once_and_the_old_one_stops_working(
    personas, cs, alert_receiver
):
    editor = browser_for(personas.provider_editor)
    answer = editor.post(f"{BASE}receivers/{alert_receiver.pk}/rotate-token/")
    assert answer.status_code == 200
    new_token = token_on(answer.content.decode())
    assert new_token != alert_receiver.token
    hook = Client()
    url = f"/hooks/{alert_receiver.public_id}/"
    old = hook.post(
        url,
        payload(alert()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alert_receiver.token}",
    )
    assert old.status_code == 401
    assert not Incident.objects.exists()
    new = hook.post(
        url,
        payload(alert()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {new_token}",
    )
    assert new.status_code == 200
    assert Incident.objects.count() == 1
    assert editor.get(f"{BASE}receivers/{alert_receiver.pk}/rotate-token/").status_code == 405


def test_receiver_errors_are_shown_beside_their_field(personas, alert_receiver):
    editor = browser_for(personas.provider_editor)
    answer = editor.post(f"{BASE}receivers/new/alertmanager/", {"name": alert_receiver.name})
    assert answer.status_code == 200
    assert "already has a receiver of this name" in field_error(answer.content.decode(), "name")
    assert Receiver.objects.count() == 1
    empty = editor.post(f"{BASE}receivers/new/alertmanager/", {"name": ""})
    assert "This field is required" in field_error(empty.content.decode(), "name")
    assert editor.get(f"{BASE}receivers/new/pagerduty/").status_code == 404


def test_an_editor_maps_alert_labels_to_a_contract_services_uptime_objective(
    personas, cs, alert_receiver
):
    editor = browser_for(personas.provider_editor)
    url = f"{BASE}receivers/{alert_receiver.pk}/mappings/new/"
    answer = editor.post(
        url,
        {
            "labels": 'service="vpn", customer=globex',
            "contract_service": cs.pk,
            "key": "availability",
        },
    )
    assert answer.status_code == 302, answer.content.decode()
    mapping = AlertMapping.objects.order_by("pk").last()
    assert mapping.matchers == {"service": "vpn", "customer": "globex"}
    assert mapping.contract_service == cs

    edit = editor.get(f"{BASE}receivers/{alert_receiver.pk}/mappings/{mapping.pk}/edit/")
    assert 'value="service=&quot;vpn&quot;, customer=&quot;globex&quot;"' in edit.content.decode()

    bad_labels = editor.post(
        url, {"labels": "service", "contract_service": cs.pk, "key": "availability"}
    )
    assert field_error(bad_labels.content.decode(), "labels") == (
        "'service': write name=\"value\" (a label name of letters, digits and _)."
    )
    not_uptime = editor.post(
        url, {"labels": "service=web", "contract_service": cs.pk, "key": "success"}
    )
    assert "is a ratio objective" in field_error(not_uptime.content.decode(), "key")
    others = personas.other_contract.services.get()
    foreign = editor.post(
        url, {"labels": "service=web", "contract_service": others.pk, "key": "availability"}
    )
    assert "Select a valid choice" in field_error(foreign.content.decode(), "contract_service")
    same = editor.post(
        url,
        {
            "labels": 'customer="globex", service="vpn"',
            "contract_service": cs.pk,
            "key": "availability",
        },
    )
    assert "already maps these labels" in field_error(same.content.decode(), "labels")
    assert AlertMapping.objects.count() == 2

    deleted = editor.post(f"{BASE}receivers/{alert_receiver.pk}/mappings/{mapping.pk}/delete/")
    assert deleted.status_code == 302
    assert AlertMapping.objects.count() == 1


def test_an_unmapped_alert_is_refused_and_shown_on_the_page(personas, cs, alert_receiver):
    services.receive_alerts(
        receiver=alert_receiver,
        payload=payload(alert(fingerprint="ffff", service="dns", customer="initech")),
        now=NOW,
    )
    assert not Incident.objects.exists()
    page = browser_for(personas.provider_viewer).get(BASE).content.decode()
    assert "Refused" in page
    assert "no mapping matches these labels" in page
    assert "dns" in page


def test_a_ticket_receiver_maps_jira_projects_priorities_and_statuses(personas, cs):
    editor = browser_for(personas.provider_editor)
    code = cs.service.code
    answer = editor.post(
        f"{BASE}receivers/new/tickets/",
        {
            "name": "Jira",
            "ticket_format": "jira",
            "contract_services": f"SUP = ACME-1 / {code}",
            "priorities": "Blocker = P1",
            "statuses": "Awaiting reply = waiting_on_customer",
            "enabled": "on",
        },
    )
    assert answer.status_code == 200, answer.content.decode()
    receiver = Receiver.objects.get(name="Jira")
    assert token_on(answer.content.decode())
    assert receiver.acting_user == personas.provider_editor
    assert receiver.ticket_settings == {
        "contract_services": {"SUP": cs.pk},
        "priorities": {"Blocker": "P1"},
        "statuses": {"Awaiting reply": "waiting_on_customer"},
    }
    page = editor.get(BASE).content.decode()
    assert f"SUP → ACME-1 · {cs.service.name}" in page
    edit = editor.get(f"{BASE}receivers/{receiver.pk}/edit/").content.decode()
    assert f"SUP = ACME-1 / {code}" in edit

    url = f"{BASE}receivers/{receiver.pk}/edit/"
    unknown = editor.post(
        url, {"name": "Jira", "ticket_format": "jira", "contract_services": "SUP = UMB-1 / x"}
    )
    assert "none of this provider's contract services" in field_error(
        unknown.content.decode(), "contract_services"
    )
    bad_status = editor.post(
        url, {"name": "Jira", "ticket_format": "jira", "statuses": "Done = finished"}
    )
    assert "must be one of" in field_error(bad_status.content.decode(), "statuses")
    receiver.refresh_from_db()
    assert receiver.ticket_settings["contract_services"] == {"SUP": cs.pk}

    # Another editor saving it takes it over: its tickets are written with their rights.
    admin = browser_for(personas.provider_admin)
    saved = admin.post(
        url,
        {"name": "Jira SM", "ticket_format": "jira", "contract_services": f"SUP = acme-1/{code}"},
    )
    assert saved.status_code == 302
    receiver.refresh_from_db()
    assert receiver.name == "Jira SM"
    assert receiver.acting_user == personas.provider_admin
    assert receiver.ticket_settings == {"contract_services": {"SUP": cs.pk}}


def test_a_sources_secret_is_stored_encrypted_and_never_shown_back(personas, settings):
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = False
    editor = browser_for(personas.provider_editor)
    secret = "s3cret-token-that-must-not-show"
    fields = {
        "name": "Prod",
        "base_url": "https://prometheus.example.com",
        "auth": "bearer",
        "secret": secret,
        "timeout_seconds": "10",
    }
    assert editor.post(f"{BASE}sources/new/", fields).status_code == 302
    source = PrometheusSource.objects.get()
    assert secret not in source.secret_encrypted
    assert secrets.decrypt(source.secret_encrypted) == secret
    edit_url = f"{BASE}sources/{source.pk}/edit/"
    for page in (editor.get(edit_url), editor.get(BASE)):
        assert secret not in page.content.decode()
        assert source.secret_encrypted not in page.content.decode()
    assert "secret stored encrypted" in editor.get(BASE).content.decode()

    # Saved again without a secret: the stored one stays.
    assert (
        editor.post(edit_url, {**fields, "secret": "", "timeout_seconds": "20"}).status_code == 302
    )
    source.refresh_from_db()
    assert source.timeout_seconds == 20
    assert secrets.decrypt(source.secret_encrypted) == secret

    # The environment variable replaces it.
    fields.update(secret="", secret_env="PROM_TOKEN")
    assert editor.post(edit_url, fields).status_code == 302
    source.refresh_from_db()
    assert (source.secret_env, source.secret_encrypted) == ("PROM_TOKEN", "")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"base_url": "http://127.0.0.1:9090"}, "base_url", "may not ask"),
        (
            {"base_url": "ftp://prometheus.example.com"},
            "base_url",
            "An http:// or https:// address",
        ),
        ({"secret": ""}, "auth", "needs a secret"),
        ({"auth": "basic"}, "username", "needs a user name"),
        ({"secret": "", "secret_env": "lower-case"}, "secret_env", "environment variable name"),
        ({"timeout_seconds": "0"}, "timeout_seconds", "greater than or equal to 1"),
        ({"timeout_seconds": "１０"}, "timeout_seconds", "Enter a whole number"),
    ],
)
def test_source_errors_are_shown_beside_their_field(personas, settings, change, field, message):
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = False
    fields = {
        "name": "Prod",
        "base_url": "https://prometheus.example.com",
        "auth": "bearer",
        "secret": "t",
        "timeout_seconds": "10",
        **change,
    }
    answer = browser_for(personas.provider_editor).post(f"{BASE}sources/new/", fields)
    assert answer.status_code == 200
    assert message in field_error(answer.content.decode(), field)
    assert not PrometheusSource.objects.exists()


def test_an_objective_links_to_a_new_pull_and_the_pull_form_checks_the_objective(
    personas, cs, settings
):
    editor = browser_for(personas.provider_editor)
    contract_page = editor.get(f"/contracts/{personas.contract.pk}/").content.decode()
    # Ratio, threshold and count objectives may be pulled; uptime is the incidents'.
    links = re.findall(r'href="([^"]*/pulls/new/[^"]*)"', contract_page)
    assert sorted(link.rsplit("key=", 1)[1] for link in links) == ["latency", "outages", "success"]

    # Without a source the form sends the editor to make one first.
    first = editor.get(links[0].replace("&amp;", "&"))
    assert first.status_code == 302
    assert first["Location"].endswith(f"{BASE}sources/new/")

    source = services.save_source(
        source=PrometheusSource(
            organization=personas.provider, name="Prod", base_url="https://prom.example.com"
        )
    )
    url = next(link for link in links if link.endswith("key=success")).replace("&amp;", "&")
    form = editor.get(url).content.decode()
    assert re.search(rf'<option value="{cs.pk}" selected>', form)
    assert 'name="key" value="success"' in form

    fields = {
        "source": source.pk,
        "contract_service": cs.pk,
        "key": "success",
        "query": "probe_success",
        "step_seconds": "60",
        "start_at": "2026-11-10T11:00",
        "enabled": "on",
    }
    assert editor.post(f"{BASE}pulls/new/", fields).status_code == 302
    pull = PrometheusPull.objects.get()
    assert pull.start_at == datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
    assert pull.next_attempt_at == pull.start_at

    again = editor.post(f"{BASE}pulls/new/", fields)
    assert "already pulled" in field_error(again.content.decode(), "key")
    uptime = editor.post(f"{BASE}pulls/new/", {**fields, "key": "availability"})
    assert "is a uptime objective" in field_error(uptime.content.decode(), "key")
    short = editor.post(f"{BASE}pulls/new/", {**fields, "key": "latency", "step_seconds": "5"})
    assert "greater than or equal to 10" in field_error(short.content.decode(), "step_seconds")
    no_query = editor.post(f"{BASE}pulls/new/", {**fields, "key": "latency", "query": " "})
    assert field_error(no_query.content.decode(), "query")
    assert PrometheusPull.objects.count() == 1

    edited = editor.post(
        f"{BASE}pulls/{pull.pk}/edit/",
        {**fields, "query": "avg(probe_success)", "source": ""},
    )
    assert edited.status_code == 302
    pull.refresh_from_db()
    assert (pull.query, pull.source_id) == ("avg(probe_success)", source.pk)


def test_the_objective_shows_its_pulls_failures_to_the_provider_only(personas, cs):
    source = services.save_source(
        source=PrometheusSource(
            organization=personas.provider, name="Prod", base_url="https://prom.example.com"
        )
    )
    pull = services.save_pull(
        pull=PrometheusPull(
            source=source,
            contract_service=cs,
            key="success",
            query="probe_success",
            start_at=NOW - timedelta(hours=1),
        )
    )
    PrometheusPull.objects.filter(pk=pull.pk).update(
        pulled_until=datetime(2026, 11, 10, 11, 30, tzinfo=UTC),
        last_success_at=datetime(2026, 11, 10, 11, 31, tzinfo=UTC),
        last_error="Prometheus answered 500: storage is down",
        failures=3,
        next_attempt_at=datetime(2026, 11, 10, 12, 8, tzinfo=UTC),
        samples_recorded=28,
        samples_refused=2,
        last_refusal="2026-11-10 11:20: NaN is not a value",
    )
    url = f"/contracts/{personas.contract.pk}/"
    for user in (personas.provider_editor, personas.provider_viewer):
        page = browser_for(user).get(url).content.decode()
        feed = page[page.index('<div class="objective-feed') :]
        feed = feed[: feed.index("</dl>")]
        assert "Pulled from Prometheus</strong> (Prod)" in feed
        assert "<code>probe_success</code>" in feed
        assert "10 Nov 2026 11:31 UTC" in feed  # last pulled
        assert "Prometheus answered 500: storage is down" in feed
        assert "10 Nov 2026 12:08 UTC" in feed  # next retry
        assert "3 failures in a row" in feed
        assert "2 of 30" in feed
        assert "NaN is not a value" in feed
        assert ("Edit pull" in feed) is (user == personas.provider_editor)
    customer_page = browser_for(personas.customer_member).get(url).content.decode()
    assert "objective-feed" not in customer_page
    assert "storage is down" not in customer_page


def test_the_contract_page_reads_its_pulls_in_a_bounded_number_of_queries(
    personas, cs, django_assert_max_num_queries
):
    editor = browser_for(personas.provider_editor)
    url = f"/contracts/{personas.contract.pk}/"
    editor.get(url)
    source = services.save_source(
        source=PrometheusSource(
            organization=personas.provider, name="Prod", base_url="https://prom.example.com"
        )
    )
    for key in ("success", "latency", "outages"):
        services.save_pull(
            pull=PrometheusPull(
                source=source, contract_service=cs, key=key, query="up", start_at=NOW
            )
        )
    with django_assert_max_num_queries(60) as captured:
        editor.get(url)
    pulls = [q for q in captured.captured_queries if "integrations_prometheuspull" in q["sql"]]
    assert len(pulls) == 1


@pytest.mark.parametrize(
    "path",
    [
        "receivers/new/alertmanager/",
        "receivers/new/tickets/",
        "receivers/{receiver}/edit/",
        "receivers/{receiver}/delete/",
        "receivers/{receiver}/mappings/new/",
        "receivers/{receiver}/mappings/{mapping}/edit/",
        "receivers/{receiver}/mappings/{mapping}/delete/",
        "sources/new/",
        "sources/{source}/edit/",
        "sources/{source}/delete/",
        "pulls/new/",
        "pulls/{pull}/edit/",
        "pulls/{pull}/delete/",
        "openslo/",
    ],
)
def test_viewers_may_not_set_up_and_outsiders_find_nothing(personas, cs, alert_receiver, path):
    source = services.save_source(
        source=PrometheusSource(
            organization=personas.provider, name="Prod", base_url="https://prom.example.com"
        )
    )
    pull = services.save_pull(
        pull=PrometheusPull(
            source=source, contract_service=cs, key="success", query="up", start_at=NOW
        )
    )
    url = BASE + path.format(
        receiver=alert_receiver.pk,
        mapping=alert_receiver.mappings.get().pk,
        source=source.pk,
        pull=pull.pk,
    )
    assert browser_for(personas.provider_editor).get(url).status_code in (200, 302)
    assert browser_for(personas.provider_viewer).get(url).status_code == 403
    assert browser_for(personas.provider_viewer).post(url, {"name": "x"}).status_code == 403
    for outsider in (
        personas.customer_member,
        personas.other_provider_member,
        personas.other_customer_member,
    ):
        assert browser_for(outsider).get(url).status_code == 404
        assert browser_for(outsider).post(url, {"name": "x"}).status_code == 404
    # The other provider's editor finds nothing of Acme's under their own address either.
    theirs = url.replace("/acme/", "/umbrella/")
    if any(f"/{n}/" in theirs for n in ("receivers", "sources", "pulls")) and "/new/" not in theirs:
        assert browser_for(personas.other_provider_member).get(theirs).status_code == 404
    assert Receiver.objects.count() == 1
    assert PrometheusSource.objects.get().name == "Prod"


def test_the_page_offers_setting_up_to_editors_only(personas, alert_receiver):
    editor_page = browser_for(personas.provider_editor).get(BASE).content.decode()
    viewer_page = browser_for(personas.provider_viewer).get(BASE).content.decode()
    for text in (
        "New Alertmanager receiver",
        "New Prometheus source",
        "Rotate token",
        "Map alert labels",
    ):
        assert text in editor_page
        assert text not in viewer_page


def test_deleting_a_receiver_stops_its_deliveries_and_keeps_its_incidents(
    personas, cs, alert_receiver
):
    services.receive_alerts(receiver=alert_receiver, payload=payload(alert()), now=NOW)
    editor = browser_for(personas.provider_editor)
    confirm = editor.get(f"{BASE}receivers/{alert_receiver.pk}/delete/")
    assert "Deliveries to its URL are refused" in confirm.content.decode()
    assert editor.post(f"{BASE}receivers/{alert_receiver.pk}/delete/").status_code == 302
    assert not Receiver.objects.exists()
    assert Incident.objects.count() == 1
    answer = Client().post(
        f"/hooks/{alert_receiver.public_id}/",
        payload(alert()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alert_receiver.token}",
    )
    assert answer.status_code == 401


def test_an_editor_reclassifying_an_incidents_cause_in_the_browser_leaves_a_history_entry(
    personas, cs, alert_receiver
):
    services.receive_alerts(receiver=alert_receiver, payload=payload(alert()), now=NOW)
    incident = Incident.objects.get()
    assert incident.cause == "provider"
    editor = browser_for(personas.provider_editor)
    url = f"/contracts/{personas.contract.pk}/incidents/{incident.pk}/edit/"

    def local(moment):  # the form's times are the contract's local times
        return moment.astimezone(ZoneInfo(personas.contract.timezone)).strftime("%Y-%m-%dT%H:%M")

    form = editor.get(url)
    assert form.status_code == 200
    answer = editor.post(
        url,
        {
            "contract_service": cs.pk,
            "key": incident.key,
            "started_at": local(incident.started_at),
            "ended_at": local(incident.ended_at),
            "cause": "customer",
            "description": incident.description,
        },
    )
    assert answer.status_code == 302, answer.content.decode()
    incident.refresh_from_db()
    assert incident.cause == "customer"
    history = list(incident.history.order_by("history_date"))
    assert [h.cause for h in history] == ["provider", "customer"]
    assert history[-1].history_type == "~"
    assert history[-1].history_user == personas.provider_editor
    assert history[0].history_user is None  # the receiver wrote the first one
    # The edit page lists the changes with their author.
    changes = editor.get(url).content.decode()
    changes = changes[changes.index('<ol class="changes">') :]
    assert "by an integration or the system — created: cause provider" in changes
    assert "by provider-editor — changed: cause customer" in changes
    # A viewer may not reclassify: nothing changes.
    viewer = browser_for(personas.provider_viewer)
    assert viewer.post(url, {"cause": "provider"}).status_code == 403
    assert incident.history.count() == 2


def test_an_alert_receiver_made_in_the_browser_opens_and_closes_incidents(personas, cs):
    """The whole path: receiver and mapping set up in the pages, then Alertmanager's
    deliveries (repeated and out of order) keyed by fingerprint."""
    editor = browser_for(personas.provider_editor)
    created = editor.post(f"{BASE}receivers/new/alertmanager/", {"name": "AM", "enabled": "on"})
    token = token_on(created.content.decode())
    receiver = Receiver.objects.get(name="AM")
    editor.post(
        f"{BASE}receivers/{receiver.pk}/mappings/new/",
        {
            "labels": 'service="internet-1g", customer="globex"',
            "contract_service": cs.pk,
            "key": "availability",
        },
    )
    hook = Client()

    def deliver(*alerts):
        return hook.post(
            f"/hooks/{receiver.public_id}/",
            payload(*alerts),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    resolved = alert("resolved", ends="2026-11-10T11:40:00Z")
    assert deliver(resolved).status_code == 200  # resolved before firing
    assert deliver(alert()).status_code == 200  # the late firing changes nothing
    assert deliver(resolved).status_code == 200
    incident = Incident.objects.get()
    assert (incident.started_at, incident.ended_at) == (
        datetime(2026, 11, 10, 11, 0, tzinfo=UTC),
        datetime(2026, 11, 10, 11, 40, tzinfo=UTC),
    )
    assert incident.cause == "provider"
