"""Both parties are told: in-app notifications, templated e-mails and webhook deliveries.

Statements are written straight through the ORM here: settlement is tested elsewhere.
The helpers at the top (statements, a local webhook receiver, eager tasks) are shared by
the other notification test modules.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.template import Context, Template
from django.test import RequestFactory

from contracts.models import Membership, ResponsibilityLapse
from contracts.services import record_lapse
from credits import notify
from credits.context_processors import unread_notifications
from credits.models import Delivery, EarlyWarning, Notification, Statement, StatementLine
from credits.notify import delivery as notify_delivery
from credits.services import mark_notifications_read
from people.models import Webhook
from tests.factories import MembershipFactory, ResponsibilityFactory, UserFactory

ISSUED_AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def make_statement(
    contract: Any,
    *,
    revision: int = 1,
    credit: str = "300.00",
    lines: list[dict[str, Any]] | None = None,
) -> Statement:
    """An issued statement of October 2026 with one line per entry of ``lines``."""
    contract_service = contract.services.select_related("service").first()
    statement = Statement.objects.create(
        contract=contract,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        revision=revision,
        currency=contract.currency,
        fees_total=Decimal("3000.00"),
        credit_total=Decimal(credit),
        cap_adjustment=Decimal("0"),
        fingerprint=uuid.uuid4().hex,
        issued_at=ISSUED_AT,
    )
    if lines is None:
        lines = [
            {
                "key": "availability",
                "attainment": Decimal("99.884"),
                "met": False,
                "amount": Decimal(credit),
                "explanation": "99.884 % of scheduled time up against 99.99 %: 10 % credit",
            }
        ]
    for spec in lines:
        StatementLine.objects.create(
            statement=statement,
            contract_service=contract_service,
            key=spec["key"],
            name=spec.get("name", spec["key"].replace("-", " ").capitalize()),
            source_level="corporate",
            indicator="uptime",
            comparator="gte",
            target=Decimal("99.99"),
            measure={},
            attainment=spec.get("attainment"),
            met=spec.get("met"),
            fee=Decimal("3000.00"),
            credit_percent=Decimal("10"),
            amount=spec.get("amount", Decimal("0")),
            explanation=spec.get("explanation", "no data"),
        )
    return statement


def members_of(*organizations: Any) -> set[int]:
    return set(
        Membership.objects.filter(organization__in=organizations).values_list("user_id", flat=True)
    )


class Receiver:
    """A local webhook receiver: answers with ``statuses`` in turn (the last one repeats)."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.statuses = list(statuses or [200])
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status = (
                        receiver.statuses.pop(0)
                        if len(receiver.statuses) > 1
                        else receiver.statuses[0]
                    )
                if receiver.delay:
                    # Not a timed Event.wait: under libfaketime (the shifted run) Python's
                    # timed lock waits (sem_clockwait, which it does not translate) last as
                    # long as the shift unless something wakes them; sleep is translated.
                    time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"{receiver.url}elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def eager_tasks():
    """Tasks run in-process when enqueued (``deliver.delay`` sends at once)."""
    from slaportal.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def private_targets(settings):
    """The local receiver lives on 127.0.0.1, which production refuses."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    return settings


def set_webhook(organization: Any, url: str, secret: str = "s3cret", shape: str = "json") -> Any:
    """Give the organisation one webhook, to ``url``, in ``shape`` (replacing any it had)."""
    Webhook.objects.filter(organization=organization).delete()
    return Webhook.objects.create(organization=organization, url=url, secret=secret, format=shape)


# --------------------------------------------------------------------------- statements


def test_statement_issued_notifies_every_member_of_both_parties_and_no_one_else(personas):
    statement = make_statement(personas.contract)

    notify.statement_issued(statement_id=statement.pk)

    notifications = Notification.objects.filter(event="statement_issued")
    assert {n.user_id for n in notifications} == members_of(personas.provider, personas.customer)
    assert {
        personas.other_customer_member.pk,
        personas.other_provider_member.pk,
        personas.operator.pk,
    }.isdisjoint({n.user_id for n in notifications})
    assert notifications.count() == 4
    customer_note = notifications.get(user=personas.customer_member)
    assert customer_note.organization == personas.customer
    assert customer_note.title == "Statement ACME-1 October 2026 (revision 1): credit 300.00 EUR"
    assert customer_note.link == f"/statements/{statement.pk}/"
    assert customer_note.read_at is None


def test_statement_issued_emails_each_member_a_text_and_an_html_part(
    personas, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    statement = make_statement(personas.contract)

    with django_capture_on_commit_callbacks(execute=True):
        notify.statement_issued(statement_id=statement.pk)

    expected = {
        u.email
        for u in (
            personas.provider_admin,
            personas.provider_editor,
            personas.provider_viewer,
            personas.customer_member,
        )
    }
    assert {m.to[0] for m in mailoutbox} == expected
    assert len(mailoutbox) == 4
    message = next(m for m in mailoutbox if m.to == [personas.customer_member.email])
    assert message.subject == "Statement ACME-1 October 2026 (revision 1): credit 300.00 EUR"
    assert "99.884 % of scheduled time up against 99.99 %" in message.body
    assert f"http://127.0.0.1:8000/statements/{statement.pk}/" in message.body
    assert "member of Globex" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "<table" in html and "300.00 EUR" in html
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_the_email_rounds_attainment_as_the_statement_does(
    personas, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    # A tie at the third decimal: statements round half up (99.885); Python's default
    # formatting of a Decimal would round half to even (99.884).
    statement = make_statement(
        personas.contract,
        lines=[{"key": "availability", "attainment": Decimal("99.8845"), "met": False}],
    )

    with django_capture_on_commit_callbacks(execute=True):
        notify.statement_issued(statement_id=statement.pk)

    message = next(m for m in mailoutbox if m.to == [personas.customer_member.email])
    assert ": 99.885 % against" in message.body
    assert "99.884" not in message.body


def test_statement_issued_twice_creates_and_sends_nothing_new(
    personas, eager_tasks, private_targets, mailoutbox, django_capture_on_commit_callbacks
):
    statement = make_statement(personas.contract)
    with Receiver([200]) as receiver:
        set_webhook(personas.customer, receiver.url)

        with django_capture_on_commit_callbacks(execute=True):
            notify.statement_issued(statement_id=statement.pk)
        counts = (Notification.objects.count(), Delivery.objects.count(), len(mailoutbox))
        with django_capture_on_commit_callbacks(execute=True):
            notify.statement_issued(statement_id=statement.pk)

    assert (Notification.objects.count(), Delivery.objects.count(), len(mailoutbox)) == counts
    assert counts == (4, 5, 4)
    assert len(receiver.requests) == 1
    assert set(Notification.objects.values_list("event_id", flat=True)) == {
        notify.event_id_for("statement_issued", statement.pk)
    }


def test_a_new_revision_is_a_new_event(personas):
    first = make_statement(personas.contract)
    second = make_statement(personas.contract, revision=2, credit="100.00")

    notify.statement_issued(statement_id=first.pk)
    notify.statement_issued(statement_id=second.pk)

    titles = set(
        Notification.objects.filter(user=personas.customer_member).values_list("title", flat=True)
    )
    assert titles == {
        "Statement ACME-1 October 2026 (revision 1): credit 300.00 EUR",
        "Statement ACME-1 October 2026 (revision 2): credit 100.00 EUR",
    }


def test_members_without_an_email_address_are_notified_in_the_app_only(personas):
    personas.customer_member.email = ""
    personas.customer_member.save()
    statement = make_statement(personas.contract)

    notify.statement_issued(statement_id=statement.pk)

    assert Notification.objects.filter(user=personas.customer_member).exists()
    assert not Delivery.objects.filter(channel="email", organization=personas.customer).exists()
    assert Delivery.objects.filter(channel="email", organization=personas.provider).count() == 3


def test_deactivated_users_are_not_notified(personas):
    personas.provider_viewer.is_active = False
    personas.provider_viewer.save()
    statement = make_statement(personas.contract)

    notify.statement_issued(statement_id=statement.pk)

    assert not Notification.objects.filter(user=personas.provider_viewer).exists()
    assert not Delivery.objects.filter(recipient=personas.provider_viewer.email).exists()


def test_a_person_in_both_organisations_is_told_once(personas):
    MembershipFactory(user=personas.provider_editor, organization=personas.customer)
    statement = make_statement(personas.contract)

    notify.statement_issued(statement_id=statement.pk)

    assert Notification.objects.filter(user=personas.provider_editor).count() == 1
    assert Delivery.objects.filter(recipient=personas.provider_editor.email).count() == 1


def test_each_organisation_with_a_webhook_gets_one_webhook_delivery_with_a_signed_payload(
    personas,
):
    set_webhook(personas.customer, "https://hooks.globex.example/sla")
    statement = make_statement(personas.contract, credit="300.00")

    notify.statement_issued(statement_id=statement.pk)

    [webhook] = Delivery.objects.filter(channel="webhook")
    assert webhook.organization == personas.customer
    assert webhook.recipient == "https://hooks.globex.example/sla"
    payload = webhook.payload
    assert payload["event_id"] == str(notify.event_id_for("statement_issued", statement.pk))
    assert payload["event"] == "statement_issued"
    assert datetime.fromisoformat(payload["occurred_at"]) == ISSUED_AT
    data = payload["data"]
    assert data["statement"] == statement.pk
    assert data["credit_total"] == "300.00"
    assert data["fees_total"] == "3000.00"
    assert data["lines"][0]["amount"] == "300.00"
    assert data["lines"][0]["attainment"] == "99.884"


def test_sending_happens_only_after_the_transaction_commits(
    personas, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    statement = make_statement(personas.contract)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify.statement_issued(statement_id=statement.pk)

    assert mailoutbox == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 4


def test_a_broker_outage_leaves_deliveries_pending_and_the_caller_unharmed(
    personas, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(notify_delivery, "enqueue_batch", broker_down)
    statement = make_statement(personas.contract)

    with django_capture_on_commit_callbacks(execute=True):
        notify.statement_issued(statement_id=statement.pk)

    assert Delivery.objects.filter(status="pending").count() == 4
    assert Notification.objects.count() == 4


def test_no_data_warns_only_the_providers_members(personas):
    statement = make_statement(
        personas.contract,
        credit="0",
        lines=[
            {"key": "availability", "attainment": Decimal("100"), "met": True},
            {"key": "support-response", "name": "Support response", "attainment": None},
        ],
    )

    notify.no_data(statement_id=statement.pk)

    notifications = Notification.objects.filter(event="no_data")
    assert {n.user_id for n in notifications} == members_of(personas.provider)
    assert notifications[0].title == "No data for 1 objective of ACME-1 October 2026"
    assert "Support response" in notifications[0].body


def test_no_data_says_nothing_when_every_objective_had_data(personas):
    statement = make_statement(personas.contract)

    notify.no_data(statement_id=statement.pk)

    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_early_warning_reaches_the_provider_only_with_the_projected_credit(personas):
    contract_service = personas.contract.services.get()
    warning = EarlyWarning.objects.create(
        contract_service=contract_service,
        key="availability",
        period_start=date(2026, 11, 1),
        state=EarlyWarning.State.AT_RISK,
        attainment=Decimal("99.95"),
        projected_credit_percent=Decimal("10"),
        projected_amount=Decimal("100.00"),
        message="Availability is burning its error budget fast enough to miss 99.99 %.",
    )

    notify.early_warning(warning_id=warning.pk)
    notify.early_warning(warning_id=warning.pk)

    notifications = Notification.objects.filter(event="early_warning")
    assert {n.user_id for n in notifications} == members_of(personas.provider)
    assert notifications.count() == 3
    assert "projected credit 100.00 EUR" in notifications[0].title


def test_many_early_warnings_are_published_together_each_told_as_it_would_be_alone(
    personas, monkeypatch, django_assert_num_queries, django_capture_on_commit_callbacks
):
    handed: list[list[int]] = []
    monkeypatch.setattr(notify_delivery, "enqueue_batch", handed.append)
    contract_service = personas.contract.services.get()
    warnings = [
        EarlyWarning.objects.create(
            contract_service=contract_service,
            key=key,
            period_start=date(2026, 11, 1),
            state=state,
            attainment=Decimal("99.95"),
            projected_credit_percent=Decimal("10"),
            projected_amount=Decimal(amount),
            message=f"{key} is burning its error budget.",
        )
        for key, state, amount in (
            ("availability", EarlyWarning.State.AT_RISK, "100.00"),
            ("latency", EarlyWarning.State.BREACHED, "250.00"),
            ("on-time", EarlyWarning.State.AT_RISK, "50.00"),
        )
    ]

    def told() -> set[tuple]:
        notices = Notification.objects.values_list(
            "event_id", "user_id", "organization_id", "title", "body", "link"
        )
        deliveries = Delivery.objects.values_list(
            "event_id",
            "channel",
            "recipient",
            "organization_id",
            "payload",
            "content__subject",
            "content__text",
            "content__html",
        )
        return {("notification", *row) for row in notices} | {
            ("delivery", *row[:4], str(row[4]), *row[5:]) for row in deliveries
        }

    for warning in warnings:
        with django_capture_on_commit_callbacks(execute=True):
            notify.early_warning(warning_id=warning.pk)
    assert len(handed) == len(warnings)
    alone = told()
    Notification.objects.all().delete()
    Delivery.objects.all().delete()
    handed.clear()

    # The warnings, members, their choices, webhooks, savepoint, notifications, e-mail
    # contents, deliveries, release; then the pending deliveries to hand over.
    with django_assert_num_queries(10), django_capture_on_commit_callbacks(execute=True):
        notify.early_warnings(warning_ids=[warning.pk for warning in warnings])

    assert told() == alone
    events = Notification.objects.values("event_id").distinct().count()
    assert events == len(warnings)
    assert {n.user_id for n in Notification.objects.all()} == members_of(personas.provider)
    # One hand-over for all three warnings' e-mails, not one batch per warning.
    assert len(handed) == 1
    assert sorted(handed[0]) == sorted(Delivery.objects.values_list("pk", flat=True))


# --------------------------------------------------------------------------- e-mail retries


class BrokenMailServer:
    """An e-mail backend whose server refuses every message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("smtp.example.test refused the connection")


def test_a_failing_mail_server_is_retried_with_backoff_then_given_up(
    personas, settings, time_machine
):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    time_machine.move_to(datetime(2026, 11, 3, 3, 0, tzinfo=UTC), tick=False)
    statement = make_statement(personas.contract)
    notify.statement_issued(statement_id=statement.pk)
    delivery = Delivery.objects.get(recipient=personas.customer_member.email)

    assert notify.send_delivery(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert "refused the connection" in delivery.last_error
    wait = delivery.next_attempt_at - datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=36)
    # Not due yet: a second message (or worker) does nothing.
    assert notify.send_delivery(delivery_id=delivery.pk) == "skipped"

    time_machine.move_to(delivery.next_attempt_at, tick=False)
    assert notify.send_delivery(delivery_id=delivery.pk) == "pending"
    time_machine.move_to(datetime(2026, 11, 4, tzinfo=UTC), tick=False)
    assert notify.send_delivery(delivery_id=delivery.pk) == "failed"
    assert notify.send_delivery(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)


def test_retry_delay_doubles_with_jitter_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    for attempts, base in ((1, 30), (2, 60), (3, 120), (4, 240)):
        for _ in range(20):
            seconds = notify.retry_delay(attempts).total_seconds()
            assert base * 0.8 <= seconds <= base * 1.2
    assert notify.retry_delay(20).total_seconds() == 3600


def test_the_periodic_task_enqueues_due_deliveries_only(personas, monkeypatch, time_machine):
    time_machine.move_to(datetime(2026, 11, 3, 3, 0, tzinfo=UTC), tick=False)
    enqueued: list[int] = []
    monkeypatch.setattr(notify_delivery, "enqueue_batch", enqueued.extend)
    statement = make_statement(personas.contract)
    notify.statement_issued(statement_id=statement.pk)
    due, later, sent, spent = Delivery.objects.order_by("pk")[:4]
    now = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=5))
    Delivery.objects.filter(pk=sent.pk).update(status="sent")
    # A claim on the last allowed attempt that expired: its worker died mid-send.
    Delivery.objects.filter(pk=spent.pk).update(attempts=notify.max_attempts())

    assert notify.retry_due_deliveries() == 1

    assert enqueued == [due.pk]
    spent.refresh_from_db()
    assert spent.status == "failed"


# --------------------------------------------------------------------------- inbox


def test_unread_count_is_in_every_page_for_the_user_only(
    personas, rf: RequestFactory, django_assert_num_queries
):
    statement = make_statement(personas.contract)
    notify.statement_issued(statement_id=statement.pk)
    request = rf.get("/")
    request.user = personas.customer_member
    context = unread_notifications(request)
    rendered = Template("{{ unread_notifications }}").render(Context(context))
    assert rendered == "1"

    # The navigation tests it and shows it: one query, and none on a page that does not.
    badge = Template("{% if unread_notifications %}{{ unread_notifications }}{% endif %}")
    with django_assert_num_queries(1):
        assert badge.render(Context(unread_notifications(request))) == "1"
    with django_assert_num_queries(0):
        Template("no badge").render(Context(unread_notifications(request)))

    request.user = personas.other_customer_member
    rendered = Template("{{ unread_notifications }}").render(Context(unread_notifications(request)))
    assert rendered == "0"
    request.user = personas.anonymous
    assert unread_notifications(request) == {}


def test_mark_read_touches_only_the_users_own_notifications(personas):
    first = make_statement(personas.contract)
    second = make_statement(personas.contract, revision=2)
    notify.statement_issued(statement_id=first.pk)
    notify.statement_issued(statement_id=second.pk)
    mine = Notification.objects.filter(user=personas.customer_member).order_by("pk")
    someone_elses = Notification.objects.filter(user=personas.provider_admin).first()

    marked = mark_notifications_read(
        user=personas.customer_member, ids=[mine[0].pk, someone_elses.pk]
    )

    assert marked == 1
    assert Notification.objects.visible_to(personas.customer_member).unread().count() == 1
    assert Notification.objects.get(pk=someone_elses.pk).read_at is None
    assert mark_notifications_read(user=personas.customer_member) == 1
    assert mark_notifications_read(user=personas.customer_member) == 0


def test_mark_read_refuses_ids_that_are_not_ids(personas):
    with pytest.raises(ValidationError) as excinfo:
        mark_notifications_read(user=personas.customer_member, ids=["1", "two"])
    assert "ids" in excinfo.value.message_dict


# --------------------------------------------------------------------------- lapses


def test_recording_a_lapse_notifies_both_parties_after_commit(
    personas, django_capture_on_commit_callbacks
):
    responsibility = ResponsibilityFactory(contract=personas.contract, title="Name a contact")
    start = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        lapse = record_lapse(
            responsibility=responsibility,
            start=start,
            end=start + timedelta(hours=6),
            note="Nobody answered the escalation line.",
            user=personas.provider_editor,
        )

    assert lapse.recorded_by == personas.provider_editor
    notifications = Notification.objects.filter(event="lapse_recorded")
    # Everyone of both parties but the editor who recorded it.
    assert {n.user_id for n in notifications} == members_of(
        personas.provider, personas.customer
    ) - {personas.provider_editor.pk}
    assert "Name a contact" in notifications[0].title
    assert lapse.history.count() == 1


def test_a_lapse_that_ends_before_it_starts_is_refused_and_nobody_is_told(
    personas, django_capture_on_commit_callbacks
):
    responsibility = ResponsibilityFactory(contract=personas.contract)
    start = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        record_lapse(
            responsibility=responsibility,
            start=start,
            end=start - timedelta(hours=1),
            note="",
            user=personas.provider_editor,
        )

    assert "end" in exc.value.message_dict
    assert not ResponsibilityLapse.objects.exists()
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_a_viewer_cannot_record_a_lapse_and_an_outsider_cannot_find_the_responsibility(personas):
    responsibility = ResponsibilityFactory(contract=personas.contract)
    start = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    arguments = {"start": start, "end": start + timedelta(hours=1), "note": ""}

    with pytest.raises(PermissionDenied):
        record_lapse(responsibility=responsibility, user=personas.customer_member, **arguments)
    with pytest.raises(type(responsibility).DoesNotExist):
        record_lapse(
            responsibility=responsibility, user=personas.other_customer_member, **arguments
        )
    assert not ResponsibilityLapse.objects.exists()


def test_a_customer_editor_may_record_a_lapse(personas):
    editor = UserFactory(username="customer-editor")
    MembershipFactory(user=editor, organization=personas.customer, role="editor")
    responsibility = ResponsibilityFactory(contract=personas.contract)
    start = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    lapse = record_lapse(
        responsibility=responsibility,
        start=start,
        end=start + timedelta(hours=1),
        note="",
        user=editor,
    )

    assert lapse.pk is not None


def test_many_statements_are_announced_together_in_a_constant_number_of_queries(
    personas, django_assert_num_queries
):
    revisions = iter(range(1, 100))

    def announce(count: int) -> list[Statement]:
        statements = [
            make_statement(personas.contract, revision=next(revisions)) for _ in range(count)
        ]
        gap = make_statement(
            personas.other_contract,
            revision=next(revisions),
            credit="0",
            lines=[{"key": "availability", "attainment": None}],
        )
        # Statements and lines, members, their notification choices, the organisations'
        # webhooks, savepoint, notifications, e-mail contents, deliveries, release.
        with django_assert_num_queries(10):
            notify.statements_issued([s.pk for s in [*statements, gap]], no_data_ids=[gap.pk])
        return [*statements, gap]

    announced = announce(1) + announce(5)

    issued = Notification.objects.filter(event="statement_issued")
    assert issued.values("event_id").distinct().count() == len(announced) == 8
    assert {n.user_id for n in issued.filter(organization=personas.customer)} == members_of(
        personas.customer
    )
    no_data = Notification.objects.filter(event="no_data")
    assert no_data.values("event_id").distinct().count() == 2
    assert {n.user_id for n in no_data} == members_of(personas.other_provider)
