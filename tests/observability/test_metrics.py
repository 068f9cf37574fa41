"""/metrics: who may read it, and the figures of the book it reports."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import time_machine

from contracts.metrics import SAMPLES_RECORDED
from contracts.services import BatchRejected, record_measurements
from credits.models import Delivery, PendingAnnouncement, Statement
from credits.settlement import settle_periods
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.observability.support import scrape

pytestmark = pytest.mark.django_db

# Monthly, UTC, settled 2 days after a period ends: January is due from 3 February 00:00,
# February from 3 March 00:00.
NOW = at(2026, 3, 10, 12)
JANUARY, FEBRUARY = date(2026, 1, 1), date(2026, 2, 1)
DAY = 86400


@pytest.fixture(autouse=True)
def book_read_at_every_scrape(settings):
    settings.METRICS_BOOK_SECONDS = 0


def metrics(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return scrape(response.content.decode())


def value(page: dict, name: str, **labels: str) -> float:
    return page[name, tuple(sorted(labels.items()))]


class TestAccess:
    def test_loopback_reads_by_default(self, client):
        assert client.get("/metrics").status_code == 200

    def test_another_address_is_refused_without_the_token(self, client, settings):
        settings.METRICS_TOKEN = "s3cret-scrape-token"
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 403
        assert b"METRICS_TOKEN" in response.content
        wrong = client.get(
            "/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer guessed"
        )
        assert wrong.status_code == 403

    def test_the_token_opens_it_from_anywhere(self, client, settings):
        settings.METRICS_TOKEN = "s3cret-scrape-token"
        response = client.get(
            "/metrics",
            REMOTE_ADDR="203.0.113.7",
            HTTP_AUTHORIZATION="Bearer s3cret-scrape-token",
        )
        assert response.status_code == 200
        assert b"slaportal_outbox_size" in response.content

    def test_no_token_configured_means_no_token_accepted(self, client, settings):
        settings.METRICS_TOKEN = ""
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer ")
        assert response.status_code == 403

    def test_an_allowed_network(self, client, settings):
        import ipaddress

        settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]
        assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 403
        # Loopback is no longer in the list either.
        assert client.get("/metrics").status_code == 403

    def test_only_get(self, client):
        assert client.post("/metrics").status_code == 405


def test_an_empty_book(client):
    page = metrics(client)
    assert value(page, "slaportal_statements_issued_total") == 0
    assert value(page, "slaportal_settlement_due_periods") == 0
    assert value(page, "slaportal_sweep_lag_seconds") == 0
    assert value(page, "slaportal_outbox_size") == 0
    for channel in ("email", "webhook"):
        for status in ("pending", "failed"):
            assert value(page, "slaportal_deliveries", channel=channel, status=status) == 0


@time_machine.travel(NOW, tick=False)
def test_sweep_lag_statements_and_outbox_follow_settlement(client):
    c = contract(start=JANUARY, delay=2)
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    ratio(cs, "on-time", at(2026, 1, 5), ok=99, total=100)

    page = metrics(client)
    assert value(page, "slaportal_settlement_due_periods") == 2
    # January has waited since 3 February 00:00: 35 days and 12 hours.
    assert value(page, "slaportal_sweep_lag_seconds") == 35.5 * DAY
    assert value(page, "slaportal_statements_issued_total") == 0

    (january,) = settle_periods([(c.pk, JANUARY)], now=NOW, announce="queued")
    assert january.created

    page = metrics(client)
    assert value(page, "slaportal_statements_issued_total") == 1
    assert value(page, "slaportal_settlement_due_periods") == 1
    # Now February is the oldest: due since 3 March 00:00.
    assert value(page, "slaportal_sweep_lag_seconds") == 7.5 * DAY
    # Issued by the sweep's path: its parties are still to be told.
    assert value(page, "slaportal_outbox_size") == 1

    settle_periods([(c.pk, FEBRUARY)], now=NOW, announce="queued")
    page = metrics(client)
    assert value(page, "slaportal_statements_issued_total") == Statement.objects.count() == 2
    assert value(page, "slaportal_settlement_due_periods") == 0
    assert value(page, "slaportal_sweep_lag_seconds") == 0
    assert value(page, "slaportal_outbox_size") == PendingAnnouncement.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_the_longest_wait_wins_across_zones_and_delays(client):
    # A weekly contract's oldest period starts later than the monthly one's but has waited
    # longer: its delay is 0 and the monthly one's 30 days.
    monthly = contract(start=JANUARY, delay=30)
    weekly = contract(start=date(2026, 1, 5), period="week", delay=0)
    for c in (monthly, weekly):
        service(c)
    page = metrics(client)
    # Week of 5 January due from 12 January 00:00 (57.5 days); January from 3 March.
    assert value(page, "slaportal_sweep_lag_seconds") == 57.5 * DAY


def test_deliveries_pending_and_failed_by_channel(client, personas):
    def delivery(channel: str, status: str) -> None:
        Delivery.objects.create(
            event_id=uuid.uuid4(),
            event="statement_issued",
            channel=channel,
            organization=personas.customer,
            recipient=f"{uuid.uuid4().hex}@example.com",
            payload={},
            status=status,
        )

    for _ in range(3):
        delivery("email", "pending")
    delivery("email", "failed")
    delivery("email", "sent")
    for _ in range(2):
        delivery("webhook", "failed")
    delivery("webhook", "refused")

    page = metrics(client)
    assert value(page, "slaportal_deliveries", channel="email", status="pending") == 3
    assert value(page, "slaportal_deliveries", channel="email", status="failed") == 1
    assert value(page, "slaportal_deliveries", channel="webhook", status="pending") == 0
    assert value(page, "slaportal_deliveries", channel="webhook", status="failed") == 2


@time_machine.travel(NOW, tick=False)
def test_samples_recorded_count_committed_batches_only(client, django_capture_on_commit_callbacks):
    c = contract(start=JANUARY)
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    before = value(metrics(client), "slaportal_samples_recorded_total")
    items = [
        {
            "contract_service": cs.pk,
            "key": "on-time",
            "observed_at": f"2026-03-0{d}T10:00:00Z",
            "ok": True,
        }
        for d in range(1, 8)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert record_measurements(items=items) == 7
    assert value(metrics(client), "slaportal_samples_recorded_total") == before + 7

    # A rejected batch stores nothing and counts nothing.
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(BatchRejected):
        record_measurements(items=[*items, {**items[0], "key": "nonexistent"}])
    # A batch whose transaction is rolled back is not counted either.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_measurements(items=items)
    # The count is one of the callbacks that wait for that commit, which never comes.
    counts = [cb for cb in callbacks if getattr(cb, "func", None) == SAMPLES_RECORDED.inc]
    assert [count.args for count in counts] == [(7,)]
    assert value(metrics(client), "slaportal_samples_recorded_total") == before + 7


def test_django_prometheus_request_metrics(client):
    client.get("/accounts/login/")
    page = metrics(client)
    assert any(
        name == "django_http_requests_total_by_view_transport_method_total"
        and dict(labels).get("view") == "login"
        for name, labels in page
    )


def test_the_book_is_read_at_most_once_per_period_and_the_lag_still_grows(client, settings):
    settings.METRICS_BOOK_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as clock:
        c = contract(start=JANUARY, delay=2)
        service(c)
        first = metrics(client)
        assert value(first, "slaportal_settlement_due_periods") == 2

        settle_periods([(c.pk, JANUARY)], now=NOW, announce="queued")
        clock.shift(10)
        cached = metrics(client)
        # Read 10 s ago: the same backlog, waiting 10 s longer.
        assert value(cached, "slaportal_settlement_due_periods") == 2
        assert value(cached, "slaportal_statements_issued_total") == 0
        assert value(cached, "slaportal_sweep_lag_seconds") == 35.5 * DAY + 10

        clock.shift(60)
        fresh = metrics(client)
        assert value(fresh, "slaportal_settlement_due_periods") == 1
        assert value(fresh, "slaportal_statements_issued_total") == 1
