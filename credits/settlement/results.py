"""What settlement returns: the computed statement of a period, its lines, the outcome of
settling it, and the error that says why a period cannot be settled.

The canonical texts here (a decimal without its stored scale, a fraction, a rule as JSON)
are what a statement's fingerprint and its lines' stored figures are made of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import engine
from contracts.models import Contract, ContractService, ServiceLevel, TermsChange
from credits.models import Statement
from engine.history import ChronicFinding, LineKey
from engine.phrases import Parts
from engine.totals import Adjustment


class SettlementError(ValueError):
    """A contract period that cannot be settled; the message says why, in one sentence."""


def canonical(value: Decimal | None) -> str | None:
    """A decimal as text that does not depend on its stored scale (99.5000 → "99.5")."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def rule_json(rule: engine.CreditRule | None) -> dict[str, object] | None:
    return None if rule is None else rule.to_json()


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A stored ticket as settlement read it, with the stops of its status events."""

    pk: int
    reference: str
    priority: str
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    stops: tuple[engine.Interval, ...]

    def done_at(self, kind: str) -> datetime | None:
        """When the clock of ``kind`` ended: the resolution, or the first response (a
        ticket resolved without a recorded response was answered by its resolution)."""
        if kind == "response":
            return self.first_response_at or self.resolved_at
        return self.resolved_at


@dataclass(frozen=True, slots=True)
class ComputedLine:
    """One (contract service, effective objective) of a period, as the engine judged it."""

    contract_service: ContractService
    service_level: ServiceLevel
    objective: engine.Objective
    measure: engine.ObjectiveMeasure
    # The exact figures the attainment comes from, stored as the line's ``measure``.
    figures: dict[str, object]
    result: engine.LineResult
    explanation: str
    # The explanation as its parts (engine.phrases), kept beside it for every language.
    parts: Parts
    # A ticket line's tickets by reference, for its per-ticket detail.
    tickets: Mapping[str, TicketRecord] | None = None

    @property
    def no_data(self) -> bool:
        return self.result.attainment is None

    def snapshot(self) -> dict[str, object]:
        """Everything about this line that a statement depends on (explanation excluded:
        a change of wording alone must not issue a new revision)."""
        objective = self.objective
        terms: dict[str, object] = {
            "key": objective.key,
            "name": objective.name,
            "indicator": objective.indicator,
            "comparator": objective.comparator,
            "target": canonical(objective.target),
            "threshold": canonical(objective.threshold),
            "threshold_comparator": objective.threshold_comparator,
            "rule": rule_json(objective.rule),
        }
        # Only when set, so that the statements of objectives without them keep their
        # fingerprints (settling them again is still "nothing changed").
        if objective.in_service_hours:
            terms["calendar"] = self.service_level.calendar_id
        if objective.priority is not None:
            terms["priority"] = objective.priority
        if objective.chronic_breaches:
            terms["chronic"] = [objective.chronic_breaches, objective.chronic_window]
        return {
            "contract_service": self.contract_service.pk,
            "service_level": self.service_level.pk,
            "source_level": self.service_level.level,
            "objective": terms,
            "measure": self.figures,
            "fee": str(self.result.fee),
            "attainment": fraction_text(self.result.attainment),
            "met": self.result.met,
            "credit_percent": canonical(self.result.credit_percent),
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
    # The rows below the lines (minimum credit, disputes' remedies), in order.
    adjustments: tuple[Adjustment, ...] = ()
    # The latest amendment or correction among the terms used; None: as first agreed.
    terms_change: TermsChange | None = None
    # What each line holds for earn-back, by (contract service id, key); the chronic
    # failures found in the period.
    held: Mapping[LineKey, Decimal] = field(default_factory=dict)
    chronic: tuple[ChronicFinding, ...] = ()

    def held_of(self, line: ComputedLine) -> Decimal:
        return self.held.get((line.contract_service.pk, line.objective.key), Decimal(0))

    @property
    def has_no_data(self) -> bool:
        return any(line.no_data for line in self.lines)


@dataclass(frozen=True, slots=True)
class SettlementResult:
    """A settled contract period: its latest statement, and whether this call issued it."""

    statement: Statement
    created: bool
    # Some objectives had no data (their provider is told so when the statement is new).
    has_no_data: bool = False
