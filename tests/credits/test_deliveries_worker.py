"""End to end with a real Celery worker on the real Redis: a statement is issued, the
worker posts the signed webhook to a local receiver and sends the e-mails; a delivery
whose message was lost is sent anyway, found by the periodic task from the database."""

from __future__ import annotations

import pytest

from credits import notify, tasks
from credits.models import Delivery
from credits.notify import delivery as notify_delivery
from tests.credits.test_notify import (
    Receiver,
    make_statement,
    set_webhook,
)
from tests.processes import CeleryWorker, wait_for

SECRET = "whsec-worker"


@pytest.fixture
def notify_worker(worker_env, transactional_db):
    """The shared worker fixture, but allowed to post to the receiver on 127.0.0.1."""
    worker = CeleryWorker(
        {
            **worker_env,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        },
        name="notify",
    )
    worker.start()
    yield worker
    worker.stop()


def all_sent(event_id: object) -> bool:
    statuses = set(Delivery.objects.filter(event_id=event_id).values_list("status", flat=True))
    return statuses == {"sent"}


@pytest.mark.worker
def test_a_real_worker_delivers_the_signed_webhook_and_the_emails(
    personas, notify_worker, monkeypatch
):
    with Receiver([200]) as receiver:
        set_webhook(personas.customer, receiver.url + "sla", SECRET)
        statement = make_statement(personas.contract)

        # Not in a transaction here: the deliveries are enqueued as soon as they commit.
        notify.statement_issued(statement_id=statement.pk)
        first = notify.event_id_for("statement_issued", statement.pk)
        assert wait_for(lambda: all_sent(first), timeout=60), notify_worker.log()
        assert Delivery.objects.filter(event_id=first).count() == 5

        # A statement whose messages never reached the broker: the rows are the truth.
        monkeypatch.setattr(notify_delivery, "enqueue_batch", lambda delivery_ids: None)
        revision_2 = make_statement(personas.contract, revision=2, credit="100.00")
        notify.statement_issued(statement_id=revision_2.pk)
        second = notify.event_id_for("statement_issued", revision_2.pk)
        assert set(Delivery.objects.filter(event_id=second).values_list("status", flat=True)) == {
            "pending"
        }
        monkeypatch.undo()
        tasks.retry_due_deliveries.delay()
        assert wait_for(lambda: all_sent(second), timeout=60), notify_worker.log()

    assert len(receiver.requests) == 2
    for request in receiver.requests:
        assert request["path"] == "/sla"
        assert notify.verify_signature(
            request["body"], SECRET, request["headers"]["X-SLA-Signature"]
        )
    assert [r["headers"]["X-SLA-Event-Id"] for r in receiver.requests] == [
        str(first),
        str(second),
    ]
