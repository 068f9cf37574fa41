"""The sweep: which contract periods are due, their settlement enqueued in chunks, and
what the sweep's tasks do with a chunk.

The sweep is driven by database state, not by messages arriving exactly once: every sweep
asks which closed periods have no statement yet and enqueues them in chunks (one task per
chunk of up to ``SWEEP_CHUNK`` contract periods, spread over enough tasks for many
workers), so a lost message or a missed sweep is caught up by the next one, back to the
reach (``SETTLEMENT_LOOKBACK_DAYS``): older history is an operator's backfill. It then
enqueues the early warnings of active contracts, in chunks too. Tasks are sent by name:
this package never imports the tasks that call it.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from celery import signature
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

import engine
from contracts.models import Contract
from credits.models import EarlyWarning, Statement
from credits.settlement.early_warning import warn_open_periods
from credits.settlement.issue import settle_periods
from credits.settlement.periods import reach, settle_after, settled_contracts, settled_days
from credits.settlement.results import SettlementError, SettlementResult

logger = logging.getLogger(__name__)

# By name: credits.tasks imports this package (see credits.settlement.announce).
SETTLE_TASK = "credits.settle_contract_periods"
WARN_TASK = "credits.warn_open_periods"

# Errors worth another try of the whole task (its tasks retry them); the one-by-one
# fallbacks let them through, and the task's time being up too (it must stop, not start
# over one by one).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
NOT_THE_CHUNKS_FAULT = (*TRANSIENT_ERRORS, SoftTimeLimitExceeded)

T = TypeVar("T")

# Every period of each settled contract from its start (or the one containing the reach,
# if later; NULL for no reach; or the one after the day it is settled through without a gap,
# if later still) up to its end or today (the contracts' rule, {settled}, comes from
# settled_contracts), due once it ended settlement_delay_days ago in the contract's time
# zone and still without a statement.
_DUE_SQL = """
WITH contract AS (
    SELECT k.id, k.start_date, k.end_date, k.timezone, st.through + 1 AS after_settled,
           CASE k.settlement_period WHEN 'week' THEN 'week' WHEN 'month' THEN 'month'
                ELSE 'quarter' END AS unit,
           CASE k.settlement_period WHEN 'week' THEN interval '7 days'
                WHEN 'month' THEN interval '1 month' ELSE interval '3 months' END AS step,
           CASE WHEN %s THEN 0 ELSE k.settlement_delay_days END AS delay
    FROM contracts_contract k
    LEFT JOIN contracts_settledthrough st
           ON st.contract_id = k.id AND st.start_date = k.start_date
          AND st.settlement_period = k.settlement_period
    WHERE k.id IN (SELECT id FROM contracts_contract WHERE {settled})
)
SELECT c.id, p.start::date
FROM contract c
CROSS JOIN LATERAL generate_series(
    date_trunc(c.unit, GREATEST(c.start_date, %s::date, c.after_settled)::timestamp),
    date_trunc(c.unit, LEAST(COALESCE(c.end_date, 'infinity'::date),
                             (%s::timestamptz AT TIME ZONE c.timezone)::date)::timestamp),
    c.step
) AS p(start)
WHERE ((p.start + c.step + make_interval(days => c.delay)) AT TIME ZONE c.timezone)
      <= %s::timestamptz
  AND NOT EXISTS (
      SELECT 1 FROM credits_statement s
      WHERE s.contract_id = c.id AND s.period_start = p.start::date
  )
ORDER BY p.start, c.id
"""


# One period further for every settled contract whose next period (its first, when none is
# recorded or the record was made for another start date or period kind) has a statement;
# run until nothing moves. Statements are never deleted, so the day only moves forward.
_ADVANCE_SQL = """
INSERT INTO contracts_settledthrough (contract_id, through, start_date, settlement_period)
SELECT contracts_contract.id, max(s.period_end), contracts_contract.start_date,
       contracts_contract.settlement_period
FROM contracts_contract
LEFT JOIN contracts_settledthrough st
       ON st.contract_id = contracts_contract.id
      AND st.start_date = contracts_contract.start_date
      AND st.settlement_period = contracts_contract.settlement_period
JOIN credits_statement s
  ON s.contract_id = contracts_contract.id
 AND CASE WHEN st.through IS NULL
          THEN s.period_start <= contracts_contract.start_date
               AND s.period_end >= contracts_contract.start_date
          ELSE s.period_start = st.through + 1 END
WHERE {settled}
GROUP BY contracts_contract.id
ON CONFLICT (contract_id) DO UPDATE SET
    through = excluded.through, start_date = excluded.start_date,
    settlement_period = excluded.settlement_period
"""


def advance_settled_through() -> int:
    """Move each settled contract's settled-through day past the periods that now have a
    statement in a row (PostgreSQL; the reference sweep on other databases goes without);
    returns how many steps were taken. One statement per period moved, whatever the
    contract's age: the sweep then looks only at the periods after it."""
    if connection.vendor != "postgresql":
        return 0
    query = _swept(None).query
    settled, params = query.get_compiler(connection=connection).compile(query.where)
    steps = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_ADVANCE_SQL.format(settled=settled), params)
            if not cursor.rowcount:
                return steps
            steps += cursor.rowcount


def _swept(contract_ids: Sequence[int] | None) -> Iterable[Contract]:
    contracts = Contract.objects.filter(settled_contracts())
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=contract_ids)
    return contracts


def _due_periods_sql(
    now: datetime, ignore_delay: bool, contract_ids: Sequence[int] | None, backfill: bool = False
) -> Iterator[tuple[int, date]]:
    since = None if backfill else reach(now)
    query = _swept(contract_ids).query
    settled, settled_params = query.get_compiler(connection=connection).compile(query.where)
    params = [ignore_delay, *settled_params, since, now, now]
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL.format(settled=settled), params)
        while rows := cursor.fetchmany(2000):
            yield from rows


def _due_periods_python(
    now: datetime, ignore_delay: bool, contract_ids: Sequence[int] | None, backfill: bool = False
) -> Iterator[tuple[int, date]]:
    """The reference implementation, for databases without generate_series (SQLite)."""
    since = None if backfill else reach(now)
    contracts = _swept(contract_ids).order_by("pk")
    settled = set(
        Statement.objects.filter(contract__in=contracts).values_list("contract_id", "period_start")
    )
    due = []
    for contract in contracts:
        days = settled_days(contract, now)
        if days is None:
            continue
        first, last = days
        if since is not None:
            first = max(first, since)
            if first > last:
                continue
        for period in engine.periods_between(
            first, last, contract.settlement_period, contract.timezone
        ):
            if (contract.pk, period.start) in settled:
                continue
            if settle_after(contract, period, ignore_delay=ignore_delay) <= now:
                due.append((period.start, contract.pk))
    for start, contract_id in sorted(due):
        yield contract_id, start


def due_periods(
    now: datetime,
    *,
    ignore_delay: bool = False,
    contract_ids: Sequence[int] | None = None,
    backfill: bool = False,
) -> Iterator[tuple[int, date]]:
    """Every (contract id, period start) that is due: a period of a settled contract
    (:func:`~credits.settlement.periods.settled_contracts`) that ended at least
    ``settlement_delay_days`` ago (in the contract's time zone; ``ignore_delay`` for a
    manual settlement) and has no statement yet, oldest periods first. Only periods that
    end on or after the :func:`~credits.settlement.periods.reach` unless ``backfill``.

    Computed by the database in one query: a period lost anywhere (a dropped message, a
    missed sweep, a failed task) is found again by the next call.
    """
    if contract_ids is not None and not contract_ids:
        return iter(())
    if connection.vendor == "postgresql":
        return _due_periods_sql(now, ignore_delay, contract_ids, backfill)
    return _due_periods_python(now, ignore_delay, contract_ids, backfill)


def left_to_backfill(now: datetime, contract_ids: Sequence[int] | None = None) -> list[Contract]:
    """Settled contracts that started before the :func:`~credits.settlement.periods.reach`
    and have no statement for their first period: history the sweep and ``settle`` leave
    to ``manage.py settle --backfill --confirm``. A gap further in a contract's history is
    not looked for (that would cost what the reach saves); the sweep fills any gap within
    the reach itself."""
    first_settled = Statement.objects.filter(
        contract=OuterRef("pk"), period_start__lte=OuterRef("start_date")
    )
    contracts = _swept(contract_ids).filter(start_date__lt=reach(now))
    return list(contracts.filter(~Exists(first_settled)).order_by("pk"))


# Contract periods (or contracts, for early warnings) per task: a task reads its inputs
# with a constant number of queries and writes its statements with two statements, so
# larger chunks mean fewer round trips; a small backlog is still spread over SWEEP_SPREAD
# tasks at least, so that as many workers can share it.
SWEEP_CHUNK = 100
SWEEP_SPREAD = 16


def _chunk_size(count: int) -> int:
    return max(1, min(SWEEP_CHUNK, math.ceil(count / SWEEP_SPREAD)))


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def sweep(now: datetime | None = None) -> int:
    """Enqueue the settlement of every due contract period in chunks (see
    ``SWEEP_CHUNK``), then the early warnings of active contracts in chunks; returns the
    number of due contract periods found.

    Publishing happens after the surrounding transaction commits (at once outside one).
    Running several sweeps at once is harmless: a task finds the statements another one
    issued and returns them. If the broker goes away, publishing stops and the rest is left
    for the next sweep: the database still says those periods are due.
    """
    now = now or timezone.now()
    advance_settled_through()
    pairs = [[contract_id, start.isoformat()] for contract_id, start in due_periods(now)]
    behind = left_to_backfill(now)
    if behind:
        logger.warning(
            "Sweep: %d contract(s) have periods before %s without statements, further back "
            "than SETTLEMENT_LOOKBACK_DAYS (%d days): the sweep leaves them to an operator's "
            "`manage.py settle --backfill --confirm` (first: %s)",
            len(behind),
            reach(now),
            settings.SETTLEMENT_LOOKBACK_DAYS,
            ", ".join(c.reference for c in behind[:5]),
        )
    due = list(_chunks(pairs, _chunk_size(len(pairs))))
    contract_ids = list(
        Contract.objects.filter(status=Contract.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    active = list(_chunks(contract_ids, _chunk_size(len(contract_ids))))
    found = len(pairs)

    def publish() -> None:
        published = 0
        try:
            for chunk in due:
                signature(SETTLE_TASK, args=(chunk,)).apply_async()
                published += len(chunk)
            for contract_ids in active:
                signature(WARN_TASK, args=(contract_ids,)).apply_async()
        except (BrokerError, ConnectionError, OSError) as exc:
            logger.warning(
                "Sweep: the broker is unavailable (%s); %d of %d due contract periods "
                "enqueued, the next sweep picks up the rest",
                exc,
                published,
                found,
            )
            return
        logger.info("Sweep at %s: %d due contract periods enqueued", now, published)

    transaction.on_commit(publish, robust=True)
    return found


@dataclass(frozen=True, slots=True)
class ChunkSettled:
    """How a chunk of contract periods ended: statements issued, found already issued, and
    periods that could not be settled."""

    issued: int
    existing: int
    refused: int

    def __str__(self) -> str:
        return f"{self.issued} issued, {self.existing} already issued, {self.refused} not settled"


def settle_chunk(pairs: Sequence[tuple[int, date]]) -> ChunkSettled:
    """Settle a chunk of (contract id, period start) pairs found due by the sweep, each
    unless it already has a statement (a duplicate or redelivered message then does
    nothing). New statements are announced through the outbox and the notification queue,
    so that settling never waits behind e-mail.

    Should the chunk fail for another reason than a transient database error, its pairs are
    settled one by one, so that one bad period never holds back the others; a period that
    cannot be settled is logged, and the next sweep finds it again if it is still due.
    """
    try:
        outcomes = settle_periods(pairs, only_if_unsettled=True, announce="queued")
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception:
        logger.exception("A chunk of %d contract periods failed: settling one by one", len(pairs))
        outcomes = [_settle_alone(pair) for pair in pairs]
    issued = sum(isinstance(o, SettlementResult) and o.created for o in outcomes)
    refused = 0
    for outcome in outcomes:
        if isinstance(outcome, SettlementError):
            refused += 1
            logger.warning("Not settled: %s", outcome)
    return ChunkSettled(issued, len(outcomes) - issued - refused, refused)


def _settle_alone(pair: tuple[int, date]) -> SettlementResult | SettlementError:
    try:
        (outcome,) = settle_periods([pair], only_if_unsettled=True, announce="queued")
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception as exc:
        logger.exception("Contract %s, period %s: not settled", *pair)
        return SettlementError(f"Contract {pair[0]}, period {pair[1]}: {exc}")
    return outcome


def warn_chunk(contract_ids: Sequence[int]) -> list[EarlyWarning]:
    """Early warnings and progress for a chunk of contracts' open periods (see
    :func:`~credits.settlement.early_warning.warn_open_periods`); returns the new warnings.
    Should the chunk fail, its contracts are warned one by one."""
    contracts = list(Contract.objects.filter(pk__in=contract_ids).order_by("pk"))
    try:
        return warn_open_periods(contracts)
    except NOT_THE_CHUNKS_FAULT:
        raise
    except Exception:
        logger.exception("Early warnings of %d contracts failed: one by one", len(contracts))
    warned: list[EarlyWarning] = []
    for contract in contracts:
        try:
            warned += warn_open_periods([contract])
        except NOT_THE_CHUNKS_FAULT:
            raise
        except Exception:
            logger.exception("No early warning for contract %s", contract.pk)
    return warned
