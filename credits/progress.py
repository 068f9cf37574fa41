"""The open period's attainment so far, stored for the dashboard.

Measuring an open period costs about six queries per contract, too many for a page that
lists every contract of an organisation. The early-warning run measures every active
contract's open period anyway, so it hands its measures here and one row per objective
records where each stands: on track, at risk, breached, too few samples to tell, or no
data yet. The dashboard then
reads those rows in one query, whatever the number of contracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from django.db.models import Q

import engine
from contracts.models import Contract, ContractService, ServiceLevel
from credits.models import OpenPeriodProgress

__all__ = ["record_progress"]


class MeasuredTarget(Protocol):
    """One objective of one contract service, as settlement's measuring names it."""

    contract_service: ContractService
    service_level: ServiceLevel
    objective: engine.Objective


_UPDATED_FIELDS = [
    "period_end",
    "service_level",
    "indicator",
    "comparator",
    "target",
    "attainment",
    "state",
    "projected_credit_percent",
    "explanation",
    "measured_at",
]


def _state(
    objective: engine.Objective, measure: engine.ObjectiveMeasure, elapsed: Fraction
) -> tuple[str, Decimal | None, str]:
    """The state, projected credit percent and explanation of one measured objective."""
    if measure.attainment is None:
        return OpenPeriodProgress.State.NO_DATA, None, ""
    warning = engine.project_breach(objective, measure, elapsed)
    if warning is None:
        if engine.too_few_samples(measure):
            return (
                OpenPeriodProgress.State.TOO_FEW,
                None,
                engine.describe_too_few(objective, measure),
            )
        return OpenPeriodProgress.State.ON_TRACK, None, ""
    return warning.state, warning.projected_credit_percent, warning.explanation


def record_progress(
    *,
    contract: Contract,
    period: engine.Period,
    measured: Sequence[tuple[MeasuredTarget, engine.ObjectiveMeasure, dict[str, object]]],
    now: datetime,
) -> int:
    """Store the attainment so far of every objective measured in the contract's open
    ``period``; returns the number of rows written.

    ``measured`` is what the settlement's measuring returns: (target, measure, figures).
    One upsert writes every row and one delete removes the contract's rows of earlier
    periods and of objectives no longer measured: two queries whatever the number of
    objectives. Nothing is written when ``now`` is outside the period's active time.
    """
    elapsed = engine.elapsed_fraction(period, contract.start_date, contract.end_date, now)
    rows = []
    if elapsed is not None:
        for target, measure, _figures in measured:
            objective = target.objective
            state, percent, explanation = _state(objective, measure, elapsed)
            rows.append(
                OpenPeriodProgress(
                    contract_service=target.contract_service,
                    key=objective.key,
                    period_start=period.start,
                    period_end=period.end,
                    service_level=target.service_level,
                    indicator=objective.indicator,
                    comparator=objective.comparator,
                    target=objective.target,
                    attainment=engine.stored_attainment(measure.attainment),
                    state=state,
                    projected_credit_percent=percent,
                    explanation=explanation,
                    measured_at=now,
                )
            )
    kept = Q()
    for row in rows:
        kept |= Q(contract_service_id=row.contract_service_id, key=row.key)
    stale = OpenPeriodProgress.objects.filter(contract_service__contract=contract)
    if rows:
        stale = stale.exclude(Q(period_start=period.start) & kept)
    stale.delete()
    if rows:
        OpenPeriodProgress.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["contract_service", "key", "period_start"],
            update_fields=_UPDATED_FIELDS,
        )
    return len(rows)
