"""The terms in force for each contract period, and the disputes that move its money.

Settling a period uses the terms in force at its start (:mod:`contracts.models.terms`):
for every fee or objective that was ever amended or corrected, the version whose start is
the latest at or before the period's start, as its latest row states it. An amendment
from a later period therefore never reaches a period already closed; a correction of the
version a period used does, and settling it again issues a new revision. The disputes of
a period accepted with a remedy, and its accepted claims, are read here too: each adds a
row to its next revision. Three queries for any number of periods.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import engine
from contracts.models import ServiceLevel, TermsChange
from contracts.models.terms import version_in_force
from credits.models import Claim, Dispute
from credits.settlement.history import terms_use_history
from credits.settlement.inputs import Job
from engine import phrases
from engine.totals import AcceptedClaim, Remedy


@dataclass(slots=True)
class TermsInForce:
    """What differs from the live rows in one period: fees by contract service id,
    objectives by service level id, and the latest change among the versions used."""

    fees: dict[int, Decimal] = field(default_factory=dict)
    objectives: dict[int, engine.Objective] = field(default_factory=dict)
    change: TermsChange | None = None
    # Some version of an objective of the contract has earn-back or chronic failure: its
    # statements read the periods before them (credits.settlement.history).
    history: bool = False


def objective_with_terms(level: ServiceLevel, terms: Mapping[str, object]) -> engine.Objective:
    """The objective ``level`` with the versioned terms of a :class:`TermsChange`."""
    objective = level.as_objective()
    objective = dataclasses.replace(
        objective,
        target=Decimal(str(terms["target"])),
        comparator=str(terms["comparator"]),
        threshold=None if terms.get("threshold") is None else Decimal(str(terms["threshold"])),
        threshold_comparator=terms.get("threshold_comparator") or None,
        rule=engine.parse_rule(terms.get("credit_rule")),
        chronic_breaches=terms.get("chronic_breaches"),
        chronic_window=terms.get("chronic_window"),
    )
    if level.priority:
        objective = dataclasses.replace(objective, priority=level.priority)
    return objective


def terms_in_force(jobs: Sequence[Job]) -> list[TermsInForce]:
    """Each job's terms in force at its period's start; one query."""
    by_contract: dict[int, dict[tuple[str, int], list[TermsChange]]] = defaultdict(
        lambda: defaultdict(list)
    )
    rows = (
        TermsChange.objects.filter(contract__in={job.contract.pk for job in jobs})
        .select_related("service_level__calendar", "service_level__contract")
        .order_by("id")
    )
    with_history: set[int] = set()
    for change in rows:
        if change.service_level_id and terms_use_history(change.terms):
            with_history.add(change.contract_id)
        item = (
            ("fee", change.contract_service_id)
            if change.contract_service_id
            else ("objective", change.service_level_id)
        )
        by_contract[change.contract_id][item].append(change)
    result = []
    for job in jobs:
        in_force = TermsInForce(history=job.contract.pk in with_history)
        for (kind, item_id), changes in by_contract.get(job.contract.pk, {}).items():
            chosen = version_in_force(changes, job.period.start)
            if chosen is None:
                continue
            if kind == "fee":
                in_force.fees[item_id] = Decimal(str(chosen.terms["fee"]))
            else:
                in_force.objectives[item_id] = objective_with_terms(
                    chosen.service_level, chosen.terms
                )
            if chosen.kind != TermsChange.Kind.ORIGINAL and (
                in_force.change is None or chosen.pk > in_force.change.pk
            ):
                in_force.change = chosen
        result.append(in_force)
    return result


def accepted_remedies(jobs: Sequence[Job]) -> dict[tuple[int, date], list[Remedy]]:
    """The disputes accepted with a remedy on any revision of each job's period; one
    query."""
    found: dict[tuple[int, date], list[Remedy]] = defaultdict(list)
    if not jobs:
        return found
    rows = Dispute.objects.filter(
        status=Dispute.Status.ACCEPTED,
        remedy__in=[Dispute.Remedy.CORRECTION, Dispute.Remedy.ADJUSTMENT],
        line__statement__contract__in={job.contract.pk for job in jobs},
        line__statement__period_start__in={job.period.start for job in jobs},
    ).values_list(
        "pk",
        "line__statement__contract_id",
        "line__statement__period_start",
        "adjustment_amount",
        "resolution",
    )
    for pk, contract_id, start, amount, resolution in rows.order_by("pk"):
        found[(contract_id, start)].append(Remedy(pk, amount, resolution))
    return found


def accepted_claims(jobs: Sequence[Job]) -> dict[tuple[int, date], list[AcceptedClaim]]:
    """The claims accepted in each job's period (their outages are incidents by now);
    one query."""
    found: dict[tuple[int, date], list[AcceptedClaim]] = defaultdict(list)
    if not jobs:
        return found
    rows = Claim.objects.filter(
        status=Claim.Status.ACCEPTED,
        contract_service__contract__in={job.contract.pk for job in jobs},
        period_start__in={job.period.start for job in jobs},
    ).values_list(
        "pk",
        "contract_service__contract_id",
        "contract_service__contract__timezone",
        "period_start",
        "contract_service__service__name",
        "started_at",
        "ended_at",
    )
    for pk, contract_id, tz, start, service, started_at, ended_at in rows.order_by("pk"):
        outage = phrases.join([service, phrases.span(started_at, ended_at, tz)], ", ")
        found[(contract_id, start)].append(AcceptedClaim(pk, outage))
    return found
