"""What a contract's earlier periods carry into the one being settled: credits held for
earn-back, and chronic failure (SPEC §6).

**Earn-back.** A breached objective whose credit rule has ``earn_back_periods`` N holds its
credit: the statement shows it and takes it off what is payable. The next N periods decide
it, each on its own statement: the first of them whose objective does not meet its target
(breached, without data, or no longer measured) makes the held credit payable on its
statement; if all N meet it, the N-th statement says the provider earned it back, and
nothing is payable for it. A held credit is therefore resolved exactly once, on one
statement, as earned back or paid. The contract's last period holds nothing and pays every
credit still held (no later period could decide it). What a period holds is bounded by what
its statement would pay, after the cap and the minimum credit, so a total never goes below 0.

**Chronic failure.** An objective with ``chronic_breaches`` K and ``chronic_window`` M is
in chronic failure when a period's breach is the K-th within M consecutive periods; the
count starts again after the last chronic failure found, so that one run of breaches is
one failure, found once.

Everything here is pure: the periods before the one being settled come in as
:class:`PeriodOutcome` values (their latest revisions), oldest first, ``None`` for a period
not settled yet, which decides nothing (settling it later settles the later ones again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from engine.money import quantize_money
from engine.text import format_money

EARN_BACK_HELD = "earn_back_held"
EARN_BACK_PAID = "earn_back_paid"
EARNED_BACK = "earned_back"
CHRONIC_FAILURE = "chronic_failure"
HISTORY_KINDS = (EARN_BACK_HELD, EARN_BACK_PAID, EARNED_BACK, CHRONIC_FAILURE)

# How far back a period's statement may look: the longest earn-back or chronic window.
LOOKBACK_PERIODS = 24

LineKey = tuple[int, str]
"""An objective of a contract service: (contract service id, objective key)."""


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """One objective of an earlier period as its latest statement settled it."""

    met: bool | None
    # The credit it held for earn-back, and the periods that decide it.
    held: Decimal = Decimal(0)
    earn_back_periods: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """An earlier period as its latest statement settled it."""

    label: str
    lines: Mapping[LineKey, LineOutcome]
    # The objectives whose chronic failure was found in this period.
    chronic: frozenset[LineKey] = frozenset()


@dataclass(frozen=True, slots=True)
class CurrentLine:
    """One objective of the period being settled, as the engine judged it."""

    key: LineKey
    label: str
    met: bool | None
    amount: Decimal
    earn_back_periods: int | None = None
    chronic_breaches: int | None = None
    chronic_window: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A row below a statement's lines: its kind, signed amount and sentence."""

    kind: str
    amount: Decimal
    explanation: str
    key: LineKey | None = None
    # The held credit a row decides and the period that held it ("" for a hold).
    credit: Decimal = Decimal(0)
    origin: str = ""


@dataclass(frozen=True, slots=True)
class EarnBack:
    """What earn-back does to one statement: the credit each line holds, the rows (held
    now, earlier holds paid or earned back) and what they add to the total."""

    held: dict[LineKey, Decimal] = field(default_factory=dict)
    rows: tuple[HistoryRow, ...] = ()
    delta: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ChronicFinding:
    """A chronic failure found in the period being settled."""

    key: LineKey
    breaches: int
    window: int
    periods: tuple[str, ...]
    explanation: str


def _periods_word(count: int, period_name: str) -> str:
    return f"{count} {period_name}{'' if count == 1 else 's'}"


def _joined(labels: Sequence[str]) -> str:
    if len(labels) < 2:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _why_payable(line_met: bool | None, present: bool, label: str) -> str:
    if not present:
        return f"the objective is no longer measured in {label}"
    if line_met is None:
        return f"{label} has no data to show the target was met"
    return f"the target was missed in {label}"


def earn_back(
    earlier: Sequence[PeriodOutcome | None],
    lines: Sequence[CurrentLine],
    *,
    available: Decimal,
    final: bool,
    currency: str,
    period_name: str,
    label: str,
) -> EarnBack:
    """Earn-back on the statement of the period ``label`` whose ``lines`` follow the
    ``earlier`` periods (oldest first, the last one just before it).

    ``available`` is what the statement would pay before earn-back (after the cap and the
    minimum credit): the most its lines may hold. ``final``: the contract's last period,
    which holds nothing and pays every credit still held."""
    zero = quantize_money(0, currency)
    rows: list[HistoryRow] = []
    held: dict[LineKey, Decimal] = {}
    delta = zero
    remaining = quantize_money(available, currency)
    for line in sorted(lines, key=lambda item: item.key):
        if final or not line.earn_back_periods or line.met is not False or line.amount <= 0:
            continue
        amount = min(quantize_money(line.amount, currency), remaining)
        if amount <= 0:
            continue
        held[line.key] = amount
        remaining -= amount
        delta -= amount
        rows.append(
            HistoryRow(
                EARN_BACK_HELD,
                -amount,
                f"Held for earn-back: {format_money(amount, currency)} of {line.label} is not "
                f"payable now. The provider earns it back if the target is met in each of "
                f"the next {_periods_word(line.earn_back_periods, period_name)}; if one of "
                f"them misses it, it becomes payable on that {period_name}'s statement.",
                line.key,
                amount,
            )
        )
    current = {line.key: line for line in lines}
    position = len(earlier)
    for index, period in enumerate(earlier):
        if period is None:
            continue
        for key, outcome in sorted(period.lines.items()):
            if outcome.held <= 0 or not outcome.earn_back_periods:
                continue
            if position > index + outcome.earn_back_periods:
                continue  # decided on an earlier statement
            between = earlier[index + 1 : position]
            if any(other is not None and _missed(other, key) for other in between):
                continue  # paid on the statement of the period that missed it
            credit = quantize_money(outcome.held, currency)
            what = f"{period.label}'s held credit of {format_money(credit, currency)} for " + (
                outcome.label or key[1]
            )
            line = current.get(key)
            if any(other is None for other in between):
                if not final:
                    continue  # a period in between is not settled yet: it decides first
            elif line is None or line.met is not True:
                why = _why_payable(None if line is None else line.met, line is not None, label)
                rows.append(
                    HistoryRow(
                        EARN_BACK_PAID,
                        credit,
                        f"Earn-back: {what} is payable, as {why}.",
                        key,
                        credit,
                        period.label,
                    )
                )
                delta += credit
                continue
            elif position == index + outcome.earn_back_periods:
                decided = [other.label for other in between if other is not None] + [label]
                rows.append(
                    HistoryRow(
                        EARNED_BACK,
                        zero,
                        f"Earn-back: {what} was earned back by the provider, as the target "
                        f"was met in {_joined(decided)}. Nothing is payable for it.",
                        key,
                        credit,
                        period.label,
                    )
                )
                continue
            if final:
                rows.append(
                    HistoryRow(
                        EARN_BACK_PAID,
                        credit,
                        f"Earn-back: {what} is payable, as the contract ends before the "
                        f"{period_name}s that would decide it.",
                        key,
                        credit,
                        period.label,
                    )
                )
                delta += credit
    return EarnBack(held, tuple(rows), delta)


def _missed(period: PeriodOutcome, key: LineKey) -> bool:
    outcome = period.lines.get(key)
    return outcome is None or outcome.met is not True


def chronic_failures(
    earlier: Sequence[PeriodOutcome | None],
    lines: Sequence[CurrentLine],
    *,
    label: str,
    period_name: str,
) -> tuple[ChronicFinding, ...]:
    """The chronic failures found in the period ``label``: each breached line with
    chronic terms whose breach is the K-th within its window of M periods (this one and
    the M − 1 before it), counting only the breaches after its last chronic failure."""
    findings = []
    position = len(earlier)
    for line in sorted(lines, key=lambda item: item.key):
        if line.met is not False or not line.chronic_breaches or not line.chronic_window:
            continue
        first = max(0, position - line.chronic_window + 1)
        for index in range(position - 1, first - 1, -1):
            period = earlier[index]
            if period is not None and line.key in period.chronic:
                first = index + 1
                break
        breached = [
            period.label
            for period in earlier[first:position]
            if period is not None
            and line.key in period.lines
            and period.lines[line.key].met is False
        ] + [label]
        if len(breached) < line.chronic_breaches:
            continue
        window = _periods_word(line.chronic_window, period_name)
        findings.append(
            ChronicFinding(
                line.key,
                len(breached),
                line.chronic_window,
                tuple(breached),
                f"Chronic failure: {line.label} missed its target in {len(breached)} "
                f"{period_name}{'' if len(breached) == 1 else 's'} within {window} "
                f"({_joined(breached)}), reaching the contract's limit of "
                f"{line.chronic_breaches} breach{'' if line.chronic_breaches == 1 else 'es'} "
                f"within {window}: the customer may terminate the contract as it provides.",
            )
        )
    return tuple(findings)
