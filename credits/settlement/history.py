"""The earlier periods a statement reads for earn-back and chronic failure (SPEC §6).

A period's statement holds, pays or forgives credits according to the latest revisions of
the periods before it, and finds a chronic failure from their breaches and the failures
already recorded (:mod:`engine.history` decides; this module reads). A batch reads its
contracts' history once (three queries, only for contracts whose terms, in any version,
have earn-back or chronic failure), and each period settled in the batch joins it at once,
so that a batch settling January to March decides March on the January just computed.

Because a statement depends on the periods before it, settling one period again may change
the statements of the periods after it: :func:`later_settled` names them, and settlement
settles them again in the same transaction (a new revision only where the figures change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import engine
from contracts.models import Contract
from credits.models import ChronicFailure, Statement, StatementLine
from engine import phrases
from engine.history import LOOKBACK_PERIODS, LineKey, LineOutcome, PeriodOutcome


def uses_history(objective: engine.Objective) -> bool:
    """Whether an objective's terms reach other periods: earn-back or chronic failure."""
    rule = objective.rule
    return bool((rule is not None and rule.earn_back_periods) or objective.chronic_breaches)


def terms_use_history(terms: Mapping[str, object]) -> bool:
    """The same for an objective's versioned terms as a ``TermsChange`` keeps them."""
    rule = terms.get("credit_rule")
    return bool(
        (isinstance(rule, Mapping) and rule.get("earn_back_periods"))
        or terms.get("chronic_breaches")
    )


def line_label(name: str, service: str) -> str:
    """An objective of a service as statements name it: "On-time delivery (Reports)"."""
    return f"{name} ({service})"


@dataclass(slots=True)
class ContractHistory:
    """One contract's settled periods by start: their outcomes as their latest revisions
    (or this batch) settled them, and when the history reads from."""

    since: date
    outcomes: dict[date, PeriodOutcome] = field(default_factory=dict)


@dataclass(slots=True)
class BatchHistory:
    """The history of every contract a batch settles that needs one."""

    contracts: dict[int, ContractHistory] = field(default_factory=dict)

    def load(self, periods: Mapping[Contract, Iterable[engine.Period]]) -> None:
        """Read the history of each contract (not read yet) from the earliest of its
        periods back: the latest revision of every period, its lines, its chronic
        failures; three queries for any number of contracts."""
        since: dict[int, date] = {}
        for contract, items in periods.items():
            if contract.pk in self.contracts:
                continue
            first = min(items, key=lambda period: period.start)
            for _ in range(LOOKBACK_PERIODS):
                first = engine.previous_period(first, contract.settlement_period)
            since[contract.pk] = first.start
        if not since:
            return
        latest: dict[tuple[int, date], tuple[int, int, date]] = {}
        rows = Statement.objects.filter(
            contract_id__in=since, period_start__gte=min(since.values())
        ).values_list("pk", "contract_id", "period_start", "period_end", "revision")
        for pk, contract_id, start, end, revision in rows:
            key = (contract_id, start)
            if start >= since[contract_id] and (key not in latest or latest[key][1] < revision):
                latest[key] = (pk, revision, end)
        lines: dict[int, dict[LineKey, LineOutcome]] = defaultdict(dict)
        for row in StatementLine.objects.filter(
            statement_id__in=[pk for pk, _revision, _end in latest.values()]
        ).values_list(
            "statement_id",
            "contract_service_id",
            "key",
            "name",
            "contract_service__service__name",
            "met",
            "held",
            "credit_rule",
        ):
            statement_id, cs_id, key, name, service, met, held, rule = row
            lines[statement_id][(cs_id, key)] = LineOutcome(
                met=met,
                held=held,
                earn_back_periods=(rule or {}).get("earn_back_periods") if held else None,
                label=line_label(name, service),
            )
        failures: dict[tuple[int, date], set[LineKey]] = defaultdict(set)
        for contract_id, start, cs_id, key in ChronicFailure.objects.filter(
            contract_id__in=since, period_start__gte=min(since.values())
        ).values_list("contract_id", "period_start", "contract_service_id", "key"):
            failures[(contract_id, start)].add((cs_id, key))
        for contract_id, first in since.items():
            self.contracts[contract_id] = ContractHistory(first)
        for (contract_id, start), (pk, _revision, end) in latest.items():
            self.contracts[contract_id].outcomes[start] = PeriodOutcome(
                phrases.period(start, end),
                lines.get(pk, {}),
                frozenset(failures.get((contract_id, start), ())),
            )

    def earlier(self, contract: Contract, period: engine.Period) -> list[PeriodOutcome | None]:
        """The outcomes of the periods before ``period`` (oldest first; None: not settled),
        back to the contract's first period or the history's reach."""
        history = self.contracts[contract.pk]
        found: list[PeriodOutcome | None] = []
        current = period
        for _ in range(LOOKBACK_PERIODS):
            current = engine.previous_period(current, contract.settlement_period)
            if current.end < contract.start_date or current.start < history.since:
                break
            found.append(history.outcomes.get(current.start))
        found.reverse()
        return found

    def record(
        self,
        contract: Contract,
        period: engine.Period,
        lines: Mapping[LineKey, LineOutcome],
        chronic: Iterable[LineKey],
    ) -> None:
        """A period just computed: later periods of the batch read it as settled."""
        history = self.contracts.get(contract.pk)
        if history is None:
            return
        before = history.outcomes.get(period.start)
        recorded = before.chronic if before is not None else frozenset()
        history.outcomes[period.start] = PeriodOutcome(
            phrases.period(period.start, period.end), dict(lines), recorded | frozenset(chronic)
        )

    def later_settled(self, contract_id: int, after: date) -> list[date]:
        """The periods of the contract after ``after`` that have a statement, within the
        reach of earn-back and chronic failure, in order."""
        history = self.contracts.get(contract_id)
        if history is None:
            return []
        starts = sorted(start for start in history.outcomes if start > after)
        return starts[:LOOKBACK_PERIODS]
