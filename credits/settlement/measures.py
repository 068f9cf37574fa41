"""Each objective of a batch of contract periods measured: the figures read by
:mod:`credits.settlement.inputs` turned into the engine's measures, with the exact figures
a statement line stores and the relief granted for the customers' lapses. Objectives with
a service calendar are measured inside its service hours
(:mod:`~credits.settlement.calendars`); ticket objectives from their tickets' clocks
(:mod:`~credits.settlement.tickets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import engine
from contracts.models import ContractService
from credits.settlement.calendars import attach_calendars
from credits.settlement.inputs import (
    Instants,
    Job,
    Plan,
    Target,
    attach_relief,
    overlaps,
    plan_jobs,
    sample_figures,
    uptime_inputs,
)
from credits.settlement.results import SettlementError, canonical
from credits.settlement.ticket_clocks import count_from_kept_clocks
from credits.settlement.tickets import attach_tickets, load_tickets, measure_tickets

# What measuring a contract period returns: each target, its measure and its figures.
Measured = list[tuple[Target, engine.ObjectiveMeasure, dict[str, object]]]


def _measure_uptime(
    plan: Plan,
    target: Target,
    maintenance: Mapping[int, list[tuple[int | None, datetime, datetime]]],
    incidents: Mapping[tuple[int, str], list[Instants]],
) -> tuple[engine.Measure, dict[str, object]]:
    period, window = plan.job.period, plan.window
    cs_id = target.contract_service.pk
    windows = [
        (start, end)
        for scope, start, end in maintenance.get(plan.job.contract.pk, [])
        if scope in (None, cs_id) and overlaps(start, end, window)
    ]
    down = [
        interval
        for interval in incidents.get((cs_id, target.objective.key), [])
        if overlaps(*interval, window)
    ]
    end = min(period.end_at, plan.job.until)
    # With a calendar only service hours are scheduled: they are the time the service runs.
    active = [plan.active] if target.hours is None else target.hours
    measure = engine.uptime_attainment(period.start_at, end, active, windows, down, target.relief)
    relieved = 0
    if target.relief:
        unrelieved = engine.uptime_attainment(period.start_at, end, active, windows, down)
        relieved = unrelieved.downtime_seconds - measure.downtime_seconds
    return measure, {
        "scheduled_seconds": measure.scheduled_seconds,
        "downtime_seconds": measure.downtime_seconds,
        "relieved_seconds": relieved,
    }


def _measure_samples(
    target: Target, row: Mapping[str, object]
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
            "threshold": canonical(target.objective.threshold),
            "threshold_comparator": target.objective.threshold_comparator,
        }
    else:
        total = row.get("value_sum")
        measure = engine.CountMeasure(
            Decimal(total) if total is not None else Decimal(0), int(row.get("samples") or 0)
        )
        figures = {"total": canonical(measure.total), "samples": measure.samples}
    figures["relieved_samples"] = int(row.get("relieved") or 0)
    return measure, figures


def measure_many(
    jobs: Sequence[Job],
) -> list[tuple[list[ContractService], Measured] | SettlementError]:
    """Every effective objective of each job's contract measured over its window, in order
    (or why that contract cannot be measured).

    A constant number of queries for any number of jobs: effective objectives (2), lapses,
    the samples' aggregates, maintenance windows and incidents (1 each); with ticket
    objectives of closed periods their counts from the kept clocks (1, and 2 more per
    objective for the worst tickets); the reference's tickets, events and lapses (3); with
    calendars the calendars and their closures (2).
    """
    plans = plan_jobs(jobs)
    measured_plans = [plan for plan in plans if plan.window is not None]
    aggregates: dict[tuple[int, int], dict[str, object]] = {}
    maintenance: Mapping[int, list[tuple[int | None, datetime, datetime]]] = {}
    incidents: Mapping[tuple[int, str], list[Instants]] = {}
    if measured_plans:
        attach_relief(measured_plans)
        count_from_kept_clocks(measured_plans)
        book = load_tickets(measured_plans)
        attach_calendars(measured_plans, earliest=book.earliest)
        attach_tickets(measured_plans, book)
        aggregates = sample_figures(plans)
        if any(t.objective.indicator == "uptime" for p in measured_plans for t in p.targets):
            maintenance, incidents = uptime_inputs(measured_plans)
    results: list[tuple[list[ContractService], Measured] | SettlementError] = []
    for p, plan in enumerate(plans):
        if plan.error is not None:
            results.append(plan.error)
            continue
        measured: Measured = []
        if plan.window is not None:
            for t, target in enumerate(plan.targets):
                measure: engine.ObjectiveMeasure
                if target.objective.indicator == "uptime":
                    measure, figures = _measure_uptime(plan, target, maintenance, incidents)
                elif target.objective.is_ticket:
                    measure, figures = measure_tickets(target)
                else:
                    measure, figures = _measure_samples(target, aggregates.get((p, t), {}))
                measured.append((target, measure, figures))
        results.append((plan.contract_services, measured))
    return results
