"""Setting up the integrations in a real browser (Debian's Chromium): an editor creates an
Alertmanager receiver and its label mapping, Alertmanager posts to it over real HTTP, a
Prometheus source and a pull on an objective fed by a local fake Prometheus, a ticket
receiver, OpenSLO export and import with its preview; viewers only read."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from contracts.models import Incident, Measurement, ServiceLevel
from integrations import secrets, services
from integrations.models import PrometheusPull, Receiver
from tests.browser.conftest import screenshot
from tests.factories import ServiceLevelFactory
from tests.integrations.conftest import NOW, alert, alert_receiver, cs, payload
from tests.integrations.fake_prometheus import FakePrometheus, serve

# The integration tests' fixtures: ACME-1's contract service with four objectives, and an
# Alertmanager receiver mapping globex's internet-1g alerts to its availability.
__all__ = ["alert_receiver", "cs"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE = "/providers/acme/integrations/"


@pytest.fixture(autouse=True)
def ticking_clock():
    # From the integration tests' fixed day on, ticking, so that the browser's and the
    # server's waits work.
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def fake(settings):
    # The fake Prometheus listens on the loopback, which a shared portal refuses.
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = True
    fake = FakePrometheus()
    server, _ = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def deliver(live_server, receiver: Receiver, token: str, body) -> requests.Response:
    return requests.post(
        f"{live_server.url}/hooks/{receiver.public_id}/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_an_editor_sets_up_an_alertmanager_receiver_that_alertmanager_then_feeds(
    live_server, page, login, personas, cs
):
    login("provider-editor")
    page.goto(BASE)
    page.get_by_role("link", name="New Alertmanager receiver").click()
    page.get_by_label("Name", exact=True).fill("Production Alertmanager")
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_role("heading", name="Receiver Production Alertmanager created")
    ).to_be_visible()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    token = page.locator("#receiver-token").inner_text()
    url = page.locator("#receiver-url").inner_text()
    receiver = Receiver.objects.get(name="Production Alertmanager")
    assert url == f"{live_server.url}/hooks/{receiver.public_id}/"
    assert receiver.token_hash == secrets.token_hash(token)
    expect(page.locator("pre")).to_contain_text(f"credentials: {token}")

    page.get_by_role("link", name="map alert labels").click()
    page.get_by_label("Alert labels").fill("service=internet-1g")
    page.get_by_label("Contract service").select_option(str(cs.pk))
    page.get_by_label("Uptime objective key").fill("success")
    page.get_by_role("button", name="Save").click()
    # Beside the field: a ratio objective cannot count incidents.
    key_field = page.locator("#field-key")
    expect(key_field.locator(".errorlist")).to_contain_text("is a ratio objective")
    page.get_by_label("Alert labels").fill('service=internet-1g, customer="globex')
    page.get_by_label("Uptime objective key").fill("availability")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#field-labels .errorlist")).to_contain_text('write name="value"')
    page.get_by_label("Alert labels").fill('service="internet-1g", customer="globex"')
    page.get_by_role("button", name="Save").click()

    receivers = page.locator("table.receivers")
    expect(receivers).to_contain_text('{customer="globex", service="internet-1g"} → availability')
    expect(page.locator("body")).not_to_contain_text(token)

    # Alertmanager posts over real HTTP: a firing alert, the same again, an alert that maps
    # nowhere, a wrong token; then the resolution.
    stray = alert(fingerprint="ffff000011112222", customer="initech")
    assert deliver(live_server, receiver, token, payload(alert(), stray)).status_code == 200
    assert deliver(live_server, receiver, token, payload(alert())).status_code == 200
    wrong = deliver(live_server, receiver, "not-the-token", payload(alert(fingerprint="0b")))
    assert wrong.status_code == 401
    assert Incident.objects.count() == 1
    resolved = alert("resolved", ends="2026-11-10T11:45:00Z")
    assert deliver(live_server, receiver, token, payload(resolved)).status_code == 200
    incident = Incident.objects.get()
    assert incident.ended_at == NOW - timedelta(minutes=15)

    page.reload()
    events = page.locator("table.events tbody tr")
    expect(events).to_have_count(3)  # the 401 stored nothing
    expect(events.nth(2)).to_contain_text("Partly recorded")
    expect(events.nth(2)).to_contain_text("no mapping matches these labels")
    expect(events.nth(2)).to_contain_text('customer="initech"')
    expect(events.nth(0)).to_contain_text("closed: incident #")

    # A new token: shown once, the old one refused from then on.
    page.get_by_role("button", name="Rotate token of Production Alertmanager").click()
    expect(
        page.get_by_role("heading", name="New token for Production Alertmanager")
    ).to_be_visible()
    new_token = page.locator("#receiver-token").inner_text()
    assert new_token != token
    assert deliver(live_server, receiver, token, payload(alert())).status_code == 401
    assert deliver(live_server, receiver, new_token, payload(alert())).status_code == 200
    screenshot(page, "integrations-receiver-token")


def test_a_prometheus_pull_set_up_on_an_objective_shows_how_it_fares(
    live_server, page, login, personas, cs, fake
):
    login("provider-editor")
    page.goto(BASE)
    page.get_by_role("link", name="New Prometheus source").click()
    page.get_by_label("Name", exact=True).fill("Lab Prometheus")
    page.get_by_label("Base URL").fill(fake.url)
    page.get_by_label("Authentication").select_option("bearer")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#field-auth .errorlist")).to_contain_text("needs a secret")
    page.get_by_label("Token or password").fill("lab-token-never-shown")
    page.get_by_role("button", name="Save").click()
    sources = page.locator("table.sources")
    expect(sources).to_contain_text("secret stored encrypted")
    expect(page.locator("body")).not_to_contain_text("lab-token-never-shown")
    sources.get_by_role("link", name="Edit Lab Prometheus").click()
    expect(page.get_by_label("Token or password")).to_have_value("")
    assert "lab-token-never-shown" not in page.content()

    # From the objective on the contract page.
    page.goto(f"/contracts/{personas.contract.pk}/")
    page.get_by_role("link", name=re.compile(r"Pull from Prometheus into success")).click()
    expect(page.get_by_label("Objective key")).to_have_value("success")
    page.get_by_label("PromQL query").fill("probe_success")
    page.get_by_label("First evaluation time (UTC)").fill("2026-11-10T11:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Prometheus pull of success saved")
    pull = PrometheusPull.objects.get()

    # Two of the hour's points are NaN and +Inf: refused one by one, counted and shown.
    bad = {NOW.timestamp() - 600: "NaN", NOW.timestamp() - 300: "+Inf"}
    fake.value = lambda t: bad.get(t, "1")
    services.pull(pull_id=pull.pk, now=timezone.now())
    assert fake.requests[0]["authorization"] == "Bearer lab-token-never-shown"
    recorded = Measurement.objects.filter(contract_service=cs, key="success").count()
    assert recorded == 58
    page.goto(f"/contracts/{personas.contract.pk}/")
    feed = page.locator(".objective-feed")
    expect(feed).to_contain_text("Pulled from Prometheus (Lab Prometheus)")
    expect(feed).to_contain_text("2 of 60")
    expect(feed).to_contain_text(re.compile(r"Last error\s*none"))

    # Prometheus fails: the objective shows the error and when it is tried again.
    fake.mode = "500"
    later = timezone.now() + timedelta(minutes=5)
    services.pull(pull_id=pull.pk, now=later)
    pull.refresh_from_db()
    assert pull.failures == 1 and pull.next_attempt_at > later
    page.reload()
    expect(feed).to_contain_text("500")
    expect(feed).to_contain_text("Next retry")
    expect(feed).to_contain_text("1 failure in a row")
    assert Measurement.objects.filter(contract_service=cs, key="success").count() == recorded
    screenshot(page, "integrations-objective-feed")

    # The retry after the outage stores each point once.
    fake.mode = "ok"
    services.pull(pull_id=pull.pk, now=pull.next_attempt_at)
    times = list(
        Measurement.objects.filter(contract_service=cs, key="success").values_list(
            "observed_at", flat=True
        )
    )
    assert len(times) == len(set(times))
    assert len(times) > recorded
    # Only the finite points were stored: the NaN and +Inf were refused, not stored.
    assert not Measurement.objects.filter(ok=False).exists()


def test_a_ticket_receiver_shows_its_errors_beside_the_field(
    live_server, page, login, personas, cs
):
    login("provider-admin")
    page.goto(BASE)
    page.get_by_role("link", name="New ticket receiver").click()
    page.get_by_label("Name", exact=True).fill("Jira SM")
    page.get_by_label("What the ticket system sends").select_option("jira")
    mapping = page.get_by_label("Projects or groups → contract services")
    mapping.fill("SUP = UMB-1 / anything")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#field-contract_services .errorlist")).to_contain_text(
        "none of this provider's contract services"
    )
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    assert not Receiver.objects.exists()
    mapping.fill(f"SUP = ACME-1 / {cs.service.code}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Receiver Jira SM created")).to_be_visible()
    receiver = Receiver.objects.get()
    assert receiver.ticket_settings == {"contract_services": {"SUP": cs.pk}}
    assert receiver.acting_user == personas.provider_admin


OPENSLO_UNSUPPORTED = """apiVersion: openslo/v1
kind: SLO
metadata:
  name: rolling
spec:
  service: {service}
  indicator:
    spec:
      ratioMetric: {{counter: true}}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
"""


def test_openslo_export_downloads_and_the_import_previews_then_imports(
    live_server, page, login, personas, cs
):
    ServiceLevelFactory(
        provider=personas.provider,
        contract=personas.contract,
        level="contract_service",
        service=cs.service,
        key="checkout-speed",
        name="Checkout speed",
        indicator="threshold",
        target=Decimal("95"),
        threshold=Decimal("0.5"),
        threshold_comparator=ServiceLevel.Comparator.LTE,
    )
    login("provider-editor")
    page.goto(BASE)
    with page.expect_download() as download_info:
        page.locator("#openslo ~ p").get_by_role("link", name="ACME-1").click()
    download = download_info.value
    assert download.suggested_filename == "ACME-1-openslo.yaml"
    exported = Path(download.path()).read_text(encoding="utf-8")
    assert "kind: SLO" in exported
    assert "checkout-speed" in exported

    # Imported again into the same contract: the preview says what would change.
    page.get_by_role("link", name="Import OpenSLO").click()
    page.locator("#id_contract").select_option(str(personas.contract.pk))
    page.get_by_label("OpenSLO YAML").fill(OPENSLO_UNSUPPORTED.format(service=cs.service.code))
    page.get_by_role("button", name="Preview").click()
    errors = page.get_by_role("alert")
    expect(errors).to_contain_text("cannot be mapped")
    expect(errors).to_contain_text("$[0] (SLO rolling).spec.timeWindow[0].isRolling")
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)

    before = ServiceLevel.objects.count()
    page.get_by_label("OpenSLO YAML").fill(exported.replace("checkout-speed", "checkout-fast"))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("table.openslo-preview")
    expect(preview).to_contain_text("checkout-fast")
    assert ServiceLevel.objects.count() == before
    page.get_by_role("button", name=re.compile("^Import")).click()
    expect(page.locator(".messages")).to_contain_text("Imported")
    assert ServiceLevel.objects.filter(key="checkout-fast").exists()


def test_a_viewer_reads_the_integrations_but_cannot_set_them_up(
    live_server, page, login, personas, cs, alert_receiver
):
    login("provider-viewer")
    page.goto(BASE)
    expect(page.get_by_role("heading", name="Integrations of Acme Networks")).to_be_visible()
    expect(page.locator("table.receivers")).to_contain_text("Alertmanager")
    for name in ("New Alertmanager receiver", "New Prometheus source", "Import OpenSLO"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Rotate token"))).to_have_count(0)
    answer = page.goto(f"{BASE}receivers/{alert_receiver.pk}/edit/")
    assert answer.status == 403
    page.goto(f"/contracts/{personas.contract.pk}/")
    expect(page.get_by_role("link", name=re.compile("Pull from Prometheus"))).to_have_count(0)


def test_an_outsider_finds_no_integrations(live_server, page, login, personas, alert_receiver):
    login("other-provider")
    for url in (BASE, f"{BASE}receivers/{alert_receiver.pk}/edit/", f"{BASE}sources/new/"):
        assert page.goto(url).status == 404
