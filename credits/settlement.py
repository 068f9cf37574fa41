"""Settlement: loads contract periods' data, calls the engine, writes statements.

Contract periods are settled in batches (one alone is a batch of one), from three kinds of
input, all read in a constant number of queries whatever the number of periods, services
or samples: the effective objectives of each contract service (:mod:`contracts.selectors`),
the samples' figures aggregated in the database (one query for all the batch's objectives,
and one for the samples inside the customers' lapses, which are subtracted), and the
intervals that shape uptime (provider incidents, maintenance windows, lapses of the
customer's responsibilities). The engine does the arithmetic; this module stores its
result as immutable ``Statement`` rows: one insert of the statements, one ``COPY`` of
their lines.

Idempotence and concurrency. Settlers of one contract are serialised by a row lock on the
contract (a batch locks its contracts in id order); a fingerprint of everything that
determines a statement tells "nothing changed" (return the latest revision) from "late data
or a corrected rule" (a new revision, the old one kept). The unique constraint (contract,
period_start, revision) makes a duplicate impossible even for a writer that skipped the
lock.

The sweep is driven by database state, not by messages arriving exactly once: every
sweep asks which closed periods have no statement yet and enqueues them in chunks (one task
per chunk of up to ``SWEEP_CHUNK`` contract periods, spread over enough tasks for many
workers), so a lost message or a missed sweep is caught up by the next one. The statements
it issues are announced through an outbox (``PendingAnnouncement``) written with them.

Which contracts the sweep settles: ``active`` and ``suspended`` ones (a suspension pauses
the service, not the agreement: the periods that closed before and during it still get a
statement), and ``terminated`` ones up to their end date (their last periods are still
owed). Drafts never. Early warnings only concern ``active`` contracts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

import engine
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    ResponsibilityLapse,
    ServiceLevel,
)
from contracts.selectors import EffectiveServiceLevels, effective_service_levels_of
from credits import notify
from credits.models import EarlyWarning, PendingAnnouncement, Statement, StatementLine
from credits.progress import record_progress
from slaportal.db import insert_rows

logger = logging.getLogger(__name__)

__all__ = [
    "ComputedLine",
    "ComputedStatement",
    "SettlementError",
    "SettlementResult",
    "check_settleable",
    "closed_periods",
    "compute_period",
    "due_periods",
    "settle_period",
    "settle_periods",
    "sweep",
    "warn_early",
    "warn_open_periods",
]

SETTLED_STATUSES = (
    Contract.Status.ACTIVE,
    Contract.Status.SUSPENDED,
    Contract.Status.TERMINATED,
)
PERIOD_ADJECTIVE = {"week": "weekly", "month": "monthly", "quarter": "quarterly"}
Instants = tuple[datetime, datetime]
T = TypeVar("T")


class SettlementError(ValueError):
    """A contract period that cannot be settled; the message says why, in one sentence."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ComputedLine:
    """One (contract service, effective objective) of a period, as the engine judged it."""

    contract_service: ContractService
    service_level: ServiceLevel
    objective: engine.Objective
    measure: engine.Measure
    # The exact figures the attainment comes from, stored as the line's ``measure``.
    figures: dict[str, object]
    result: engine.LineResult
    explanation: str

    @property
    def no_data(self) -> bool:
        return self.result.attainment is None

    def snapshot(self) -> dict[str, object]:
        """Everything about this line that a statement depends on (explanation excluded:
        a change of wording alone must not issue a new revision)."""
        objective = self.objective
        return {
            "contract_service": self.contract_service.pk,
            "service_level": self.service_level.pk,
            "source_level": self.service_level.level,
            "objective": {
                "key": objective.key,
                "name": objective.name,
                "indicator": objective.indicator,
                "comparator": objective.comparator,
                "target": _canonical(objective.target),
                "threshold": _canonical(objective.threshold),
                "threshold_comparator": objective.threshold_comparator,
                "rule": _rule_json(objective.rule),
            },
            "measure": self.figures,
            "fee": str(self.result.fee),
            "attainment": _fraction_text(self.result.attainment),
            "met": self.result.met,
            "credit_percent": _canonical(self.result.credit_percent),
            "amount": str(self.result.amount),
        }


@dataclass(frozen=True, slots=True)
class ComputedStatement:
    """What a statement of the period would say, computed without writing anything."""

    contract: Contract
    period: engine.Period
    currency: str
    lines: list[ComputedLine]
    fees_total: Decimal
    at_risk_amount: Decimal | None
    credit_total: Decimal
    cap_adjustment: Decimal
    cap_explanation: str
    fingerprint: str

    @property
    def has_no_data(self) -> bool:
        return any(line.no_data for line in self.lines)


@dataclass(frozen=True, slots=True)
class SettlementResult:
    statement: Statement
    created: bool
    # Some objectives had no data (their provider is told so when the statement is new).
    has_no_data: bool = False


# --------------------------------------------------------------------------- periods


def _local_midnight(day: date, tz: str) -> datetime:
    # The same construction as engine.Period.start_at, so both agree at DST changes.
    return engine.Period(day, day, tz).start_at


def _local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def _describe(period: engine.Period) -> str:
    return f"{period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}"


def _period_of(contract: Contract, period_start: date) -> engine.Period:
    """The contract's period starting on ``period_start`` and overlapping its active days."""
    if isinstance(period_start, datetime) or not isinstance(period_start, date):
        raise SettlementError(f"{period_start!r} is not a date.")
    kind = contract.settlement_period
    period = engine.period_containing(period_start, kind, contract.timezone)
    if period.start != period_start:
        raise SettlementError(
            f"{period_start:%Y-%m-%d} is not the start of a {PERIOD_ADJECTIVE[kind]} "
            f"settlement period of {contract.reference}: the period containing it starts on "
            f"{period.start:%Y-%m-%d}."
        )
    if period.end < contract.start_date:
        raise SettlementError(
            f"{contract.reference} starts on {contract.start_date:%Y-%m-%d}: the period "
            f"{_describe(period)} is before it."
        )
    if contract.end_date is not None and period.start > contract.end_date:
        raise SettlementError(
            f"{contract.reference} ended on {contract.end_date:%Y-%m-%d}: the period "
            f"{_describe(period)} is after it."
        )
    return period


def check_settleable(*, contract: Contract, period_start: date, now: datetime) -> engine.Period:
    """The period to settle, or :class:`SettlementError` saying why it cannot be settled:
    a draft contract, a date that is not a period start, a period outside the contract's
    dates, or a period that has not ended yet in the contract's time zone (a manual
    settlement does not wait for ``settlement_delay_days``; the sweep does)."""
    if contract.status not in SETTLED_STATUSES:
        raise SettlementError(
            f"{contract.reference} is a {contract.status} contract: only active, suspended "
            "and terminated contracts are settled."
        )
    if isinstance(period_start, date) and period_start > _local_today(now, contract.timezone):
        # Checked before the period's instants, which overflow near the end of the calendar.
        raise SettlementError(
            f"The period starting {period_start:%Y-%m-%d} of {contract.reference} has not "
            "started yet."
        )
    period = _period_of(contract, period_start)
    if period.end_at > now:
        raise SettlementError(
            f"The period {_describe(period)} of {contract.reference} has not ended yet: it "
            f"ends at {period.end_at:%Y-%m-%d %H:%M} ({contract.timezone})."
        )
    return period


def settle_after(
    contract: Contract, period: engine.Period, *, ignore_delay: bool = False
) -> datetime:
    """When the sweep may settle ``period``: local midnight ``settlement_delay_days`` after
    it ends (``ignore_delay``: as soon as it ends)."""
    delay = 0 if ignore_delay else contract.settlement_delay_days
    return _local_midnight(period.end + timedelta(days=1 + delay), contract.timezone)


def closed_periods(
    contract: Contract, count: int, now: datetime | None = None
) -> list[engine.Period]:
    """The last ``count`` periods of the contract that have ended by ``now`` and overlap its
    active days, oldest first (what the what-if preview recomputes)."""
    now = now or timezone.now()
    kind, tz = contract.settlement_period, contract.timezone
    period = engine.period_containing(_local_today(now, tz), kind, tz)
    found: list[engine.Period] = []
    while len(found) < count:
        if period.end_at <= now:
            if period.end < contract.start_date:
                break
            if contract.end_date is None or period.start <= contract.end_date:
                found.append(period)
        period = engine.previous_period(period, kind)
    return found[::-1]


# --------------------------------------------------------------------------- measuring


@dataclass(slots=True)
class _Target:
    """One effective objective of one contract service, and the relief that applies to it."""

    contract_service: ContractService
    service_level: ServiceLevel
    objective: engine.Objective
    linked_ids: set[int]
    relief: list[Instants] = field(default_factory=list)


Measured = list[tuple[_Target, engine.Measure, dict[str, object]]]


@dataclass(frozen=True, slots=True)
class _Job:
    """One contract period to measure, from its start up to ``until`` (the period's end for
    a statement, now for an open period)."""

    contract: Contract
    period: engine.Period
    until: datetime
    overrides: Mapping[int, engine.Objective] | None = None


@dataclass(slots=True)
class _Plan:
    """A job with its contract services, targets and the instants its samples come from."""

    job: _Job
    contract_services: list[ContractService]
    targets: list[_Target]
    active: Instants | None
    # [low, high): the active part of the period up to ``until``; None: nothing to measure.
    window: Instants | None
    error: SettlementError | None = None


def _targets(
    entries: Sequence[EffectiveServiceLevels],
    overrides: Mapping[int, engine.Objective],
    objectives: dict[int, engine.Objective],
) -> list[_Target]:
    """Every (contract service, effective objective) of one contract; ``objectives`` keeps
    each objective parsed once for all the contracts that share it."""
    targets = []
    for entry in entries:
        for level in entry.service_levels:
            objective = overrides.get(level.pk) or objectives.get(level.pk)
            if objective is None:
                objective = objectives[level.pk] = level.as_objective()
            # A lapse linked to any objective of this key that applies to the service (the
            # one in force or one it refines) relieves the provider: refining an objective
            # for one service does not cancel the customer's obligation behind it.
            linked = {candidate.pk for candidate in entry.candidates.get(level.key, [level])}
            targets.append(
                _Target(
                    contract_service=entry.contract_service,
                    service_level=level,
                    objective=objective,
                    linked_ids=linked,
                )
            )
    return targets


def _plans(jobs: Sequence[_Job]) -> list[_Plan]:
    """The jobs' contract services and targets; two queries for any number of jobs."""
    effective = effective_service_levels_of(
        {job.contract.pk: job.contract for job in jobs}.values()
    )
    plans = []
    objectives: dict[int, engine.Objective] = {}
    for job in jobs:
        contract = job.contract
        entries = effective[contract.pk]
        contract_services = [entry.contract_service for entry in entries]
        try:
            targets = _targets(entries, job.overrides or {}, objectives)
        except engine.ParameterError as exc:
            # A stored rule the engine refuses: this contract cannot be measured, the
            # others of the batch can.
            error = SettlementError(f"{contract.reference}: {exc}")
            plans.append(_Plan(job, contract_services, [], None, None, error))
            continue
        active = engine.active_interval(job.period, contract.start_date, contract.end_date)
        window = None
        if active is not None and targets:
            window = (active[0], min(active[1], job.until))
        plans.append(_Plan(job, contract_services, targets, active, window))
    return plans


def _span(plans: Sequence[_Plan]) -> Instants:
    return min(plan.window[0] for plan in plans), max(plan.window[1] for plan in plans)


def _overlaps(start: datetime, end: datetime, window: Instants) -> bool:
    return start < window[1] and end > window[0]


def _attach_relief(plans: Sequence[_Plan]) -> None:
    """Lapses of the customers' responsibilities within each plan's window; one query."""
    low, high = _span(plans)
    by_contract: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    lapses = ResponsibilityLapse.objects.filter(
        responsibility__contract__in={plan.job.contract.pk for plan in plans},
        responsibility__service_levels__isnull=False,
        start__lt=high,
        end__gt=low,
    ).values_list("responsibility__contract_id", "start", "end", "responsibility__service_levels")
    for contract_id, start, end, level_id in lapses:
        by_contract[contract_id].append((start, end, level_id))
    for plan in plans:
        by_level: dict[int, set[Instants]] = defaultdict(set)
        for start, end, level_id in by_contract.get(plan.job.contract.pk, []):
            if _overlaps(start, end, plan.window):
                by_level[level_id].add((start, end))
        for target in plan.targets:
            intervals: set[Instants] = set()
            for level_id in target.linked_ids:
                intervals |= by_level.get(level_id, set())
            target.relief = sorted(intervals)


def _and(left: Q | None, right: Q) -> Q:
    return right if left is None else left & right


def _sample_aggregates(
    targets: Sequence[_Target], low: datetime, high: datetime
) -> dict[tuple[int, str], dict[str, object]]:
    """Per (contract service, key) of one contract period, its sample figures, in one
    ``GROUP BY`` query that any database runs (the reference for the batched query)."""
    scope, meeting, relief = Q(), Q(), Q()
    for target in targets:
        pair = Q(contract_service_id=target.contract_service.pk, key=target.objective.key)
        scope |= pair
        objective = target.objective
        if objective.indicator == "threshold":
            meeting |= pair & Q(**{f"value__{objective.threshold_comparator}": objective.threshold})
        for start, end in target.relief:
            relief |= pair & Q(observed_at__gte=start, observed_at__lt=end)
    kept = ~relief if relief else None
    value = Coalesce(
        "value", Value(Decimal(1)), output_field=DecimalField(max_digits=20, decimal_places=6)
    )
    annotations: dict[str, object] = {
        "samples": Count("id", filter=kept),
        # A ratio sample that does not say ok or not cannot be judged; it is not counted.
        "judged": Count("ok", filter=kept),
        "ok_count": Count("id", filter=_and(kept, Q(ok=True))),
        "valued": Count("value", filter=kept),
        "value_sum": Sum(value, filter=kept),
    }
    if meeting:
        annotations["meeting"] = Count("id", filter=_and(kept, meeting))
    if relief:
        annotations["relieved"] = Count("id", filter=relief)
    rows = (
        Measurement.objects.filter(scope, observed_at__gte=low, observed_at__lt=high)
        .order_by()
        .values("contract_service_id", "key")
        .annotate(**annotations)
    )
    return {(row["contract_service_id"], row["key"]): row for row in rows}


# The sample figures of many (target, interval) rows in one query: the rows travel as
# arrays and each aggregates its own range of the (contract service, key, observed_at)
# index in a lateral subquery, which needs neither a sort nor a hash over the samples.
_BATCH_AGGREGATES_SQL = """
SELECT t.idx, a.samples, a.judged, a.ok_count, a.valued, a.value_sum, a.meeting
FROM unnest(%(idx)s::int[], %(cs)s::bigint[], %(key)s::text[], %(low)s::timestamptz[],
            %(high)s::timestamptz[], %(thr)s::numeric[], %(cmp)s::text[])
     AS t(idx, cs, key, low, high, thr, cmp)
CROSS JOIN LATERAL (
    SELECT count(*) AS samples,
           count(m.ok) AS judged,
           count(*) FILTER (WHERE m.ok) AS ok_count,
           count(m.value) AS valued,
           sum(coalesce(m.value, 1)) AS value_sum,
           count(*) FILTER (WHERE CASE t.cmp WHEN 'gte' THEN m.value >= t.thr
                                             WHEN 'lte' THEN m.value <= t.thr END) AS meeting
    FROM contracts_measurement m
    WHERE m.contract_service_id = t.cs AND m.key = t.key
      AND m.observed_at >= t.low AND m.observed_at < t.high
) AS a
"""
_COUNTED = ("samples", "judged", "ok_count", "valued", "value_sum", "meeting")


def _merged(intervals: Iterable[Instants], window: Instants) -> list[Instants]:
    """The intervals clipped to the window, overlapping ones merged: disjoint, sorted."""
    merged: list[Instants] = []
    for start, end in sorted(intervals):
        start, end = max(start, window[0]), min(end, window[1])
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _interval_aggregates(
    rows: Sequence[tuple[int, _Target, Instants]], size: int
) -> list[dict[str, object]]:
    """Per index below ``size``, the figures of its (target, interval) rows added up."""
    params: dict[str, list[object]] = defaultdict(list)
    for idx, target, (low, high) in rows:
        objective = target.objective
        threshold = objective.indicator == "threshold"
        params["idx"].append(idx)
        params["cs"].append(target.contract_service.pk)
        params["key"].append(objective.key)
        params["low"].append(low)
        params["high"].append(high)
        params["thr"].append(objective.threshold if threshold else None)
        params["cmp"].append(objective.threshold_comparator if threshold else None)
    totals: list[dict[str, object]] = [dict.fromkeys(_COUNTED, 0) for _ in range(size)]
    if not rows:
        return totals
    with connection.cursor() as cursor:
        cursor.execute(_BATCH_AGGREGATES_SQL, params)
        for idx, *figures in cursor.fetchall():
            for name, value in zip(_COUNTED, figures, strict=True):
                totals[idx][name] += value or 0
    return totals


def _batch_aggregates(
    sampled: Sequence[tuple[_Target, Instants]],
) -> list[dict[str, object]]:
    """The figures of every (target, window), in order, samples within the relief of a
    target left out: two queries (PostgreSQL). The samples inside the relief intervals are
    counted apart and subtracted, which keeps the relief off the main query's path."""
    whole = _interval_aggregates(
        [(idx, target, window) for idx, (target, window) in enumerate(sampled)], len(sampled)
    )
    relieved = _interval_aggregates(
        [
            (idx, target, interval)
            for idx, (target, window) in enumerate(sampled)
            for interval in _merged(target.relief, window)
        ],
        len(sampled),
    )
    figures = []
    for total, inside in zip(whole, relieved, strict=True):
        kept = {name: total[name] - inside[name] for name in _COUNTED}
        if not kept["samples"]:
            kept["value_sum"] = None  # as SUM over no row says
        kept["relieved"] = inside["samples"]
        figures.append(kept)
    return figures


def _aggregates(plans: Sequence[_Plan]) -> dict[tuple[int, int], dict[str, object]]:
    """Per (plan index, target index), the sample figures of the plan's window."""
    sampled = [
        (p, t, target)
        for p, plan in enumerate(plans)
        for t, target in enumerate(plan.targets)
        if plan.window is not None and target.objective.indicator != "uptime"
    ]
    if not sampled:
        return {}
    if connection.vendor == "postgresql":
        rows = _batch_aggregates([(target, plans[p].window) for p, _t, target in sampled])
        return {(p, t): row for (p, t, _target), row in zip(sampled, rows, strict=True)}
    # Other databases (SQLite, the laptop default): one query per contract period.
    result: dict[tuple[int, int], dict[str, object]] = {}
    for p, plan in enumerate(plans):
        targets = [(t, target) for q, t, target in sampled if q == p]
        if targets:
            by_pair = _sample_aggregates([target for _t, target in targets], *plan.window)
            for t, target in targets:
                pair = (target.contract_service.pk, target.objective.key)
                result[(p, t)] = by_pair.get(pair, {})
    return result


def _uptime_inputs(
    plans: Sequence[_Plan],
) -> tuple[
    dict[int, list[tuple[int | None, datetime, datetime]]], dict[tuple[int, str], list[Instants]]
]:
    """Maintenance windows per contract (service None: contract-wide) and provider incidents
    per (contract service, key) within the plans' span; two queries."""
    low, high = _span(plans)
    maintenance: dict[int, list[tuple[int | None, datetime, datetime]]] = defaultdict(list)
    windows = MaintenanceWindow.objects.filter(
        contract__in={plan.job.contract.pk for plan in plans}, start__lt=high, end__gt=low
    ).values_list("contract_id", "contract_service_id", "start", "end")
    for contract_id, cs_id, start, end in windows:
        maintenance[contract_id].append((cs_id, start, end))
    timed = [t for plan in plans for t in plan.targets if t.objective.indicator == "uptime"]
    incidents: dict[tuple[int, str], list[Instants]] = defaultdict(list)
    rows = Incident.objects.filter(
        contract_service_id__in={t.contract_service.pk for t in timed},
        key__in={t.objective.key for t in timed},
        cause=Incident.Cause.PROVIDER,
        started_at__lt=high,
        ended_at__gt=low,
    ).values_list("contract_service_id", "key", "started_at", "ended_at")
    for cs_id, key, start, end in rows:
        incidents[(cs_id, key)].append((start, end))
    return maintenance, incidents


def _measure_uptime(
    plan: _Plan,
    target: _Target,
    maintenance: Mapping[int, list[tuple[int | None, datetime, datetime]]],
    incidents: Mapping[tuple[int, str], list[Instants]],
) -> tuple[engine.Measure, dict[str, object]]:
    period, window = plan.job.period, plan.window
    cs_id = target.contract_service.pk
    windows = [
        (start, end)
        for scope, start, end in maintenance.get(plan.job.contract.pk, [])
        if scope in (None, cs_id) and _overlaps(start, end, window)
    ]
    down = [
        interval
        for interval in incidents.get((cs_id, target.objective.key), [])
        if _overlaps(*interval, window)
    ]
    end = min(period.end_at, plan.job.until)
    measure = engine.uptime_attainment(
        period.start_at, end, [plan.active], windows, down, target.relief
    )
    relieved = 0
    if target.relief:
        unrelieved = engine.uptime_attainment(period.start_at, end, [plan.active], windows, down)
        relieved = unrelieved.downtime_seconds - measure.downtime_seconds
    return measure, {
        "scheduled_seconds": measure.scheduled_seconds,
        "downtime_seconds": measure.downtime_seconds,
        "relieved_seconds": relieved,
    }


def _measure_samples(
    target: _Target, row: Mapping[str, object]
) -> tuple[engine.Measure, dict[str, object]]:
    indicator = target.objective.indicator
    figures: dict[str, object]
    measure: engine.Measure
    if indicator == "ratio":
        measure = engine.RatioMeasure(int(row.get("ok_count") or 0), int(row.get("judged") or 0))
        figures = {"ok": measure.ok, "total": measure.total}
    elif indicator == "threshold":
        measure = engine.ThresholdMeasure(int(row.get("meeting") or 0), int(row.get("valued") or 0))
        figures = {
            "meeting": measure.meeting,
            "total": measure.total,
            "threshold": _canonical(target.objective.threshold),
            "threshold_comparator": target.objective.threshold_comparator,
        }
    else:
        total = row.get("value_sum")
        measure = engine.CountMeasure(
            Decimal(total) if total is not None else Decimal(0), int(row.get("samples") or 0)
        )
        figures = {"total": _canonical(measure.total), "samples": measure.samples}
    figures["relieved_samples"] = int(row.get("relieved") or 0)
    return measure, figures


def _measure_many(
    jobs: Sequence[_Job],
) -> list[tuple[list[ContractService], Measured] | SettlementError]:
    """Every effective objective of each job's contract measured over its window, in order
    (or why that contract cannot be measured).

    A constant number of queries for any number of jobs: effective objectives (2), lapses,
    the samples' aggregates, maintenance windows and incidents (1 each).
    """
    plans = _plans(jobs)
    measured_plans = [plan for plan in plans if plan.window is not None]
    aggregates: dict[tuple[int, int], dict[str, object]] = {}
    maintenance: Mapping[int, list[tuple[int | None, datetime, datetime]]] = {}
    incidents: Mapping[tuple[int, str], list[Instants]] = {}
    if measured_plans:
        _attach_relief(measured_plans)
        aggregates = _aggregates(plans)
        if any(t.objective.indicator == "uptime" for p in measured_plans for t in p.targets):
            maintenance, incidents = _uptime_inputs(measured_plans)
    results: list[tuple[list[ContractService], Measured] | SettlementError] = []
    for p, plan in enumerate(plans):
        if plan.error is not None:
            results.append(plan.error)
            continue
        measured: Measured = []
        if plan.window is not None:
            for t, target in enumerate(plan.targets):
                if target.objective.indicator == "uptime":
                    measure, figures = _measure_uptime(plan, target, maintenance, incidents)
                else:
                    measure, figures = _measure_samples(target, aggregates.get((p, t), {}))
                measured.append((target, measure, figures))
        results.append((plan.contract_services, measured))
    return results


def _measure(
    contract: Contract,
    period: engine.Period,
    until: datetime,
    overrides: Mapping[int, engine.Objective],
) -> tuple[list[ContractService], Measured]:
    """Every effective objective of one contract measured from the period's start to
    ``until`` (the period's end for a statement, now for an early warning)."""
    outcome = _measure_many([_Job(contract, period, until, overrides)])[0]
    if isinstance(outcome, SettlementError):
        raise outcome
    return outcome


# --------------------------------------------------------------------------- computing


def _canonical(value: Decimal | None) -> str | None:
    """A decimal as text that does not depend on its stored scale (99.5000 → "99.5")."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def _rule_json(rule: engine.CreditRule | None) -> dict[str, object] | None:
    return None if rule is None else rule.to_json()


def _relief_note(indicator: str, figures: Mapping[str, object]) -> str:
    if indicator == "uptime":
        seconds = int(figures.get("relieved_seconds") or 0)
        if seconds:
            minutes = f"{seconds // 60:,} min" + (f" {seconds % 60} s" if seconds % 60 else "")
            return (
                f" Relief: {minutes} of downtime during a lapse of the customer's "
                "responsibilities is excluded."
            )
        return ""
    samples = int(figures.get("relieved_samples") or 0)
    if samples:
        return (
            f" Relief: {samples:,} sample{'s' if samples != 1 else ''} observed during a lapse "
            "of the customer's responsibilities "
            f"{'are' if samples != 1 else 'is'} excluded."
        )
    return ""


def compute_period(
    *,
    contract: Contract,
    period_start: date,
    objective_overrides: Mapping[int, engine.Objective] | None = None,
) -> ComputedStatement:
    """What the statement of the period starting on ``period_start`` says, without writing.

    A pure read: six queries per contract whatever the number of samples or services.
    ``objective_overrides`` (keyed by ServiceLevel id) substitutes an objective — a rule or
    a target being edited — for the what-if preview. Raises :class:`SettlementError` for a
    date that is not a period start, a period outside the contract's dates, or a rule the
    contract cannot honour (a pool rule without an at-risk amount).
    """
    period = _period_of(contract, period_start)
    outcome = _compute_many([_Job(contract, period, period.end_at, objective_overrides)])[0]
    if isinstance(outcome, SettlementError):
        raise outcome
    return outcome


def _compute_many(jobs: Sequence[_Job]) -> list[ComputedStatement | SettlementError]:
    """Each job's statement, or the reason it cannot be computed; the same six queries for
    any number of jobs."""
    outcomes: list[ComputedStatement | SettlementError] = []
    for job, measured in zip(jobs, _measure_many(jobs), strict=True):
        if isinstance(measured, SettlementError):
            outcomes.append(measured)
            continue
        try:
            outcomes.append(_evaluate(job.contract, job.period, *measured))
        except SettlementError as exc:
            outcomes.append(exc)
    return outcomes


def _evaluate(
    contract: Contract,
    period: engine.Period,
    contract_services: Sequence[ContractService],
    measured: Measured,
) -> ComputedStatement:
    """The engine's verdict on one measured contract period."""
    currency = contract.currency
    fraction = engine.active_fraction(period, contract.start_date, contract.end_date)
    fees = {cs.pk: engine.prorate(cs.fee, fraction) for cs in contract_services}
    fees_total = engine.quantize_money(
        sum((engine.quantize_money(fee, currency) for fee in fees.values()), Decimal(0)), currency
    )
    try:
        at_risk = engine.at_risk_amount(contract.credit_cap_percent, fees_total, currency)
    except engine.ParameterError as exc:
        raise SettlementError(f"{contract.reference}: {exc}") from None
    lines = []
    for target, measure, figures in measured:
        cs = target.contract_service
        try:
            # The statement names the period; a line needs its service, so the service goes
            # in the parenthesis after the objective's name.
            result = engine.evaluate(
                target.objective,
                measure,
                fee=fees[cs.pk],
                currency=currency,
                at_risk=at_risk,
                period_label=cs.service.name,
            )
        except engine.ParameterError as exc:
            raise SettlementError(
                f"{contract.reference}, {cs.service.name}, {target.objective.label}: {exc}"
            ) from None
        explanation = result.explanation + _relief_note(target.objective.indicator, figures)
        lines.append(
            ComputedLine(
                contract_service=cs,
                service_level=target.service_level,
                objective=target.objective,
                measure=measure,
                figures=figures,
                result=result,
                explanation=explanation,
            )
        )
    cap = engine.apply_cap([line.result.amount for line in lines], at_risk, currency)
    payload = {
        "contract": contract.pk,
        "period": [period.start.isoformat(), period.end.isoformat(), period.tz],
        "currency": currency,
        "credit_cap_percent": _canonical(contract.credit_cap_percent),
        "fees": {str(cs_id): _canonical(fee) for cs_id, fee in sorted(fees.items())},
        "fees_total": str(fees_total),
        "at_risk_amount": None if at_risk is None else str(at_risk),
        # Sorted by ids, not by display order: renaming a service must not look like a change.
        "lines": sorted(
            (line.snapshot() for line in lines),
            key=lambda snap: (snap["contract_service"], snap["objective"]["key"]),
        ),
        "credit_total": str(cap.credit_total),
        "cap_adjustment": str(cap.cap_adjustment),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return ComputedStatement(
        contract=contract,
        period=period,
        currency=currency,
        lines=lines,
        fees_total=fees_total,
        at_risk_amount=at_risk,
        credit_total=cap.credit_total,
        cap_adjustment=cap.cap_adjustment,
        cap_explanation=cap.explanation,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
    )


# --------------------------------------------------------------------------- settling


def _pause_for_fault_tests(statement: Statement) -> None:
    # Fault injection for the worker-kill test only: it must SIGKILL a worker in the
    # middle of a settlement. Read from the environment rather than settings because
    # settings.py only exposes the variables it reads, and this knob must never be a
    # setting anyone could leave on in production. Unset (the default) costs nothing.
    seconds = float(os.environ.get("SETTLEMENT_TEST_PAUSE_SECONDS") or 0)
    if seconds > 0:
        logger.warning(
            "SETTLEMENT_TEST_PAUSE_SECONDS: pausing %s s inside the settlement of %s",
            seconds,
            statement,
        )
        time.sleep(seconds)


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
    "explanation",
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
                issued_at=now,
            )
            for computed, revision in items
        ]
    )
    _pause_for_fault_tests(statements[0])
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
                _rule_json(line.objective.rule),
                line.figures,
                engine.stored_attainment(line.result.attainment),
                line.result.met,
                line.result.fee,
                line.result.credit_percent,
                line.result.amount,
                line.explanation,
            )
            for statement, (computed, _revision) in zip(statements, items, strict=True)
            for line in computed.lines
        ),
    )
    return statements


def _notify_on_commit(event: str, **ids: int) -> None:
    """Publish ``credits.notify.<event>`` once the transaction commits; a failing
    notification is logged and never undoes or fails the settlement (robust)."""

    def announce() -> None:
        # Looked up when called, not when registered: the publisher in force at commit.
        getattr(notify, event)(**ids)

    # A named function, not a partial: Django logs a robust callback's __qualname__.
    transaction.on_commit(announce, robust=True)


def announce_statement(statement: Statement, has_no_data: bool) -> None:
    """Tell both parties of a new statement (and the provider of objectives without data)
    once the transaction commits."""
    _notify_on_commit("statement_issued", statement_id=statement.pk)
    if has_no_data:
        _notify_on_commit("no_data", statement_id=statement.pk)


# How a settlement tells both parties of a new statement (see settle_periods).
Announce = bool | Literal["queued"]


def _queue_announcements(issued: Sequence[SettlementResult], now: datetime) -> None:
    """The outbox rows of new statements, and their hand-over once committed."""
    if not issued:
        return
    PendingAnnouncement.objects.bulk_create(
        [
            PendingAnnouncement(
                statement=r.statement, no_data=r.has_no_data, created_at=now, handed_at=now
            )
            for r in issued
        ]
    )
    ids = [r.statement.pk for r in issued]

    def hand_over() -> None:
        from credits.tasks import announce_statements  # the tasks import this module

        announce_statements.delay(ids)

    # robust: if the broker is away, the rows wait for the periodic catch-up.
    transaction.on_commit(hand_over, robust=True)


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
                jobs[key] = _Job(locked[key[0]], period, period.end_at)
        to_write: dict[tuple[int, date], tuple[ComputedStatement, int]] = {}
        for key, computed in zip(jobs, _compute_many(list(jobs.values())), strict=True):
            previous = latest.get(key)
            if isinstance(computed, SettlementError):
                outcomes[key] = computed
            elif previous is not None and previous.fingerprint == computed.fingerprint:
                outcomes[key] = SettlementResult(previous, created=False)
            else:
                to_write[key] = (computed, previous.revision + 1 if previous else 1)
        if to_write:
            issued = []
            for key, result in _insert(to_write, now).items():
                outcomes[key] = result
                if result.created:
                    issued.append(result)
            if announce == "queued":
                _queue_announcements(issued, now)
            elif announce:
                for result in issued:
                    announce_statement(result.statement, result.has_no_data)
    for outcome in outcomes.values():
        if isinstance(outcome, SettlementResult) and outcome.created:
            statement = outcome.statement
            logger.debug(
                "%s issued: credit %s %s", statement, statement.credit_total, statement.currency
            )
    return [outcomes[pair] for pair in pairs]


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


# --------------------------------------------------------------------------- the sweep


def _swept() -> Q:
    return Q(status__in=[Contract.Status.ACTIVE, Contract.Status.SUSPENDED]) | Q(
        status=Contract.Status.TERMINATED, end_date__isnull=False
    )


_DUE_SQL = """
WITH contract AS (
    SELECT c.id, c.start_date, c.end_date, c.timezone,
           CASE c.settlement_period WHEN 'week' THEN 'week' WHEN 'month' THEN 'month'
                ELSE 'quarter' END AS unit,
           CASE c.settlement_period WHEN 'week' THEN interval '7 days'
                WHEN 'month' THEN interval '1 month' ELSE interval '3 months' END AS step,
           CASE WHEN %(ignore_delay)s THEN 0 ELSE c.settlement_delay_days END AS delay
    FROM contracts_contract c
    WHERE (c.status IN ('active', 'suspended')
           OR (c.status = 'terminated' AND c.end_date IS NOT NULL))
      AND (%(all)s OR c.id = ANY(%(ids)s))
)
SELECT c.id, p.start::date
FROM contract c
CROSS JOIN LATERAL generate_series(
    date_trunc(c.unit, c.start_date::timestamp),
    date_trunc(c.unit, LEAST(COALESCE(c.end_date, 'infinity'::date),
                             (%(now)s::timestamptz AT TIME ZONE c.timezone)::date)::timestamp),
    c.step
) AS p(start)
WHERE ((p.start + c.step + make_interval(days => c.delay)) AT TIME ZONE c.timezone)
      <= %(now)s::timestamptz
  AND NOT EXISTS (
      SELECT 1 FROM credits_statement s
      WHERE s.contract_id = c.id AND s.period_start = p.start::date
  )
ORDER BY p.start, c.id
"""


def _due_periods_sql(
    now: datetime, ignore_delay: bool, contract_ids: Sequence[int] | None
) -> Iterator[tuple[int, date]]:
    params = {
        "now": now,
        "ignore_delay": ignore_delay,
        "all": contract_ids is None,
        "ids": list(contract_ids or []),
    }
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


def _due_periods_python(
    now: datetime, ignore_delay: bool, contract_ids: Sequence[int] | None
) -> Iterator[tuple[int, date]]:
    """The reference implementation, for databases without generate_series (SQLite)."""
    contracts = Contract.objects.filter(_swept()).order_by("pk")
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=contract_ids)
    settled = set(
        Statement.objects.filter(contract__in=contracts).values_list("contract_id", "period_start")
    )
    due = []
    for contract in contracts:
        last = _local_today(now, contract.timezone)
        if contract.end_date is not None:
            last = min(last, contract.end_date)
        for period in engine.periods_between(
            contract.start_date, last, contract.settlement_period, contract.timezone
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
) -> Iterator[tuple[int, date]]:
    """Every (contract id, period start) that is due: the period ended at least
    ``settlement_delay_days`` ago (in the contract's time zone; ``ignore_delay`` for a
    manual settlement) and has no statement yet, oldest periods first.

    Computed by the database in one query: a period lost anywhere (a dropped message, a
    missed sweep, a failed task) is found again by the next call.
    """
    if connection.vendor == "postgresql":
        return _due_periods_sql(now, ignore_delay, contract_ids)
    return _due_periods_python(now, ignore_delay, contract_ids)


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
    from kombu.exceptions import OperationalError as BrokerError

    from credits import tasks  # the tasks import this module

    now = now or timezone.now()
    pairs = [[contract_id, start.isoformat()] for contract_id, start in due_periods(now)]
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
                tasks.settle_contract_periods.delay(chunk)
                published += len(chunk)
            for contract_ids in active:
                tasks.warn_open_periods.delay(contract_ids)
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


# --------------------------------------------------------------------------- early warning


def _projected_amount(
    objective: engine.Objective,
    percent: Decimal | None,
    fee: Decimal,
    at_risk: Decimal | None,
    currency: str,
) -> Decimal:
    rule = objective.rule
    if percent is not None:
        return engine.quantize_money(
            Fraction(engine.quantize_money(fee, currency)) * Fraction(percent) / 100, currency
        )
    if isinstance(rule, engine.FlatRule) and rule.amount is not None:
        return min(
            engine.quantize_money(rule.amount, currency), engine.quantize_money(fee, currency)
        )
    if isinstance(rule, engine.PoolRule) and at_risk is not None:
        return engine.quantize_money(
            Fraction(at_risk) * Fraction(rule.allocation_percent) / 100, currency
        )
    return engine.quantize_money(0, currency)


def warn_early(*, contract: Contract, now: datetime | None = None) -> list[EarlyWarning]:
    """Warn the provider, during an active contract's open period, of every objective that
    is already breached or burning its error budget fast enough to breach by the end, and
    record every objective's attainment so far (:mod:`credits.progress`).

    At most one warning per (contract service, key, period): a second call never warns
    twice (the database's unique constraint decides, not this code). Returns the warnings
    created by this call; for each, ``credits.notify.early_warning`` runs after commit.
    """
    return warn_open_periods([contract], now=now)


def warn_open_periods(
    contracts: Sequence[Contract], *, now: datetime | None = None
) -> list[EarlyWarning]:
    """:func:`warn_early` for many contracts, their open periods measured together."""
    now = now or timezone.now()
    jobs, elapsed = [], []
    for contract in contracts:
        if contract.status != Contract.Status.ACTIVE:
            continue
        kind, tz = contract.settlement_period, contract.timezone
        period = engine.period_containing(_local_today(now, tz), kind, tz)
        active = engine.active_interval(period, contract.start_date, contract.end_date)
        if active is None or not active[0] < now < active[1]:
            continue
        jobs.append(_Job(contract, period, now))
        elapsed.append(
            Fraction(
                engine.to_epoch_seconds(now) - engine.to_epoch_seconds(active[0]),
                engine.to_epoch_seconds(active[1]) - engine.to_epoch_seconds(active[0]),
            )
        )
    created: list[EarlyWarning] = []
    for job, share, outcome in zip(jobs, elapsed, _measure_many(jobs) if jobs else [], strict=True):
        if isinstance(outcome, SettlementError):
            logger.warning("No early warning: %s", outcome)
            continue
        contract_services, measured = outcome
        record_progress(contract=job.contract, period=job.period, measured=measured, now=now)
        created += _warn(job.contract, job.period, share, contract_services, measured)
    return created


def _warn(
    contract: Contract,
    period: engine.Period,
    elapsed: Fraction,
    contract_services: Sequence[ContractService],
    measured: Measured,
) -> list[EarlyWarning]:
    currency = contract.currency
    fraction = engine.active_fraction(period, contract.start_date, contract.end_date)
    fees = {cs.pk: engine.prorate(cs.fee, fraction) for cs in contract_services}
    fees_total = sum((engine.quantize_money(fee, currency) for fee in fees.values()), Decimal(0))
    at_risk = engine.at_risk_amount(contract.credit_cap_percent, fees_total, currency)
    created_warnings = []
    for target, measure, _figures in measured:
        warning = engine.project_breach(target.objective, measure, elapsed)
        if warning is None:
            continue
        cs = target.contract_service
        row, created = EarlyWarning.objects.get_or_create(
            contract_service=cs,
            key=target.objective.key,
            period_start=period.start,
            defaults={
                "state": warning.state,
                "attainment": engine.stored_attainment(warning.attainment_so_far),
                "projected_credit_percent": warning.projected_credit_percent or Decimal(0),
                "projected_amount": _projected_amount(
                    target.objective,
                    warning.projected_credit_percent,
                    fees[cs.pk],
                    at_risk,
                    currency,
                ),
                "message": f"{cs.service.name}: {warning.explanation}",
            },
        )
        if created:
            created_warnings.append(row)
            _notify_on_commit("early_warning", warning_id=row.pk)
    return created_warnings
