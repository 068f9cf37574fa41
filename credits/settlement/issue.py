"""Issuing statements: settling contract periods in one transaction, idempotently.

Settlers of one contract are serialised by a row lock on the contract (a batch locks its
contracts in id order); a fingerprint of everything that determines a statement tells
"nothing changed" (return the latest revision) from "late data or a corrected rule" (a new
revision, the old one kept: issued statements are immutable). The unique constraint
(contract, period_start, revision) makes a duplicate impossible even for a writer that
skipped the lock. A batch writes its statements with one insert and their lines with one
``COPY``. A ticket line keeps its counts, its worst tickets and the digest of every ticket
it counted; its drill-down reads the tickets' clocks again and says so when they changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

import engine
from contracts.models import Contract
from credits.models import ChronicFailure, Statement, StatementAdjustment, StatementLine
from credits.settlement.announce import (
    Announce,
    announce_chronic_failures,
    announce_statement,
    queue_announcements,
)
from credits.settlement.compute import compute_many
from credits.settlement.history import BatchHistory
from credits.settlement.inputs import Job
from credits.settlement.periods import check_settleable
from credits.settlement.results import (
    ComputedStatement,
    SettlementError,
    SettlementResult,
    rule_json,
)
from slaportal.db import insert_rows

logger = logging.getLogger(__name__)

_LINE_FIELDS = (
    "statement",
    "contract_service",
    "service_level",
    "key",
    "name",
    "source_level",
    "indicator",
    "comparator",
    "target",
    "credit_rule",
    "measure",
    "attainment",
    "met",
    "fee",
    "credit_percent",
    "amount",
    "held",
    "explanation",
    "explanation_parts",
)


def _write_many(items: Sequence[tuple[ComputedStatement, int]], now: datetime) -> list[Statement]:
    """Insert the statements, then all their lines: two queries for any number."""
    statements = Statement.objects.bulk_create(
        [
            Statement(
                contract=computed.contract,
                period_start=computed.period.start,
                period_end=computed.period.end,
                revision=revision,
                currency=computed.currency,
                fees_total=computed.fees_total,
                at_risk_amount=computed.at_risk_amount,
                credit_total=computed.credit_total,
                cap_adjustment=computed.cap_adjustment,
                fingerprint=computed.fingerprint,
                terms_change=computed.terms_change,
                issued_at=now,
            )
            for computed, revision in items
        ]
    )
    adjustments = [
        StatementAdjustment(
            statement=statement,
            position=position,
            kind=row.kind,
            amount=row.amount,
            explanation=row.explanation,
            explanation_parts=row.parts,
            dispute_id=row.dispute,
            claim_id=row.claim,
        )
        for statement, (computed, _revision) in zip(statements, items, strict=True)
        for position, row in enumerate(computed.adjustments, start=1)
    ]
    if adjustments:
        StatementAdjustment.objects.bulk_create(adjustments)
    insert_rows(
        StatementLine,
        _LINE_FIELDS,
        (
            (
                statement.pk,
                line.contract_service.pk,
                line.service_level.pk,
                line.objective.key,
                line.objective.name,
                line.service_level.level,
                line.objective.indicator,
                line.objective.comparator,
                line.objective.target,
                rule_json(line.objective.rule),
                line.figures,
                engine.stored_attainment(line.result.attainment),
                line.result.met,
                line.result.fee,
                line.result.credit_percent,
                line.result.amount,
                computed.held_of(line),
                line.explanation,
                line.parts,
            )
            for statement, (computed, _revision) in zip(statements, items, strict=True)
            for line in computed.lines
        ),
    )
    return statements


def settle_period(
    *,
    contract: Contract,
    period_start: date,
    now: datetime | None = None,
    only_if_unsettled: bool = False,
    announce: Announce = True,
) -> SettlementResult:
    """Issue the statement of one contract period, or return the one already issued.

    In one transaction, with the contract row locked so that settlers of one contract take
    turns: compute the period; if its latest revision has the same fingerprint, return it
    (``created`` False); otherwise insert the next revision with its lines. After commit,
    both parties are told (and the provider warned of objectives without data) unless
    ``announce`` is False (``"queued"``: see :func:`settle_periods`). ``only_if_unsettled``
    (the sweep's tasks) returns any existing
    revision without recomputing: a redelivered task never issues a revision. Raises
    :class:`SettlementError` for a period that cannot be settled (see
    :func:`check_settleable`).
    """
    (outcome,) = settle_periods(
        [(contract.pk, period_start)],
        now=now,
        only_if_unsettled=only_if_unsettled,
        announce=announce,
    )
    if isinstance(outcome, SettlementError):
        raise outcome
    return outcome


def _latest_statements(keys: Iterable[tuple[int, date]]) -> dict[tuple[int, date], Statement]:
    """The latest revision of each (contract id, period start) that has one; one query."""
    keys = set(keys)
    if not keys:
        return {}
    latest: dict[tuple[int, date], Statement] = {}
    candidates = Statement.objects.filter(
        contract_id__in={contract_id for contract_id, _ in keys},
        period_start__in={start for _, start in keys},
    ).order_by("contract_id", "period_start", "revision")
    for statement in candidates:
        key = (statement.contract_id, statement.period_start)
        if key in keys:
            latest[key] = statement
    return latest


def settle_periods(
    pairs: Sequence[tuple[int, date]],
    *,
    now: datetime | None = None,
    only_if_unsettled: bool = False,
    announce: Announce = True,
) -> list[SettlementResult | SettlementError]:
    """:func:`settle_period` for many (contract id, period start) pairs at once, with the
    same guarantees, in one transaction and a constant number of queries: what a sweep task
    settles in one go. Returns, in order, each pair's result or the
    :class:`SettlementError` saying why it could not be settled (a period, a date or a rule
    that cannot be settled; the other pairs are settled). Any other error undoes the batch.

    ``announce``: True tells both parties once committed, in this process; ``"queued"``
    writes each new statement's announcement in the same transaction (the outbox) and
    hands it to the notification queue once committed; False tells nobody.
    """
    now = now or timezone.now()
    outcomes: dict[tuple[int, date], SettlementResult | SettlementError] = {}
    with transaction.atomic():
        # Locked in id order, so that two settlers of overlapping batches never deadlock.
        locked = {
            contract.pk: contract
            for contract in Contract.objects.select_for_update(no_key=True)
            .filter(pk__in={contract_id for contract_id, _ in pairs})
            .order_by("pk")
        }
        periods: dict[tuple[int, date], engine.Period] = {}
        for contract_id, start in dict.fromkeys(pairs):
            contract = locked.get(contract_id)
            try:
                if contract is None:
                    raise SettlementError(f"Contract {contract_id} does not exist.")
                periods[(contract_id, start)] = check_settleable(
                    contract=contract, period_start=start, now=now
                )
            except SettlementError as exc:
                outcomes[(contract_id, start)] = exc
        latest = _latest_statements(periods)
        jobs = {}
        for key, period in periods.items():
            previous = latest.get(key)
            if previous is not None and only_if_unsettled:
                outcomes[key] = SettlementResult(previous, created=False)
            else:
                jobs[key] = Job(locked[key[0]], period, period.end_at, settling=True)
        to_write: dict[tuple[int, date], tuple[ComputedStatement, int]] = {}
        history = BatchHistory()
        for key, computed in zip(
            jobs, compute_many(list(jobs.values()), history=history), strict=True
        ):
            previous = latest.get(key)
            if isinstance(computed, SettlementError):
                outcomes[key] = computed
            elif previous is not None and previous.fingerprint == computed.fingerprint:
                outcomes[key] = SettlementResult(previous, created=False)
            else:
                to_write[key] = (computed, previous.revision + 1 if previous else 1)
        to_write |= _settle_later(history, to_write, set(jobs), locked, now)
        if to_write:
            issued = []
            for key, result in _insert(to_write, now).items():
                outcomes[key] = result
                if result.created:
                    issued.append(result)
            failures = _record_chronic_failures(to_write, outcomes, now)
            if announce == "queued":
                queue_announcements(issued, now)
            elif announce:
                for result in issued:
                    announce_statement(result.statement, result.has_no_data)
            announce_chronic_failures(failures, announce)
    for outcome in outcomes.values():
        if isinstance(outcome, SettlementResult) and outcome.created:
            statement = outcome.statement
            logger.debug(
                "%s issued: credit %s %s", statement, statement.credit_total, statement.currency
            )
    return [outcomes[pair] for pair in pairs]


def _settle_later(
    history: BatchHistory,
    changed: Mapping[tuple[int, date], tuple[ComputedStatement, int]],
    done: set[tuple[int, date]],
    locked: Mapping[int, Contract],
    now: datetime,
) -> dict[tuple[int, date], tuple[ComputedStatement, int]]:
    """The new revisions of the periods issued after a period that changes: their
    earn-back and chronic failure read it (credits.settlement.history). Each is computed
    again on the batch's history; a revision only where its figures change, which may
    change the ones after it in turn."""
    written: dict[tuple[int, date], tuple[ComputedStatement, int]] = {}
    pending = [key for key in changed if key[0] in history.contracts]
    done = set(done)
    while pending:
        jobs: dict[tuple[int, date], Job] = {}
        for contract_id, start in pending:
            for later in history.later_settled(contract_id, start):
                key = (contract_id, later)
                if key in done or key in jobs:
                    continue
                try:
                    period = check_settleable(
                        contract=locked[contract_id], period_start=later, now=now
                    )
                except SettlementError:
                    continue  # out of the portal's reach now: left as issued
                jobs[key] = Job(locked[contract_id], period, period.end_at, settling=True)
        if not jobs:
            break
        done |= set(jobs)
        latest = _latest_statements(jobs)
        pending = []
        for key, computed in zip(
            jobs, compute_many(list(jobs.values()), history=history), strict=True
        ):
            previous = latest.get(key)
            if isinstance(computed, SettlementError):
                logger.warning("%s not settled again: %s", key, computed)
            elif previous is None or previous.fingerprint != computed.fingerprint:
                written[key] = (computed, previous.revision + 1 if previous else 1)
                pending.append(key)
    return written


def _record_chronic_failures(
    to_write: Mapping[tuple[int, date], tuple[ComputedStatement, int]],
    outcomes: Mapping[tuple[int, date], SettlementResult | SettlementError],
    now: datetime,
) -> list[ChronicFailure]:
    """Record the chronic failures the new statements found, each once per objective and
    period (a revision finding it again records nothing); returns those recorded now."""
    found = []
    for key, (computed, _revision) in to_write.items():
        result = outcomes.get(key)
        if not isinstance(result, SettlementResult) or not result.created:
            continue
        names = {(line.contract_service.pk, line.objective.key): line for line in computed.lines}
        for finding in computed.chronic:
            found.append((computed, result.statement, finding, names[finding.key]))
    if not found:
        return []
    recorded = set(
        ChronicFailure.objects.filter(
            contract_service_id__in={finding.key[0] for _c, _s, finding, _l in found},
            period_start__in={computed.period.start for computed, _s, _f, _l in found},
        ).values_list("contract_service_id", "key", "period_start")
    )
    failures = [
        ChronicFailure(
            contract=computed.contract,
            contract_service_id=finding.key[0],
            key=finding.key[1],
            name=line.objective.label,
            period_start=computed.period.start,
            period_end=computed.period.end,
            breaches=finding.breaches,
            window=finding.window,
            explanation=finding.explanation,
            explanation_parts=finding.parts,
            statement=statement,
            found_at=now,
        )
        for computed, statement, finding, line in found
        if (*finding.key, computed.period.start) not in recorded
    ]
    return ChronicFailure.objects.bulk_create(failures)


def _insert(
    to_write: Mapping[tuple[int, date], tuple[ComputedStatement, int]], now: datetime
) -> dict[tuple[int, date], SettlementResult]:
    """Write the new revisions; should a writer that skipped the lock have written one of
    them first, its revision wins and the others are written one by one."""
    try:
        with transaction.atomic():
            statements = _write_many(list(to_write.values()), now)
        return {
            key: SettlementResult(statement, created=True, has_no_data=computed.has_no_data)
            for (key, (computed, _revision)), statement in zip(
                to_write.items(), statements, strict=True
            )
        }
    except IntegrityError:
        if len(to_write) == 1:
            key, (_computed, revision) = next(iter(to_write.items()))
            winner = Statement.objects.filter(
                contract_id=key[0], period_start=key[1], revision=revision
            ).first()
            if winner is None:
                raise
            return {key: SettlementResult(winner, created=False)}
    results = {}
    for key, item in to_write.items():
        results |= _insert({key: item}, now)
    return results
