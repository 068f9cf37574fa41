"""Settlement through real Celery worker processes, a real Redis and faults.

The worker runs on the real clock, so these books lie in the past relative to now. Each
worker start costs seconds: keep these few.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import redis
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from contracts.models import Membership
from credits import tasks
from credits.models import Notification, Statement, StatementLine
from credits.settlement import due_periods, sweep, sweeping
from slaportal.celery import app
from tests.credits.settlement_book import contract, objective, ratio, service
from tests.factories import CustomerFactory, MembershipFactory, ProviderFactory, UserFactory
from tests.processes import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.dates, pytest.mark.django_db(transaction=True)]

PRIVATE_REDIS_PORT = 6391
PRIVATE_BROKER = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"


def first_of_month(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def book_with_samples(
    *, period: str, tz: str, start: date, delay: int = 2, provider=None, customer=None
):
    c = contract(
        period=period, tz=tz, start=start, delay=delay, provider=provider, customer=customer
    )
    cs = service(c, fee="1200.00")
    objective(
        c, key="on-time", indicator="ratio", target="99", rule={"kind": "flat", "percent": "5"}
    )
    objective(c, key="errors", indicator="count", comparator="lte", target="2")
    ratio(cs, "on-time", datetime(start.year, start.month, start.day, 12, tzinfo=UTC), 95, 100)
    return c


def statements_per_period() -> Counter:
    return Counter(Statement.objects.values_list("contract_id", "period_start"))


@contextmanager
def worker(env: dict[str, str], name: str, purge: bool = True):
    process = CeleryWorker(env, name=name)
    process.start(purge=purge)
    try:
        yield process
    finally:
        process.stop()


# --------------------------------------------------------------------------- end to end


def test_a_sweep_on_a_worker_settles_weeks_months_and_quarters_and_tells_both_parties(
    celery_worker_process,
):
    provider, customer = ProviderFactory(), CustomerFactory()
    provider_member = UserFactory()
    customer_member = UserFactory()
    MembershipFactory(user=provider_member, organization=provider, role=Membership.Role.EDITOR)
    MembershipFactory(user=customer_member, organization=customer, role=Membership.Role.VIEWER)
    today = timezone.now().date()
    parties = {"provider": provider, "customer": customer}
    book = [
        book_with_samples(
            period="week",
            tz="Europe/Berlin",
            start=today - timedelta(days=today.weekday() + 21),
            **parties,
        ),
        book_with_samples(
            period="month", tz="America/New_York", start=first_of_month(today, 2), **parties
        ),
        book_with_samples(
            period="quarter",
            tz="Asia/Tokyo",
            start=first_of_month(today, (today.month - 1) % 3 + 6),  # two quarters back
            **parties,
        ),
    ]
    expected = set(due_periods(timezone.now()))
    assert {contract_id for contract_id, _ in expected} == {c.pk for c in book}

    tasks.sweep_task.delay()

    assert wait_for(lambda: expected <= set(statements_per_period()), timeout=90), (
        celery_worker_process.log()
    )
    assert max(statements_per_period().values()) == 1
    assert not Statement.objects.exclude(revision=1).exists()
    issued = Statement.objects.count()
    # Both parties hear of every statement, in the app (and by e-mail: credits.notify).
    assert wait_for(
        lambda: Notification.objects.filter(event="statement_issued").count() == 2 * issued,
        timeout=60,
    ), celery_worker_process.log()
    told = (
        Notification.objects.filter(event="statement_issued").values("user").annotate(n=Count("id"))
    )
    assert {row["user"]: row["n"] for row in told} == {
        provider_member.pk: issued,
        customer_member.pk: issued,
    }


# --------------------------------------------------------------------------- faults


@contextmanager
def statement_lines_locked():
    """Hold the statement lines' table in this test's own transaction: a settler then waits
    between writing its statements and copying their lines, where it can be killed."""
    with transaction.atomic(), connection.cursor() as cursor:
        # SHARE lets reads through and makes every writer of the table wait.
        cursor.execute("LOCK TABLE credits_statementline IN SHARE MODE")
        yield


def lines_wait_after_statements() -> bool:
    """Whether another connection, having written statements, waits to write their lines
    (pg_locks is live, unlike pg_stat_activity, which a transaction sees as it first was)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_locks waiting
            JOIN pg_locks wrote ON wrote.pid = waiting.pid
            WHERE waiting.relation = 'credits_statementline'::regclass AND NOT waiting.granted
              AND wrote.relation = 'credits_statement'::regclass
              AND wrote.mode = 'RowExclusiveLock' AND wrote.granted
            """
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_in_the_middle_of_a_settlement_leaves_one_statement_after_restart(
    worker_env,
):
    c = book_with_samples(period="month", tz="UTC", start=first_of_month(timezone.now().date(), 2))
    due = sorted(due_periods(timezone.now()))
    contract_id, period_start = due[0]
    broker = redis.Redis.from_url(app.conf.broker_url)

    with worker(worker_env, "settle-held") as first, statement_lines_locked():
        tasks.settle_contract_periods.delay([[contract_id, period_start.isoformat()]])
        assert wait_for(lines_wait_after_statements, timeout=90), first.log()
        # The statement row is written, its lines are not, nothing is committed.
        first.kill()

    assert not Statement.objects.exists()
    assert not StatementLine.objects.exists()
    # Redis hands an unacknowledged message back once its visibility timeout (4 hours in
    # settings) has passed; age the one the dead worker held instead of waiting.
    unacked = broker.zrange("unacked_index", 0, -1)
    assert unacked, "the killed worker's task should still be unacknowledged"
    broker.zadd("unacked_index", dict.fromkeys(unacked, 0))
    # A worker killed while restoring would also leave kombu's restore lock for 5 minutes.
    broker.delete("unacked_mutex")

    with worker(worker_env, "settle-restarted", purge=False) as second:
        assert wait_for(lambda: Statement.objects.filter(contract=c).exists(), timeout=90), (
            second.log()
        )
        statement = Statement.objects.get(contract=c)

    assert (statement.period_start, statement.revision) == (period_start, 1)
    assert statement.lines.count() == 2
    assert StatementLine.objects.count() == 2  # no orphan line of the killed attempt


@pytest.fixture
def private_redis():
    """A Redis of this test's own, which it may stop and start (never the shared one)."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    processes: list[subprocess.Popen] = []

    def start() -> None:
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(PRIVATE_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            env=real_clock_env(),
        )
        processes.append(process)
        client = redis.Redis(port=PRIVATE_REDIS_PORT)
        assert wait_for(lambda: _pings(client), timeout=10), "the private Redis did not start"

    def stop() -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    start()
    yield start, stop
    stop()


def real_clock_env() -> dict[str, str]:
    """This process's environment without libfaketime. Redis is a service, like the shared
    one and PostgreSQL, not the code whose clock a shifted run moves; and redis-server
    cannot start under libfaketime (its allocator's start-up recurses into the faked
    clock_gettime, which gives up)."""
    env = dict(os.environ)
    kept = [lib for lib in env.pop("LD_PRELOAD", "").split() if "faketime" not in lib]
    if kept:
        env["LD_PRELOAD"] = " ".join(kept)
    return env


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@contextmanager
def publishing_to(url: str):
    """Point this process's Celery producer at another broker."""
    previous = os.environ.get("CELERY_BROKER_URL")

    def switch(to: str | None) -> None:
        # Celery reads CELERY_BROKER_URL from the environment before its own settings.
        if to is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = to
        app.conf.broker_url = to
        # Kombu keeps one pool per broker URL: dropping the references is enough.
        app._pool = None
        app.amqp._producer_pool = None

    switch(url)
    try:
        yield
    finally:
        switch(previous)


def test_redis_stopped_and_started_during_a_sweep_loses_no_period(
    worker_env, private_redis, monkeypatch, caplog
):
    start_redis, stop_redis = private_redis
    # One instant for both sweeps: a period that fell due in between would not be in ``due``.
    now = timezone.now()
    start = first_of_month(now.date(), 3)
    book = [book_with_samples(period="month", tz="UTC", start=start) for _ in range(2)]
    due = set(due_periods(now))
    assert len(due) >= 4

    publish = tasks.settle_contract_periods.apply_async
    sent: list[list] = []

    def publish_then_redis_dies(args, kwargs=None, **options):
        publish(args, kwargs, **options)
        sent.append(args[0])
        if len(sent) == 2:
            stop_redis()  # two messages sat in Redis: a Redis without persistence loses them

    with publishing_to(PRIVATE_BROKER):
        # One contract period per message, so that some are published before Redis dies.
        monkeypatch.setattr(sweeping, "SWEEP_CHUNK", 1)
        # apply_async: what a task sent by name goes through.
        monkeypatch.setattr(tasks.settle_contract_periods, "apply_async", publish_then_redis_dies)
        assert sweep(now) == len(due)
        monkeypatch.undo()
        assert "the broker is unavailable" in caplog.text

        start_redis()
        env = dict(worker_env, CELERY_BROKER_URL=PRIVATE_BROKER)
        with worker(env, "settle-private-redis") as process:
            assert not Statement.objects.exists()  # the two published messages were lost

            sweep(now)  # the next sweep: the database still says every period is due

            assert wait_for(lambda: set(statements_per_period()) == due, timeout=90), process.log()
    assert max(statements_per_period().values()) == 1
    assert {contract_id for contract_id, _ in statements_per_period()} == {c.pk for c in book}
