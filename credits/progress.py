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

from django.db import connection
from django.utils import translation

import engine
from contracts.models import Contract, ContractService, ServiceLevel
from credits.models import OpenPeriodProgress
from engine import phrases
from engine.phrases import Parts
from engine.projection import too_few_parts

__all__ = ["record_progress", "record_progress_many"]


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
    "explanation_parts",
    "measured_at",
]


def _state(
    objective: engine.Objective, measure: engine.ObjectiveMeasure, elapsed: Fraction
) -> tuple[str, Decimal | None, Parts | None]:
    """The state, projected credit percent and explanation (as its parts, engine.phrases)
    of one measured objective."""
    if measure.attainment is None:
        return OpenPeriodProgress.State.NO_DATA, None, None
    warning = engine.project_breach(objective, measure, elapsed)
    if warning is None:
        if engine.too_few_samples(measure):
            return (
                OpenPeriodProgress.State.TOO_FEW,
                None,
                too_few_parts(objective, measure),
            )
        return OpenPeriodProgress.State.ON_TRACK, None, None
    return warning.state, warning.projected_credit_percent, warning.parts


def _english(parts: Parts | None) -> str:
    """The explanation kept as text: in the site's language whoever's request recorded it;
    readers read the parts in theirs (OpenPeriodProgress.explanation_text)."""
    if parts is None:
        return ""
    with translation.override(None):
        return phrases.render(parts)


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
    return record_progress_many([(contract, period, measured)], now=now)


def record_progress_many(
    measured_periods: Sequence[
        tuple[
            Contract,
            engine.Period,
            Sequence[tuple[MeasuredTarget, engine.ObjectiveMeasure, dict[str, object]]],
        ]
    ],
    *,
    now: datetime,
) -> int:
    """:func:`record_progress` for many contracts (contract, open period, measured): still
    two queries, one delete and one upsert, whatever the number of contracts (the sweep's
    early warnings record a chunk of contracts at once)."""
    rows = []
    for contract, period, measured in measured_periods:
        elapsed = engine.elapsed_fraction(period, contract.start_date, contract.end_date, now)
        if elapsed is None:
            continue
        for target, measure, _figures in measured:
            objective = target.objective
            state, percent, parts = _state(objective, measure, elapsed)
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
                    explanation=_english(parts),
                    explanation_parts=parts,
                    measured_at=now,
                )
            )
    if not measured_periods:
        return 0
    _delete_stale([contract.pk for contract, _period, _measured in measured_periods], rows)
    if rows:
        OpenPeriodProgress.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["contract_service", "key", "period_start"],
            update_fields=_UPDATED_FIELDS,
        )
    return len(rows)


def _delete_stale(contract_ids: list[int], kept: Sequence[OpenPeriodProgress]) -> None:
    """Delete the contracts' rows that ``kept`` does not write again (earlier periods,
    objectives no longer measured): one query, the kept keys as arrays (a condition per
    row would cost more to build than to run)."""
    if connection.vendor != "postgresql":
        stale = OpenPeriodProgress.objects.filter(contract_service__contract__in=contract_ids)
        for row in kept:
            stale = stale.exclude(
                contract_service_id=row.contract_service_id,
                key=row.key,
                period_start=row.period_start,
            )
        stale.delete()
        return
    progress = OpenPeriodProgress._meta.db_table
    services = ContractService._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {progress} AS p USING {services} AS cs"
            " WHERE p.contract_service_id = cs.id AND cs.contract_id = ANY(%s)"
            " AND (p.contract_service_id, p.key, p.period_start) NOT IN ("
            "   SELECT * FROM unnest(%s::bigint[], %s::text[], %s::date[]))",
            [
                contract_ids,
                [row.contract_service_id for row in kept],
                [row.key for row in kept],
                [row.period_start for row in kept],
            ],
        )
