"""The sweep: which periods are due, catching up, publishing after commit, early warnings."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError as BrokerError

from contracts.models import Contract
from credits import notify, settlement, tasks
from credits.models import EarlyWarning, Notification, PendingAnnouncement, Statement
from credits.notify import events as notify_events
from credits.settlement import due_periods, issue, sweep, sweeping, warn_early
from slaportal.celery import app
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import IncidentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

E1_RULE = {"kind": "per_step", "step": "0.5", "percent": "1"}


@pytest.fixture
def eager(monkeypatch):
    """Tasks run in this process when published, as a worker would run them."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture
def published(monkeypatch):
    """The settlement tasks the sweep published, without a broker."""
    sent: list[tuple[int, str]] = []

    def record(args: tuple, kwargs: dict | None = None, **options) -> None:
        (chunk,) = args
        sent.extend((contract_id, start) for contract_id, start in chunk)

    # apply_async: what .delay() and a signature sent by name both call.
    monkeypatch.setattr(tasks.settle_contract_periods, "apply_async", record)
    monkeypatch.setattr(tasks.warn_open_periods, "apply_async", lambda *args, **options: None)
    return sent


@pytest.fixture
def warned(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(notify, "early_warnings", lambda *, warning_ids: calls.extend(warning_ids))
    return calls


def reports(**fields):
    c = contract(**fields)
    cs = service(c, fee="2000.00")
    objective(c, key="on-time", indicator="ratio", target="99.5", rule=E1_RULE)
    return c, cs


# --------------------------------------------------------------------------- due periods


def test_a_period_is_due_settlement_delay_days_after_it_ends_in_the_contracts_time_zone():
    tokyo, _ = reports(start=date(2026, 9, 1), tz="Asia/Tokyo", delay=2)
    new_york, _ = reports(start=date(2026, 9, 1), tz="America/New_York", delay=2)

    # 3 October 00:00 in Tokyo is 2 October 15:00 UTC; in New York it is 04:00 UTC on the 3rd.
    before_tokyo = at(2026, 10, 2, 14, 59)
    tokyo_only = at(2026, 10, 2, 15, 0)
    both = at(2026, 10, 3, 4, 0)

    assert list(due_periods(before_tokyo)) == []
    assert list(due_periods(tokyo_only)) == [(tokyo.pk, date(2026, 9, 1))]
    assert list(due_periods(both)) == [
        (tokyo.pk, date(2026, 9, 1)),
        (new_york.pk, date(2026, 9, 1)),
    ]
    assert list(due_periods(before_tokyo, ignore_delay=True)) == [
        (tokyo.pk, date(2026, 9, 1)),
        (new_york.pk, date(2026, 9, 1)),
    ]


def test_due_periods_skip_settled_periods_drafts_and_contracts_not_running_yet():
    c, _ = reports(start=date(2026, 6, 16))
    reports(status="draft")
    reports(start=date(2027, 1, 1))
    Statement.objects.create(
        contract=c,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 31),
        currency="EUR",
        fees_total=0,
        credit_total=0,
        fingerprint="x",
        issued_at=at(2026, 8, 5),
    )

    due = list(due_periods(at(2026, 10, 5)))

    # June (from the 16th), August and September; July has a statement.
    assert due == [(c.pk, date(2026, 6, 1)), (c.pk, date(2026, 8, 1)), (c.pk, date(2026, 9, 1))]


def test_suspended_contracts_are_swept_and_terminated_ones_up_to_their_end():
    suspended, _ = reports(start=date(2026, 8, 1), status="suspended")
    terminated, _ = reports(start=date(2026, 7, 1), end=date(2026, 8, 10), status="terminated")
    reports(start=date(2026, 7, 1), status="terminated")  # no end date: nothing to settle

    due = set(due_periods(at(2026, 10, 5)))

    assert due == {
        (suspended.pk, date(2026, 8, 1)),
        (suspended.pk, date(2026, 9, 1)),
        (terminated.pk, date(2026, 7, 1)),
        (terminated.pk, date(2026, 8, 1)),
    }


def test_due_periods_in_sql_agree_with_the_python_reference():
    reports(period="week", tz="Europe/Berlin", start=date(2026, 7, 15))
    reports(period="month", tz="America/New_York", start=date(2026, 1, 31), delay=5)
    reports(period="quarter", tz="Asia/Tokyo", start=date(2025, 11, 20))
    reports(
        period="quarter",
        tz="UTC",
        start=date(2025, 2, 1),
        end=date(2026, 4, 2),
        status="terminated",
    )
    reports(
        period="week", tz="Australia/Sydney", start=date(2026, 3, 30), status="suspended", delay=0
    )
    settled, _ = reports(period="month", tz="Pacific/Auckland", start=date(2026, 2, 1), delay=0)
    for month in (3, 5):
        Statement.objects.create(
            contract=settled,
            period_start=date(2026, month, 1),
            period_end=date(2026, month, 28),
            currency="EUR",
            fees_total=0,
            credit_total=0,
            fingerprint="x",
            issued_at=at(2026, 9, 1),
        )

    for now in (at(2026, 10, 1, 11), at(2026, 10, 4, 3, 59), at(2026, 10, 4, 4), at(2027, 1, 1)):
        for ignore_delay in (False, True):
            in_sql = list(due_periods(now, ignore_delay=ignore_delay))
            reference = list(sweeping._due_periods_python(now, ignore_delay, None))
            assert in_sql == reference, (now, ignore_delay)
            assert in_sql


# --------------------------------------------------------------------------- the sweep


def test_one_sweep_catches_up_every_missed_period_and_the_next_sweep_finds_nothing(
    eager, django_capture_on_commit_callbacks
):
    weekly, weekly_cs = reports(period="week", start=date(2026, 9, 7))
    monthly, monthly_cs = reports(period="month", start=date(2026, 8, 1))
    ratio(weekly_cs, "on-time", at(2026, 9, 8), 987, 1000)
    ratio(monthly_cs, "on-time", at(2026, 8, 8), 995, 1000)

    with time_machine.travel(at(2026, 10, 5, 12), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            first = sweep()
        with django_capture_on_commit_callbacks(execute=True):
            second = sweep()

    # The weeks of 7, 14 and 21 September (the 28th's is 2 days' delay away); August and
    # September.
    assert first == 5
    assert second == 0
    assert sorted(Statement.objects.values_list("contract__reference", "period_start")) == sorted(
        [(weekly.reference, date(2026, 9, d)) for d in (7, 14, 21)]
        + [(monthly.reference, date(2026, 8, 1)), (monthly.reference, date(2026, 9, 1))]
    )
    assert Statement.objects.get(contract=weekly, period_start=date(2026, 9, 7)).credit_total == 40
    assert not Statement.objects.exclude(revision=1).exists()


def test_the_sweep_publishes_only_after_its_transaction_commits(
    published, django_capture_on_commit_callbacks
):
    c, _ = reports(start=date(2026, 9, 1))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        sweep(now=at(2026, 10, 5))
        assert published == []

    assert published == [(c.pk, "2026-09-01")]


def test_a_broker_failure_during_a_sweep_loses_no_period(
    monkeypatch, published, django_capture_on_commit_callbacks
):
    book = [reports(start=date(2026, 5, 1))[0] for _ in range(2)]
    monkeypatch.setattr(sweeping, "SWEEP_CHUNK", 3)
    working = tasks.settle_contract_periods.apply_async

    def failing_after_one_chunk(args, kwargs=None, **options):
        if len(published) == 3:
            raise BrokerError("Error 111 connecting to 127.0.0.1:6391. Connection refused.")
        working(args, kwargs, **options)

    monkeypatch.setattr(tasks.settle_contract_periods, "apply_async", failing_after_one_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=at(2026, 10, 5)) == 10
    assert len(published) == 3

    # The broker is back; nothing was settled, so the database still says all 10 are due.
    monkeypatch.setattr(tasks.settle_contract_periods, "apply_async", working)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=at(2026, 10, 5))

    assert len(published) == 10
    assert {contract_id for contract_id, _ in published} == {c.pk for c in book}


def test_the_sweep_publishes_due_periods_and_active_contracts_in_chunks(
    monkeypatch, django_capture_on_commit_callbacks
):
    book = [reports(start=date(2026, 5, 1))[0] for _ in range(2)]
    settling: list[list] = []
    warning: list[list[int]] = []
    monkeypatch.setattr(
        tasks.settle_contract_periods, "apply_async", lambda args, *_, **__: settling.append(*args)
    )
    monkeypatch.setattr(
        tasks.warn_open_periods, "apply_async", lambda args, *_, **__: warning.append(*args)
    )

    # A small backlog is spread over up to SWEEP_SPREAD tasks, for as many workers.
    monkeypatch.setattr(sweeping, "SWEEP_SPREAD", 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=at(2026, 10, 5)) == 10
    assert [len(chunk) for chunk in settling] == [2, 2, 2, 2, 2]

    # A large one is cut in chunks of at most SWEEP_CHUNK.
    settling.clear()
    warning.clear()
    monkeypatch.setattr(sweeping, "SWEEP_SPREAD", 1)
    monkeypatch.setattr(sweeping, "SWEEP_CHUNK", 4)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=at(2026, 10, 5)) == 10

    assert [len(chunk) for chunk in settling] == [4, 4, 2]
    # Oldest periods first, so that a backlog settles in order.
    assert [start for chunk in settling for _, start in chunk] == sorted(
        f"2026-{month:02d}-01" for month in range(5, 10) for _ in book
    )
    assert warning == [[c.pk for c in book]]


def with_members(c):
    for organization in (c.provider, c.customer):
        MembershipFactory(organization=organization)
    return c


def test_a_chunk_settles_and_announces_its_statements_through_the_outbox(
    eager, django_capture_on_commit_callbacks
):
    c, cs = reports(start=date(2026, 8, 1))
    with_members(c)
    ratio(cs, "on-time", at(2026, 8, 8), 990, 1000)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.settle_contract_periods.delay(
            [[c.pk, "2026-08-01"], [c.pk, "2026-09-01"]]
        ).get()

    assert result == "2 issued, 0 already issued, 0 not settled"
    august, september = Statement.objects.filter(contract=c).order_by("period_start")
    issued = Notification.objects.filter(event="statement_issued")
    assert set(issued.values_list("event_id", flat=True)) == {
        notify.event_id_for("statement_issued", august.pk),
        notify.event_id_for("statement_issued", september.pk),
    }
    # September had no sample: its provider hears of the missing data too.
    assert set(Notification.objects.filter(event="no_data").values_list("event_id", flat=True)) == {
        notify.event_id_for("no_data", september.pk)
    }
    assert not PendingAnnouncement.objects.exists()
    for task, queue in (
        ("credits.announce_statements", "notify"),
        ("credits.deliver", "notify"),
        ("credits.settle_contract_periods", "celery"),
        ("credits.warn_open_periods", "background"),
    ):
        route = app.amqp.router.route({}, task)["queue"]
        assert (route.name, route.routing_key) == (queue, queue)
    # One queue per routing key: a task is never delivered to two queues. On Redis a
    # worker takes from them in this order: settlement, notifications, early warnings.
    keys = [q.routing_key for q in app.amqp.queues.values()]
    assert keys == ["celery", "notify", "background"]


def test_an_announcement_whose_message_is_lost_is_handed_over_again(
    eager, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    c, cs = reports(start=date(2026, 8, 1))
    with_members(c)
    ratio(cs, "on-time", at(2026, 8, 8), 990, 1000)
    working = tasks.announce_statements.apply_async

    def broker_down(*args, **options):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.announce_statements, "apply_async", broker_down)
    time_machine.move_to(at(2026, 10, 5, 9), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.settle_contract_periods.delay([[c.pk, "2026-08-01"]]).get()

    # Settled and committed, but nobody told: the outbox still holds the announcement.
    statement = Statement.objects.get(contract=c)
    assert not Notification.objects.exists()
    assert PendingAnnouncement.objects.filter(statement=statement).exists()

    monkeypatch.setattr(tasks.announce_statements, "apply_async", working)
    time_machine.move_to(at(2026, 10, 5, 9, 10), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify.retry_due_deliveries()
    # Ten minutes: its message may still wait behind a large settlement.
    assert not Notification.objects.exists()

    time_machine.move_to(at(2026, 10, 5, 9, 16), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify.retry_due_deliveries()

    issued = Notification.objects.filter(event="statement_issued")
    assert {n.organization_id for n in issued} == {c.provider_id, c.customer_id}
    assert not PendingAnnouncement.objects.exists()
    # The late original message finds nothing left to announce.
    assert notify.announce_pending([statement.pk]) == 0
    assert Notification.objects.filter(event="statement_issued").count() == issued.count()


def test_a_statement_that_cannot_be_announced_holds_back_no_other(
    eager, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    book = [with_members(reports(start=date(2026, 8, 1))[0]) for _ in range(3)]
    monkeypatch.setattr(tasks.announce_statements, "apply_async", lambda *args, **options: None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.settle_contract_periods.delay([[c.pk, "2026-08-01"] for c in book]).get()
    statements = list(Statement.objects.order_by("pk"))
    bad = statements[1]
    real = notify_events.statement_notice

    def refuse_one(statement, lines):
        if statement.pk == bad.pk:
            raise ValueError("a template that cannot render this statement")
        return real(statement, lines)

    monkeypatch.setattr(notify_events, "statement_notice", refuse_one)

    assert notify.announce_pending([s.pk for s in statements]) == 2

    announced = set(
        Notification.objects.filter(event="statement_issued").values_list("event_id", flat=True)
    )
    assert announced == {
        notify.event_id_for("statement_issued", s.pk) for s in statements if s != bad
    }
    left = PendingAnnouncement.objects.get()
    assert (left.statement_id, left.attempts) == (bad.pk, 1)
    assert "a template that cannot render this statement" in left.last_error
    assert "Announcing 3 statements failed: one by one" in caplog.text

    # After MAX_ANNOUNCEMENT_ATTEMPTS failures the catch-up leaves it to people.
    PendingAnnouncement.objects.update(attempts=notify.MAX_ANNOUNCEMENT_ATTEMPTS)
    later = left.handed_at + notify.STALE_ANNOUNCEMENT * 2
    assert notify.enqueue_stale_announcements(now=later) == 0


def test_one_bad_period_in_a_chunk_does_not_hold_back_the_others(eager, monkeypatch, caplog):
    good, good_cs = reports(start=date(2026, 8, 1))
    ratio(good_cs, "on-time", at(2026, 8, 8), 990, 1000)
    bad, _ = reports(start=date(2026, 8, 1))
    real = issue._write_many

    def refuse_the_bad_one(items, now):
        if any(computed.contract.pk == bad.pk for computed, _revision in items):
            raise ValueError("a row the database refuses")
        return real(items, now)

    monkeypatch.setattr(issue, "_write_many", refuse_the_bad_one)

    result = tasks.settle_contract_periods.delay(
        [[good.pk, "2026-08-01"], [bad.pk, "2026-08-01"]]
    ).get()

    assert result == "1 issued, 0 already issued, 1 not settled"
    assert list(Statement.objects.values_list("contract_id", flat=True)) == [good.pk]
    assert "failed: settling one by one" in caplog.text


def test_a_stored_rule_the_engine_refuses_is_that_contract_s_error_alone():
    good, good_cs = reports(start=date(2026, 8, 1))
    ratio(good_cs, "on-time", at(2026, 8, 8), 990, 1000)
    bad, _ = reports(start=date(2026, 8, 1), reference="BAD-RULE")
    # Written round the model's validation, as an old or hand-edited row could be.
    bad.service_levels.update(credit_rule={"kind": "per_step", "step": "0", "percent": "1"})

    ok, refused = settlement.settle_periods(
        [(good.pk, date(2026, 8, 1)), (bad.pk, date(2026, 8, 1))], now=at(2026, 10, 5)
    )

    assert ok.created
    assert isinstance(refused, settlement.SettlementError)
    assert str(refused).startswith("BAD-RULE: ")


def test_a_task_for_a_period_that_already_has_a_statement_issues_nothing(eager):
    c, cs = reports(start=date(2026, 9, 1))
    ratio(cs, "on-time", at(2026, 9, 8), 987, 1000)
    tasks.settle_contract_periods.delay([[c.pk, "2026-09-01"]])
    # Late data arrives, then the same message is delivered again (a retry, a second sweep):
    # a redelivered message never issues a revision; people do, with `settle` or the API.
    ratio(cs, "on-time", at(2026, 9, 9), 13, 13)

    result = tasks.settle_contract_periods.delay([[c.pk, "2026-09-01"]]).get()

    assert result == "0 issued, 1 already issued, 0 not settled"
    assert Statement.objects.filter(contract=c).count() == 1


def test_a_task_for_a_period_that_cannot_be_settled_is_logged_not_retried(eager, caplog):
    c, _ = reports(start=date(2026, 9, 1))

    result = tasks.settle_contract_periods.delay([[c.pk, "2026-09-02"]]).get()

    assert result == "0 issued, 0 already issued, 1 not settled"

    assert "not the start of a monthly settlement period" in caplog.text
    assert not Statement.objects.exists()


def test_the_sweep_runs_every_15_minutes_from_a_schedule_operators_can_edit(migrated_schedules):
    schedule = PeriodicTask.objects.get(task="credits.sweep")

    assert schedule.enabled
    assert (schedule.interval.every, schedule.interval.period) == (15, "minutes")
    assert "credits.sweep" in app.tasks
    assert "credits.settle_contract_periods" in app.tasks


# --------------------------------------------------------------------------- early warning


def test_an_objective_already_lost_mid_period_warns_the_provider_once(
    eager, warned, django_capture_on_commit_callbacks
):
    _, cs = reports(start=date(2026, 9, 1))
    ratio(cs, "on-time", at(2026, 9, 2), 50, 100)

    with time_machine.travel(at(2026, 9, 15), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sweep()
        with django_capture_on_commit_callbacks(execute=True):
            sweep()

    warning = EarlyWarning.objects.get()
    assert (warning.contract_service, warning.key, warning.period_start) == (
        cs,
        "on-time",
        date(2026, 9, 1),
    )
    assert warning.state == "breached"
    assert warning.attainment == Decimal("50")
    assert "already breached" in warning.message
    assert warned == [warning.pk]


def test_downtime_burning_the_error_budget_too_fast_is_at_risk_with_the_projected_credit(warned):
    c = contract(start=date(2026, 9, 1), currency="USD")
    cs = service(c, fee="1000.00")
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "tiered", "tiers": [{"bound": "99.9", "percent": "10"}]},
    )
    down = at(2026, 9, 5)
    IncidentFactory(contract_service=cs, started_at=down, ended_at=down + timedelta(minutes=30))

    # 9.5 days in: 30 minutes of 13,680 is 99.78 %; the rest of the month could still save it.
    created = warn_early(contract=c, now=at(2026, 9, 10, 12))
    again = warn_early(contract=c, now=at(2026, 9, 11))

    assert [w.state for w in created] == ["at_risk"]
    assert again == []
    warning = created[0]
    assert warning.projected_credit_percent == Decimal("10")
    assert warning.projected_amount == Decimal("100.00")
    assert "at risk" in warning.message


def test_no_warning_while_the_objective_is_on_track_or_the_contract_is_not_active(warned):
    healthy, healthy_cs = reports(start=date(2026, 9, 1))
    ratio(healthy_cs, "on-time", at(2026, 9, 2), 100, 100)
    suspended, suspended_cs = reports(start=date(2026, 9, 1), status="suspended")
    ratio(suspended_cs, "on-time", at(2026, 9, 2), 0, 100)

    assert warn_early(contract=healthy, now=at(2026, 9, 15)) == []
    assert warn_early(contract=suspended, now=at(2026, 9, 15)) == []
    assert not EarlyWarning.objects.exists()
    assert Contract.objects.filter(status="suspended").count() == 1
