"""Everything settlement reads from the database for a batch of contract periods.

A batch is a list of :class:`Job` (a contract period, measured up to an instant). Its
inputs are read in a constant number of queries whatever the number of periods, services
or samples: the effective objectives of each contract service (:mod:`contracts.selectors`,
two queries), the lapses of the customers' responsibilities that relieve the provider, the
samples' figures aggregated in the database (on PostgreSQL one query for the whole batch,
and one for the samples inside the lapses, which are subtracted), and the maintenance
windows and provider incidents that shape uptime.

An objective with a service calendar counts only the samples observed inside its service
hours: its window is read as the service intervals inside it (``Target.hours``), each an
index range scan of its own, so that the calendar costs no Python per sample.

On PostgreSQL the whole UTC hours of each interval are read from the hourly rollups kept at
ingestion (``contracts.MeasurementRollup``, ``contracts.ThresholdRollup``), and only the
parts of an interval that are not whole hours (a zone half an hour off UTC, a lapse from
10:20, an open period up to now) from the samples: a month costs the same whatever the
number of samples in it. ``SETTLEMENT_READS_ROLLUPS = False`` reads every sample instead
(the reference the rollups are tested against).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

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
from credits.settlement.results import SettlementError, TicketRecord

Instants = tuple[datetime, datetime]
Span = tuple[int, int]
"""``[start, end)`` in whole epoch seconds, as the engine's calendars give them."""


@dataclass(slots=True)
class TicketInputs:
    """One ticket objective's tickets in one period, the clock they were read with, and
    each ticket's record by reference (for the statement's per-ticket detail)."""

    clock: engine.BusinessClock
    # The part of the period measured: [period start or contract start, its end or now).
    window: Instants
    tickets: list[engine.Ticket] = field(default_factory=list)
    records: dict[str, TicketRecord] = field(default_factory=dict)
    # When the kept clocks counted the tickets (credits.settlement.ticket_clocks): the
    # measure, which keeps only the worst tickets, and the digest of every ticket's clock.
    counted: tuple[engine.TicketMeasure, str] | None = None


@dataclass(slots=True)
class Target:
    """One effective objective of one contract service, and the relief that applies to it."""

    contract_service: ContractService
    service_level: ServiceLevel
    objective: engine.Objective
    linked_ids: set[int]
    relief: list[Instants] = field(default_factory=list)
    # The service intervals inside the plan's window; None: the whole window counts.
    hours: list[Span] | None = None
    # A ticket objective's tickets and the clock they are read with.
    tickets: TicketInputs | None = None
    # The name of a ticket objective's clock (kind, threshold, calendar definition).
    clock_terms: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """One contract period to measure, from its start up to ``until`` (the period's end for
    a statement, now for an open period)."""

    contract: Contract
    period: engine.Period
    until: datetime
    overrides: Mapping[int, engine.Objective] | None = None
    # Settling under the contract's lock: the kept ticket clocks it lacks may be built.
    settling: bool = False


@dataclass(slots=True)
class Plan:
    """A job with its contract services, targets and the instants its samples come from."""

    job: Job
    contract_services: list[ContractService]
    targets: list[Target]
    active: Instants | None
    # [low, high): the active part of the period up to ``until``; None: nothing to measure.
    window: Instants | None
    error: SettlementError | None = None


def _targets(
    entries: Sequence[EffectiveServiceLevels],
    overrides: Mapping[int, engine.Objective],
    objectives: dict[int, engine.Objective],
) -> list[Target]:
    """Every (contract service, effective objective) of one contract; ``objectives`` keeps
    each objective parsed once for all the contracts that share it."""
    targets = []
    for entry in entries:
        for level in entry.service_levels:
            objective = overrides.get(level.pk) or objectives.get(level.pk)
            if objective is None:
                objective = level.as_objective()
                if level.priority and objective.priority is None:
                    objective = dataclasses.replace(objective, priority=level.priority)
                objectives[level.pk] = objective
            # A lapse linked to any objective of this key that applies to the service (the
            # one in force or one it refines) relieves the provider: refining an objective
            # for one service does not cancel the customer's obligation behind it.
            linked = {candidate.pk for candidate in entry.candidates.get(level.key, [level])}
            targets.append(
                Target(
                    contract_service=entry.contract_service,
                    service_level=level,
                    objective=objective,
                    linked_ids=linked,
                )
            )
    return targets


def plan_jobs(jobs: Sequence[Job]) -> list[Plan]:
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
            plans.append(Plan(job, contract_services, [], None, None, error))
            continue
        active = engine.active_interval(job.period, contract.start_date, contract.end_date)
        window = None
        if active is not None and targets:
            window = (active[0], min(active[1], job.until))
        plans.append(Plan(job, contract_services, targets, active, window))
    return plans


def _span(plans: Sequence[Plan]) -> Instants:
    return min(plan.window[0] for plan in plans), max(plan.window[1] for plan in plans)


def overlaps(start: datetime, end: datetime, window: Instants) -> bool:
    return start < window[1] and end > window[0]


def attach_relief(plans: Sequence[Plan]) -> None:
    """Lapses of the customers' responsibilities within each plan's window; one query."""
    low, high = _span(plans)
    by_contract: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    lapses = (
        ResponsibilityLapse.objects.relieving()
        .filter(
            responsibility__contract__in={plan.job.contract.pk for plan in plans},
            responsibility__service_levels__isnull=False,
            start__lt=high,
            end__gt=low,
        )
        .values_list(
            "responsibility__contract_id", "start", "end", "responsibility__service_levels"
        )
    )
    for contract_id, start, end, level_id in lapses:
        by_contract[contract_id].append((start, end, level_id))
    for plan in plans:
        by_level: dict[int, set[Instants]] = defaultdict(set)
        for start, end, level_id in by_contract.get(plan.job.contract.pk, []):
            if overlaps(start, end, plan.window):
                by_level[level_id].add((start, end))
        for target in plan.targets:
            intervals: set[Instants] = set()
            for level_id in target.linked_ids:
                intervals |= by_level.get(level_id, set())
            target.relief = sorted(intervals)


def _and(left: Q | None, right: Q) -> Q:
    return right if left is None else left & right


def _sample_aggregates(
    targets: Sequence[Target], low: datetime, high: datetime
) -> dict[tuple[int, str], dict[str, object]]:
    """Per (contract service, key) of one contract period, its sample figures, in one
    ``GROUP BY`` query that any database runs (the reference for the batched query)."""
    scope, meeting, relief = Q(), Q(), Q()
    for target in targets:
        pair = Q(contract_service_id=target.contract_service.pk, key=target.objective.key)
        if target.hours is not None:
            inside = Q(pk__in=[])
            for first, last in target.hours:
                inside |= Q(observed_at__gte=_instant(first), observed_at__lt=_instant(last))
            pair &= inside
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
_SAMPLED = frozenset({"ratio", "threshold", "count"})


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def counted_intervals(target: Target, window: Instants) -> list[Instants]:
    """The intervals of ``window`` whose samples count for the target: the window, or its
    service intervals for an objective with a calendar."""
    if target.hours is None:
        return [window]
    return [(_instant(first), _instant(last)) for first, last in target.hours]


def _intersect(left: Sequence[Instants], right: Sequence[Instants]) -> list[Instants]:
    """The instants in both lists of sorted, disjoint intervals."""
    result: list[Instants] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


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


# The same figures from the hourly rollups of [low, high), both whole UTC hours. A
# threshold's meeting count comes from the count kept for that threshold when it is
# complete; else from the hour's bounds when they decide it (every value or none meets);
# else from the hour's samples (a function: see migration contracts.0015).
# When every hour with a valued sample has its complete count (the rule: a count is
# incomplete only for an hour that held values before its objective existed), the counts
# are added up by one range scan beside the rollups' own; looked up hour by hour they
# were half of a chunk's query with a month of hourly samples. A complete count's
# ``valued`` is its hour's (both count the same samples), so the two counts of hours
# agree exactly when no hour lacks one.
_ROLLUP_AGGREGATES_SQL = """
SELECT t.idx, a.samples, a.judged, a.ok_count, a.valued, a.value_sum,
       CASE WHEN t.cmp IS NULL THEN 0
            WHEN k.hours = a.valued_hours THEN k.meeting
            ELSE (
                SELECT sum(CASE WHEN r.valued = 0 THEN 0 ELSE coalesce(
                    (SELECT k.meeting FROM contracts_thresholdrollup k
                     WHERE k.contract_service_id = r.contract_service_id AND k.key = r.key
                       AND k.hour = r.hour AND k.comparator = t.cmp AND k.threshold = t.thr
                       AND k.complete),
                    CASE WHEN (t.cmp = 'gte' AND r.value_min >= t.thr)
                           OR (t.cmp = 'lte' AND r.value_max <= t.thr) THEN r.valued
                         WHEN (t.cmp = 'gte' AND r.value_max < t.thr)
                           OR (t.cmp = 'lte' AND r.value_min > t.thr) THEN 0
                    ELSE contracts_measurement_hour_meeting(
                        r.contract_service_id, r.key, r.hour, t.cmp, t.thr)
                    END) END)
                FROM contracts_measurementrollup r
                WHERE r.contract_service_id = t.cs AND r.key = t.key
                  AND r.hour >= t.low AND r.hour < t.high)
       END AS meeting
FROM unnest(%(r_idx)s::int[], %(r_cs)s::bigint[], %(r_key)s::text[], %(r_low)s::timestamptz[],
            %(r_high)s::timestamptz[], %(r_thr)s::numeric[], %(r_cmp)s::text[])
     AS t(idx, cs, key, low, high, thr, cmp)
CROSS JOIN LATERAL (
    SELECT sum(r.samples) AS samples, sum(r.judged) AS judged, sum(r.ok_count) AS ok_count,
           sum(r.valued) AS valued, sum(r.value_sum) AS value_sum,
           count(*) FILTER (WHERE r.valued > 0) AS valued_hours
    FROM contracts_measurementrollup r
    WHERE r.contract_service_id = t.cs AND r.key = t.key
      AND r.hour >= t.low AND r.hour < t.high
) AS a
CROSS JOIN LATERAL (
    SELECT count(*) AS hours, coalesce(sum(k.meeting), 0) AS meeting
    FROM contracts_thresholdrollup k
    WHERE t.cmp IS NOT NULL AND k.contract_service_id = t.cs AND k.key = t.key
      AND k.hour >= t.low AND k.hour < t.high AND k.comparator = t.cmp
      AND k.threshold = t.thr AND k.complete AND k.valued > 0
) AS k
"""
_HOUR = timedelta(hours=1)


def _hour_floor(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_ceil(instant: datetime) -> datetime:
    floor = _hour_floor(instant)
    return floor if floor == instant else floor + _HOUR


def split_by_hours(low: datetime, high: datetime) -> tuple[Instants | None, list[Instants]]:
    """``[low, high)`` as its whole UTC hours (read from the rollups; None: no whole hour)
    and the parts around them (read from the samples)."""
    first, last = _hour_ceil(low), _hour_floor(high)
    if first >= last:
        return None, [(low, high)]
    edges = [(start, end) for start, end in ((low, first), (last, high)) if start < end]
    return (first, last), edges


def _params(
    rows: Sequence[tuple[int, Target, Instants]], prefix: str = ""
) -> dict[str, list[object]]:
    params: dict[str, list[object]] = {
        f"{prefix}{name}": [] for name in ("idx", "cs", "key", "low", "high", "thr", "cmp")
    }
    for idx, target, (low, high) in rows:
        objective = target.objective
        threshold = objective.indicator == "threshold"
        params[f"{prefix}idx"].append(idx)
        params[f"{prefix}cs"].append(target.contract_service.pk)
        params[f"{prefix}key"].append(objective.key)
        params[f"{prefix}low"].append(low)
        params[f"{prefix}high"].append(high)
        params[f"{prefix}thr"].append(objective.threshold if threshold else None)
        params[f"{prefix}cmp"].append(objective.threshold_comparator if threshold else None)
    return params


def _interval_aggregates(
    rows: Sequence[tuple[int, Target, Instants]], size: int
) -> list[dict[str, object]]:
    """Per index below ``size``, the figures of its (target, interval) rows added up: one
    query, whole hours from the rollups and the rest from the samples."""
    totals: list[dict[str, object]] = [dict.fromkeys(_COUNTED, 0) for _ in range(size)]
    if not rows:
        return totals
    raw: list[tuple[int, Target, Instants]] = []
    hourly: list[tuple[int, Target, Instants]] = []
    for idx, target, (low, high) in rows:
        if not settings.SETTLEMENT_READS_ROLLUPS:
            raw.append((idx, target, (low, high)))
            continue
        hours, edges = split_by_hours(low, high)
        if hours is not None:
            hourly.append((idx, target, hours))
        raw.extend((idx, target, edge) for edge in edges)
    params = _params(raw) | _params(hourly, "r_")
    with connection.cursor() as cursor:
        cursor.execute(f"{_BATCH_AGGREGATES_SQL} UNION ALL {_ROLLUP_AGGREGATES_SQL}", params)
        for idx, *figures in cursor.fetchall():
            for name, value in zip(_COUNTED, figures, strict=True):
                totals[idx][name] += value or 0
    return totals


def _batch_aggregates(
    sampled: Sequence[tuple[Target, Instants]],
) -> list[dict[str, object]]:
    """The figures of every (target, window), in order, samples within the relief of a
    target left out: two queries (PostgreSQL). The samples inside the relief intervals are
    counted apart and subtracted, which keeps the relief off the main query's path. A
    target with a calendar sends one row per service interval of its window."""
    counted = [counted_intervals(target, window) for target, window in sampled]
    whole = _interval_aggregates(
        [
            (idx, target, interval)
            for idx, (target, _window) in enumerate(sampled)
            for interval in counted[idx]
        ],
        len(sampled),
    )
    relieved = _interval_aggregates(
        [
            (idx, target, interval)
            for idx, (target, window) in enumerate(sampled)
            for interval in _intersect(_merged(target.relief, window), counted[idx])
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


def sample_figures(plans: Sequence[Plan]) -> dict[tuple[int, int], dict[str, object]]:
    """Per (plan index, target index), the sample figures of the plan's window."""
    sampled = [
        (p, t, target)
        for p, plan in enumerate(plans)
        for t, target in enumerate(plan.targets)
        if plan.window is not None and target.objective.indicator in _SAMPLED
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


def uptime_inputs(
    plans: Sequence[Plan],
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
