"""Deliveries sent in batches, against a real SMTP server and a real HTTP receiver on
loopback: a batch's e-mails share one SMTP connection and a webhook's requests one kept-alive
connection, and a failing address or receiver still never holds back another (it costs that
delivery one attempt, retried alone with backoff, or fails for good on its last)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import Membership
from credits import notify
from credits.models import Delivery
from credits.notify import delivery as notify_delivery
from credits.notify.batch import claim_batch
from credits.notify.publish import enqueue_pending
from tests.credits.test_notify import (
    eager_tasks,  # noqa: F401 - fixture
    make_statement,
    private_targets,  # noqa: F401 - fixture
    set_webhook,
)
from tests.factories import MembershipFactory, UserFactory
from tests.scale_notify.sinks import CountingSmtpSink, SmtpSink, WebhookSink

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["aiosmtpd", "pipelining"])
def smtp(request, settings):
    """Django's SMTP backend, pointed at a real SMTP server on 127.0.0.1: aiosmtpd, whose
    commands go one by one, and the counting server that offers PIPELINING, as relays do
    (credits.notify.batch._SmtpPipeline)."""
    sink = SmtpSink() if request.param == "aiosmtpd" else CountingSmtpSink(keep=True)
    with sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield sink


def announce(personas: Any, *, members: int = 6, revision: int = 1) -> list[Delivery]:
    """Issue a statement to Globex (with ``members`` more members) and return its e-mail
    deliveries, in the order a batch sends them (by address)."""
    for n in range(members):
        MembershipFactory(
            user=UserFactory(username=f"globex-{n}"),
            organization=personas.customer,
            role=Membership.Role.VIEWER,
        )
    statement = make_statement(personas.contract, revision=revision)
    notify.statement_issued(statement_id=statement.pk)
    return list(Delivery.objects.filter(channel="email").order_by("recipient", "pk"))


def ids(deliveries: list[Delivery]) -> list[int]:
    return [delivery.pk for delivery in deliveries]


def statuses() -> dict[str, str]:
    return dict(Delivery.objects.values_list("recipient", "status"))


def test_a_batch_of_emails_goes_over_one_smtp_connection(personas, smtp):
    deliveries = announce(personas)
    assert len(deliveries) == 10

    result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 10, "refused": 0, "failed": 0, "retry": 0}
    assert smtp.connections == 1
    assert sorted(message["to"][0] for message in smtp.messages) == sorted(
        delivery.recipient for delivery in deliveries
    )
    # One message per address, each naming only its own recipient and the event.
    for message in smtp.messages:
        content = message["content"].decode()
        assert f"To: {message['to'][0]}" in content
        assert f"X-SLA-Event-Id: {deliveries[0].event_id}" in content
    assert set(statuses().values()) == {"sent"}
    assert Delivery.objects.filter(attempts=1, sent_at__isnull=False).count() == 10


def test_a_refused_address_is_retried_alone_and_the_others_are_delivered(
    personas, smtp, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    deliveries = announce(personas)
    bad = deliveries[1]
    smtp.refuse.add(bad.recipient)

    with django_capture_on_commit_callbacks() as retries:
        result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 9, "refused": 0, "failed": 0, "retry": 1}
    assert smtp.connections == 1
    assert len(smtp.messages) == 9
    assert bad.recipient not in {message["to"][0] for message in smtp.messages}
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert "SMTPRecipientsRefused" in bad.last_error
    assert timedelta(seconds=24) <= bad.next_attempt_at - NOW <= timedelta(seconds=36)
    assert {status for recipient, status in statuses().items() if recipient != bad.recipient} == {
        "sent"
    }
    # Exactly one retry is scheduled: the refused delivery's, on its own.
    assert len(retries) == 1

    smtp.refuse.clear()
    time_machine.move_to(bad.next_attempt_at, tick=False)
    assert notify.send_delivery(delivery_id=bad.pk) == "sent"
    assert len(smtp.messages) == 10


def test_a_dropped_connection_costs_only_its_message_and_the_batch_goes_on(personas, smtp):
    deliveries = announce(personas)
    dropped = deliveries[2]
    smtp.drop.add(dropped.recipient)

    result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 9, "refused": 0, "failed": 0, "retry": 1}
    # The server closed the first connection at the third message; a second one took the rest.
    assert smtp.connections == 2
    assert len(smtp.messages) == 9
    dropped.refresh_from_db()
    assert (dropped.status, dropped.attempts) == ("pending", 1)


def test_an_address_refused_on_its_last_attempt_fails_for_good_alone(personas, smtp, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    deliveries = announce(personas)
    bad = deliveries[0]
    Delivery.objects.filter(pk=bad.pk).update(attempts=1)
    smtp.refuse.add(bad.recipient)

    result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 9, "refused": 0, "failed": 1, "retry": 0}
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("failed", 2)
    assert "550" in bad.last_error


def test_no_smtp_server_leaves_every_email_pending_for_its_retry(personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    with SmtpSink() as gone:
        settings.EMAIL_PORT = gone.port
    # The server is gone: nothing listens on its port any more.
    deliveries = announce(personas, members=1)

    result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 0, "refused": 0, "failed": 0, "retry": 5}
    assert set(statuses().values()) == {"pending"}
    assert Delivery.objects.filter(attempts=1).exclude(last_error="").count() == 5


def test_a_batch_sent_twice_sends_each_message_once_and_skips_claimed_rows(personas, smtp):
    deliveries = announce(personas)
    # Another worker holds the first one (a single delivery's claim).
    assert notify.claim(delivery_id=deliveries[0].pk) is not None

    first = notify.send_batch(delivery_ids=ids(deliveries))
    again = notify.send_batch(delivery_ids=ids(deliveries))

    assert first["sent"] == 9
    assert again == {"sent": 0, "refused": 0, "failed": 0, "retry": 0}
    assert len(smtp.messages) == 9
    assert Delivery.objects.get(pk=deliveries[0].pk).status == "pending"


def test_a_claim_takes_only_pending_due_rows_with_attempts_left_locked_by_key_alone(personas):
    deliveries = announce(personas, members=2)
    assert len(deliveries) >= 5
    due, later, spent, sent, claimed = deliveries[:5]
    # Published at the real clock's time: every row made due at NOW, then set apart.
    Delivery.objects.filter(pk__in=ids(deliveries)).update(next_attempt_at=NOW - timedelta(1))
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=NOW + timedelta(seconds=1))
    Delivery.objects.filter(pk=spent.pk).update(attempts=notify_delivery.max_attempts())
    Delivery.objects.filter(pk=sent.pk).update(status=Delivery.Status.SENT)
    assert notify.claim(delivery_id=claimed.pk, now=NOW) is not None

    with CaptureQueriesContext(connection) as queries:
        token, rows = claim_batch(ids(deliveries[:5]), now=NOW)

    assert [row.pk for row in rows] == [due.pk]
    assert (rows[0].attempts, rows[0].next_attempt_at) == (1, token)
    assert Delivery.objects.get(pk=due.pk).next_attempt_at == token
    assert Delivery.objects.get(pk=later.pk).attempts == 0
    # The rows are locked by primary key alone: a condition on the status could lead
    # PostgreSQL through the status index, which keeps every version of every row until
    # vacuum (a burst of deliveries makes it long).
    locking = next(query["sql"] for query in queries if "FOR UPDATE" in query["sql"])
    where = locking.split(" WHERE ", 1)[1]
    assert '"status"' not in where and '"next_attempt_at"' not in where


def test_an_events_pending_deliveries_are_handed_over_and_no_other(personas, monkeypatch):
    deliveries = announce(personas, members=2)
    sent, refused = deliveries[:2]
    Delivery.objects.filter(pk=sent.pk).update(status=Delivery.Status.SENT)
    Delivery.objects.filter(pk=refused.pk).update(status=Delivery.Status.REFUSED)
    announce(personas, members=0, revision=2)  # another event's, not handed over
    handed: list[list[int]] = []
    monkeypatch.setattr(notify_delivery, "enqueue_batch", handed.append)

    assert enqueue_pending(event_ids=[deliveries[0].event_id]) == len(deliveries) - 2
    assert handed == [sorted(ids(deliveries[2:]))]


def test_a_webhook_to_a_private_address_is_refused_for_each_delivery_and_never_posted(personas):
    with WebhookSink([200]) as receiver:
        set_webhook(personas.customer, receiver.url + "hooks/sla", "whsec")
        for revision in (1, 2):
            notify.statement_issued(
                statement_id=make_statement(personas.contract, revision=revision).pk
            )
        hooks = list(Delivery.objects.filter(channel="webhook"))

        result = notify.send_batch(delivery_ids=ids(hooks))

    assert len(hooks) == 2
    assert result == {"sent": 0, "refused": 2, "failed": 0, "retry": 0}
    assert receiver.count == 0
    assert set(Delivery.objects.filter(channel="webhook").values_list("status", flat=True)) == {
        "refused"
    }
    assert "127.0.0.1" in Delivery.objects.filter(channel="webhook").first().last_error


@pytest.mark.usefixtures("private_targets")
def test_a_webhooks_requests_share_one_connection_and_a_failing_one_holds_back_none(personas, smtp):
    with WebhookSink([200, 500, 200]) as receiver:
        set_webhook(personas.customer, receiver.url + "hooks/sla", "whsec")
        for revision in (1, 2, 3):
            notify.statement_issued(
                statement_id=make_statement(personas.contract, revision=revision).pk
            )
        hooks = list(Delivery.objects.filter(channel="webhook").order_by("pk"))
        emails = list(Delivery.objects.filter(channel="email"))
        assert len(hooks) == 3

        result = notify.send_batch(delivery_ids=ids(hooks) + ids(emails))

    assert result == {"sent": 2 + len(emails), "refused": 0, "failed": 0, "retry": 1}
    assert receiver.count == 3
    assert receiver.connections == 1
    assert smtp.connections == 1
    assert len(smtp.messages) == len(emails)
    failed = [hook for hook in hooks if hook.event_id.hex in _failed_event_ids(receiver)]
    assert len(failed) == 1
    failed[0].refresh_from_db()
    assert (failed[0].status, failed[0].last_error) == ("pending", "RuntimeError: HTTP 500")
    assert Delivery.objects.filter(channel="webhook", status="sent").count() == 2


def _failed_event_ids(receiver: WebhookSink) -> set[str]:
    # The receiver answered 500 to its second request.
    return {receiver.requests[1]["headers"]["X-SLA-Event-Id"].replace("-", "")}


@pytest.mark.usefixtures("eager_tasks")
def test_publishing_hands_the_deliveries_over_in_batches_each_on_one_connection(
    personas, smtp, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notify_delivery, "BATCH_SIZE", 4)
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = announce(personas)

    # Ten e-mails in batches of 4, 4 and 2: three tasks, one connection each.
    assert len(deliveries) == 10
    assert smtp.connections == 3
    assert len(smtp.messages) == 10
    assert set(statuses().values()) == {"sent"}


def test_an_event_rendered_once_tells_each_organisation_its_own_name_escaped(personas):
    personas.customer.name = "Globex & <Sons>"
    personas.customer.save()
    announce(personas, members=0)
    payloads = {
        delivery.organization_id: delivery.email
        for delivery in Delivery.objects.filter(channel="email")
    }

    provider, customer = payloads[personas.provider.pk], payloads[personas.customer.pk]
    assert "a member of Acme Networks in the SLA Portal" in provider["text"]
    assert "a member of Globex & <Sons> in the SLA Portal" in customer["text"]
    assert "a member of Globex &amp; &lt;Sons&gt; in the" in customer["html"]
    assert "Globex & <Sons>" not in customer["html"]
    # Nothing else differs, and no stand-in is left anywhere.
    assert provider["subject"] == customer["subject"]
    assert (
        provider["text"].replace("member of Acme Networks", "member of Globex & <Sons>")
        == customer["text"]
    )
    assert not any("\ue000" in part for payload in payloads.values() for part in payload.values())


def test_a_batch_out_of_time_hands_the_rest_back_untouched_to_a_new_batch(
    personas, smtp, settings, monkeypatch, django_capture_on_commit_callbacks
):
    deliveries = announce(personas)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0  # no time at all: nothing may be attempted
    handed: list[list[int]] = []
    monkeypatch.setattr(notify_delivery, "enqueue_batch", handed.append)

    with django_capture_on_commit_callbacks(execute=True):
        result = notify.send_batch(delivery_ids=ids(deliveries))

    assert result == {"sent": 0, "refused": 0, "failed": 0, "retry": 0, "released": 10}
    assert smtp.count == 0
    assert handed == [ids(deliveries)]
    assert set(statuses().values()) == {"pending"}
    # The attempt was not counted, and the rows are due at once for the new batch.
    assert not Delivery.objects.exclude(attempts=0).exists()
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 540
    assert notify.send_batch(delivery_ids=handed[0])["sent"] == 10


def test_a_batch_takes_the_same_queries_for_few_or_many_emails_and_shares_their_body(
    personas, smtp
):
    deliveries = announce(personas, members=12)
    few, many = deliveries[:4], deliveries[4:]
    assert len(many) >= 3 * len(few)

    with CaptureQueriesContext(connection) as first:
        assert notify.send_batch(delivery_ids=ids(few))["sent"] == len(few)
    with CaptureQueriesContext(connection) as second:
        assert notify.send_batch(delivery_ids=ids(many))["sent"] == len(many)

    # Claim (savepoint, lock and load the rows, load their contents, update, release),
    # record the sent: per batch, not per message.
    assert len(first) == len(second) == 6
    # The customer's e-mails, one payload: the same body in both batches (written from the
    # worker's skeleton of such messages, with its boundary), each message with its own
    # headers.
    customer = [
        message["content"]
        for message in smtp.messages
        if message["to"][0]
        in Delivery.objects.filter(organization=personas.customer).values_list(
            "recipient", flat=True
        )
    ]
    assert len(customer) >= 10
    assert len({content.split(b"\r\n\r\n", 1)[1] for content in customer}) == 1
    assert len({content.split(b"\r\n\r\n", 1)[0] for content in customer}) == len(customer)
