"""Settlers racing each other: each thread has its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from django.db import IntegrityError, connection

from contracts.models import Contract
from credits import settlement
from credits.models import Statement, StatementLine
from credits.settlement import issue, settle_period, sweep
from slaportal.celery import app
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = pytest.mark.django_db(transaction=True)

SEPTEMBER = date(2026, 9, 1)
AFTER = at(2026, 10, 5)


def run_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; re-raise any failure."""
    barrier = threading.Barrier(count, timeout=20)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a settler is stuck"
    if errors:
        raise errors[0]
    return results


def two_service_book(**fields) -> Contract:
    c = contract(**fields)
    objective(
        c, key="on-time", indicator="ratio", target="99.5", rule={"kind": "flat", "percent": "5"}
    )
    objective(c, key="errors", indicator="count", comparator="lte", target="2")
    for _ in range(2):
        ratio(service(c), "on-time", at(2026, 9, 3), 90, 100)
    return c


def test_four_settlers_of_one_period_at_once_leave_one_statement_and_one_set_of_lines():
    c = two_service_book()

    results = run_at_once(
        4,
        lambda _: settle_period(
            contract=Contract.objects.get(pk=c.pk), period_start=SEPTEMBER, now=AFTER
        ),
    )

    assert Statement.objects.count() == 1
    statement = Statement.objects.get()
    assert {r.statement.pk for r in results} == {statement.pk}
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert StatementLine.objects.count() == 4
    assert statement.lines.count() == 4


def test_without_the_row_lock_the_unique_constraint_still_leaves_one_statement(monkeypatch):
    c = two_service_book()
    # A settler that skipped the lock: every thread computes "no statement yet" and
    # inserts revision 1 at the same moment.
    monkeypatch.setattr(
        Contract.objects, "select_for_update", lambda **kwargs: Contract.objects.all()
    )
    write = issue._write_many
    barrier = threading.Barrier(4, timeout=20)
    writes: list[int] = []

    def write_together(*args, **kwargs):
        barrier.wait()
        writes.append(1)
        return write(*args, **kwargs)

    monkeypatch.setattr(issue, "_write_many", write_together)

    results = run_at_once(
        4,
        lambda _: settle_period(
            contract=Contract.objects.get(pk=c.pk), period_start=SEPTEMBER, now=AFTER
        ),
    )

    assert Statement.objects.count() == 1
    assert StatementLine.objects.count() == 4
    assert {r.statement.pk for r in results} == {Statement.objects.get().pk}
    assert sorted(r.created for r in results) == [False, False, False, True]
    # All four really raced to insert: three lost to the unique constraint, not to a lock.
    assert len(writes) == 4


def test_the_database_refuses_a_second_revision_1_for_one_period():
    c = two_service_book()
    computed = settlement.compute_period(contract=c, period_start=SEPTEMBER)
    issue._write_many([(computed, 1)], AFTER)

    with pytest.raises(IntegrityError):
        issue._write_many([(computed, 1)], AFTER)


def test_three_sweeps_at_once_settle_each_due_period_once(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)
    book = [
        two_service_book(period="month", start=date(2026, 6, 1), tz="Europe/Berlin"),
        two_service_book(period="week", start=date(2026, 8, 3), tz="America/New_York"),
        two_service_book(period="quarter", start=date(2026, 1, 1), tz="Asia/Tokyo"),
    ]
    due = sorted(settlement.due_periods(AFTER))

    run_at_once(3, lambda _: sweep(now=AFTER))

    assert len(due) > 10
    settled = sorted(Statement.objects.values_list("contract_id", "period_start"))
    assert settled == due  # each due period exactly once
    assert not Statement.objects.exclude(revision=1).exists()
    assert {contract_id for contract_id, _ in settled} == {c.pk for c in book}
    assert StatementLine.objects.count() == 4 * len(due)
