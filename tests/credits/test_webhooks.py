"""Signed webhooks: verified by a real local receiver, retried with backoff, never sent
twice, never to a private or metadata address, never blocking the e-mails."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from django.db import connection

from credits import notify, tasks
from credits.models import Delivery
from credits.notify import delivery as notify_delivery
from credits.notify.webhooks import PinnedAdapter
from tests.credits.test_notify import (
    Receiver,
    eager_tasks,  # noqa: F401 - fixture
    make_statement,
    private_targets,  # noqa: F401 - fixture
    set_webhook,
)

SECRET = "whsec-globex"


def webhook_for(personas: Any, url: str) -> Delivery:
    """Issue a statement to Globex, whose webhook is ``url``; return its webhook delivery."""
    set_webhook(personas.customer, url, SECRET)
    statement = make_statement(personas.contract)
    notify.statement_issued(statement_id=statement.pk)
    # The members' e-mails are someone else's test: only the webhook is left to send.
    Delivery.objects.filter(channel="email").update(status="sent")
    return Delivery.objects.get(channel="webhook")


@pytest.fixture
def connections(monkeypatch) -> list[Any]:
    """Records every outgoing TCP connection attempt (and lets it proceed)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def deliver_until_done(delivery: Delivery, time_machine: Any, limit: int = 10) -> Delivery:
    """Attempt the delivery, and each retry as soon as it is due, until it settles."""
    for _ in range(limit):
        tasks.deliver(delivery.pk)
        delivery.refresh_from_db()
        if delivery.status != "pending":
            return delivery
        time_machine.move_to(delivery.next_attempt_at)
    return delivery


@pytest.mark.usefixtures("private_targets")
def test_the_receiver_verifies_the_signature_of_the_exact_body(personas):
    with Receiver([200]) as receiver:
        delivery = webhook_for(personas, receiver.url + "hooks/sla")
        assert notify.send_delivery(delivery_id=delivery.pk) == "sent"

    [request] = receiver.requests
    body, headers = request["body"], request["headers"]
    assert request["path"] == "/hooks/sla"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-SLA-Signature"].startswith("sha256=")
    assert notify.verify_signature(body, SECRET, headers["X-SLA-Signature"])
    assert not notify.verify_signature(body, "another secret", headers["X-SLA-Signature"])
    assert not notify.verify_signature(body + b" ", SECRET, headers["X-SLA-Signature"])
    event = json.loads(body)
    assert set(event) == {"event_id", "event", "occurred_at", "data"}
    assert event["event"] == "statement_issued"
    assert event["event_id"] == headers["X-SLA-Event-Id"] == str(delivery.event_id)
    assert datetime.fromisoformat(event["occurred_at"]).utcoffset() is not None
    assert event["data"]["credit_total"] == "300.00"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "sha256=", "sha1=abc", "sha256=" + "0" * 64, None],
)
def test_a_wrong_or_missing_signature_does_not_verify(header):
    assert not notify.verify_signature(b'{"event":"x"}', SECRET, header)


def test_verify_signature_accepts_what_sign_produces():
    body = b'{"event_id":"1"}'
    assert notify.verify_signature(body, SECRET, notify.sign(body, SECRET))
    assert not notify.verify_signature(body, "", notify.sign(body, ""))


@pytest.mark.usefixtures("private_targets")
def test_a_receiver_failing_three_times_gets_exactly_one_successful_delivery(
    personas, time_machine
):
    time_machine.move_to(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))
    with Receiver([500, 500, 500, 200]) as receiver:
        delivery = webhook_for(personas, receiver.url)
        delivery = deliver_until_done(delivery, time_machine)
        # A late duplicate message for the same delivery.
        assert tasks.deliver(delivery.pk) == "skipped"

    assert (delivery.status, delivery.attempts) == ("sent", 4)
    assert len(receiver.requests) == 4
    # Every attempt carries the same event id and the same signed body, so a receiver
    # that saw an attempt it answered with an error can still deduplicate.
    assert len({r["body"] for r in receiver.requests}) == 1
    assert len({r["headers"]["X-SLA-Signature"] for r in receiver.requests}) == 1


@pytest.mark.usefixtures("private_targets")
def test_retries_back_off_exponentially(personas, time_machine, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    start = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    waits = []
    with Receiver([500]) as receiver:
        delivery = webhook_for(personas, receiver.url)
        for _ in range(3):
            tasks.deliver(delivery.pk)
            delivery.refresh_from_db()
            now = datetime.now(UTC)
            waits.append((delivery.next_attempt_at - now).total_seconds())
            time_machine.move_to(delivery.next_attempt_at, tick=False)

    assert 24 <= waits[0] <= 36
    assert 48 <= waits[1] <= 72
    assert 96 <= waits[2] <= 144
    assert delivery.last_error == "RuntimeError: HTTP 500"


@pytest.mark.usefixtures("private_targets")
def test_a_receiver_that_never_recovers_is_given_up_after_the_limit(
    personas, time_machine, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    time_machine.move_to(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))
    with Receiver([503]) as receiver:
        delivery = webhook_for(personas, receiver.url)
        delivery = deliver_until_done(delivery, time_machine)
        assert notify.retry_due_deliveries() == 0

    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3


@pytest.mark.usefixtures("private_targets")
def test_a_redirect_is_not_followed_and_counts_as_a_failure(personas):
    with Receiver([302, 200]) as receiver:
        delivery = webhook_for(personas, receiver.url + "hook")
        assert notify.send_delivery(delivery_id=delivery.pk) == "pending"

    assert [r["path"] for r in receiver.requests] == ["/hook"]
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("RuntimeError: HTTP 302")
    assert "not followed" in delivery.last_error


@pytest.mark.usefixtures("private_targets")
def test_running_deliver_again_for_a_sent_delivery_sends_nothing(personas, time_machine):
    time_machine.move_to(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))
    with Receiver([200]) as receiver:
        delivery = webhook_for(personas, receiver.url)
        assert tasks.deliver(delivery.pk) == "sent"
        assert tasks.deliver(delivery.pk) == "skipped"
        # Nor a message redelivered much later, nor the periodic task looking for work.
        time_machine.move_to(datetime(2026, 11, 4, 3, 0, tzinfo=UTC))
        assert tasks.deliver(delivery.pk) == "skipped"
        assert notify.retry_due_deliveries() == 0

    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("private_targets")
def test_two_workers_delivering_at_once_send_once(personas, monkeypatch):
    # Committed for real here: keep the enqueue-on-commit away from the shared broker.
    monkeypatch.setattr(notify_delivery, "enqueue_batch", lambda delivery_ids: None)
    with Receiver([200], delay=0.3) as receiver:
        delivery = webhook_for(personas, receiver.url)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def worker() -> None:
            try:
                barrier.wait()
                outcomes.append(tasks.deliver(delivery.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


@pytest.mark.usefixtures("private_targets")
def test_the_metadata_address_is_refused_even_when_private_targets_are_allowed(
    personas, connections
):
    delivery = webhook_for(personas, "http://169.254.169.254/latest/meta-data/")

    assert notify.send_delivery(delivery_id=delivery.pk) == "refused"

    assert connections == []
    delivery.refresh_from_db()
    assert delivery.status == "refused"
    assert "169.254.169.254" in delivery.last_error
    # Refused is final: neither a retry nor the periodic task tries it again.
    assert notify.send_delivery(delivery_id=delivery.pk) == "skipped"
    assert notify.retry_due_deliveries() == 0
    assert connections == []


def test_loopback_is_refused_when_private_targets_are_not_allowed(personas, settings, connections):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with Receiver([200]) as receiver:
        delivery = webhook_for(personas, receiver.url)
        assert notify.send_delivery(delivery_id=delivery.pk) == "refused"

    assert receiver.requests == []
    assert connections == []
    delivery.refresh_from_db()
    assert "loopback" in delivery.last_error


def test_a_host_name_is_refused_when_any_of_its_addresses_is_private(
    personas, settings, monkeypatch, connections
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    answers = [("93.184.215.14", 443), ("10.1.2.3", 443)]

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "hooks.globex.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address) for address in answers]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = webhook_for(personas, "https://hooks.globex.example/sla")

    assert notify.send_delivery(delivery_id=delivery.pk) == "refused"

    assert connections == []
    delivery.refresh_from_db()
    assert "10.1.2.3" in delivery.last_error


@pytest.mark.usefixtures("private_targets")
def test_the_connection_goes_to_the_address_that_was_checked(personas, monkeypatch):
    """A DNS answer that changes after the check (rebinding) cannot redirect the post."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "hooks.globex.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        # First answer: the receiver. Any later answer would point somewhere else.
        address = "127.0.0.1" if len(lookups) == 1 else "192.0.2.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with Receiver([200]) as receiver:
        delivery = webhook_for(personas, f"http://hooks.globex.example:{receiver.port}/sla")
        assert notify.send_delivery(delivery_id=delivery.pk) == "sent"

    assert lookups == ["hooks.globex.example"]
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.globex.example:{receiver.port}"
    assert notify.verify_signature(request["body"], SECRET, request["headers"]["X-SLA-Signature"])


def test_a_name_that_does_not_resolve_is_retried_later(personas, monkeypatch):
    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = webhook_for(personas, "https://hooks.globex.example/sla")

    assert notify.send_delivery(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert "gaierror" in delivery.last_error


@pytest.mark.usefixtures("private_targets")
def test_an_organisation_that_removed_its_webhook_is_not_posted_to(personas, connections):
    delivery = webhook_for(personas, "https://hooks.globex.example/sla")
    personas.customer.webhooks.all().delete()

    assert notify.send_delivery(delivery_id=delivery.pk) == "refused"
    assert connections == []
    delivery.refresh_from_db()
    assert delivery.last_error == "the webhook was removed"


@pytest.mark.usefixtures("private_targets")
def test_a_webhook_whose_url_changed_is_not_posted_to_the_old_one(personas, connections):
    delivery = webhook_for(personas, "https://hooks.globex.example/sla")
    personas.customer.webhooks.update(url="https://hooks.globex.example/new")

    assert notify.send_delivery(delivery_id=delivery.pk) == "refused"
    assert connections == []


@pytest.mark.parametrize(
    ("address", "allow_private", "refused"),
    [
        ("169.254.169.254", True, True),
        ("169.254.169.254", False, True),
        ("::ffff:169.254.169.254", True, True),
        ("fd00:ec2::254", True, True),
        ("fe80::1", True, True),
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("::1", False, True),
        ("::1", True, False),
        ("::ffff:127.0.0.1", False, True),
        ("10.0.0.1", False, True),
        ("192.168.1.10", False, True),
        ("100.64.0.1", False, True),
        ("0.0.0.0", True, True),
        ("224.0.0.1", True, True),
        ("240.0.0.1", True, True),
        ("64:ff9b::a00:1", False, True),
        ("2002:a00:1::", False, True),
        ("93.184.215.14", False, False),
        ("2606:4700::1111", False, False),
    ],
)
def test_which_addresses_a_webhook_may_reach(address, allow_private, refused):
    reason = notify.address_refusal(ipaddress.ip_address(address), allow_private=allow_private)
    assert (reason is not None) == refused, reason


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example/x", "http://user:pass@hooks.example/x", "http:///nohost"],
)
def test_webhook_urls_other_than_plain_http_are_refused(url, connections):
    with pytest.raises(notify.DeliveryRefused):
        notify.resolve_target(url)
    assert connections == []


@pytest.mark.usefixtures("private_targets", "eager_tasks")
def test_a_failing_webhook_does_not_stop_the_emails(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    statement = make_statement(personas.contract)
    with Receiver([500]) as receiver:
        set_webhook(personas.customer, receiver.url, SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            notify.statement_issued(statement_id=statement.pk)

    assert len(mailoutbox) == 4
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {
        "sent"
    }
    webhook = Delivery.objects.get(channel="webhook")
    assert (webhook.status, webhook.attempts) == ("pending", 1)
    assert webhook.last_error == "RuntimeError: HTTP 500"
    assert len(receiver.requests) == 1


def test_https_webhooks_connect_to_the_checked_address_but_verify_the_host_name():
    """TLS still checks the certificate of the name in the URL (SNI and hostname), while
    the TCP connection goes to the address that passed the check."""
    adapter = PinnedAdapter("hooks.globex.example", "93.184.215.14")
    request = requests.Request("POST", "https://hooks.globex.example/sla").prepare()

    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)

    assert host_params["host"] == "93.184.215.14"
    assert pool_kwargs["server_hostname"] == "hooks.globex.example"
    assert pool_kwargs["assert_hostname"] == "hooks.globex.example"
    assert pool_kwargs.get("cert_reqs", "CERT_REQUIRED") == "CERT_REQUIRED"
