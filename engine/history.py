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

from engine.l10n import gettext_noop, ngettext_noop
from engine.money import quantize_money
from engine.phrases import Parts, Value, message, money, plural, render, series

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

    # Its name (engine.phrases.period, or text as it is).
    label: Value
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
    # The explanation as its parts (engine.phrases), to be read in any language.
    parts: Parts | None = None


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
    periods: tuple[Value, ...]
    explanation: str
    parts: Parts | None = None


def _periods_word(number: int, period_name: str) -> Parts:
    """``"3 months"``."""
    if period_name == "week":
        forms = ngettext_noop("%(count)s week", "%(count)s weeks")
    elif period_name == "month":
        forms = ngettext_noop("%(count)s month", "%(count)s months")
    else:
        forms = ngettext_noop("%(count)s quarter", "%(count)s quarters")
    return plural(forms, number, count=number)


def _deciding(period_name: str) -> Parts:
    """``"the months that would decide it"``: the periods that would decide a held credit."""
    return message(
        {
            "week": gettext_noop("the weeks that would decide it"),
            "month": gettext_noop("the months that would decide it"),
            "quarter": gettext_noop("the quarters that would decide it"),
        }[period_name]
    )


def _that_statement(period_name: str) -> Parts:
    return message(
        {
            "week": gettext_noop("that week's statement"),
            "month": gettext_noop("that month's statement"),
            "quarter": gettext_noop("that quarter's statement"),
        }[period_name]
    )


def _why_payable(line_met: bool | None, present: bool, label: Value) -> Parts:
    if not present:
        return message(
            gettext_noop("the objective is no longer measured in %(period)s"), period=label
        )
    if line_met is None:
        return message(
            gettext_noop("%(period)s has no data to show the target was met"), period=label
        )
    return message(gettext_noop("the target was missed in %(period)s"), period=label)


def _row(
    kind: str,
    amount: Decimal,
    parts: Parts,
    key: LineKey,
    credit: Decimal,
    origin: Value = "",
) -> HistoryRow:
    return HistoryRow(kind, amount, render(parts), key, credit, render(origin), parts)


def earn_back(
    earlier: Sequence[PeriodOutcome | None],
    lines: Sequence[CurrentLine],
    *,
    available: Decimal,
    final: bool,
    currency: str,
    period_name: str,
    label: Value,
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
            _row(
                EARN_BACK_HELD,
                -amount,
                message(
                    gettext_noop(
                        "Held for earn-back: %(amount)s of %(line)s is not payable now. The "
                        "provider earns it back if the target is met in each of the next "
                        "%(periods)s; if one of them misses it, it becomes payable on "
                        "%(statement)s."
                    ),
                    amount=money(amount, currency),
                    line=line.label,
                    periods=_periods_word(line.earn_back_periods, period_name),
                    statement=_that_statement(period_name),
                ),
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
            what = message(
                gettext_noop("%(period)s's held credit of %(credit)s for %(line)s"),
                period=period.label,
                credit=money(credit, currency),
                line=outcome.label or key[1],
            )
            line = current.get(key)
            if any(other is None for other in between):
                if not final:
                    continue  # a period in between is not settled yet: it decides first
            elif line is None or line.met is not True:
                why = _why_payable(None if line is None else line.met, line is not None, label)
                rows.append(
                    _row(
                        EARN_BACK_PAID,
                        credit,
                        message(
                            gettext_noop("Earn-back: %(what)s is payable, as %(why)s."),
                            what=what,
                            why=why,
                        ),
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
                    _row(
                        EARNED_BACK,
                        zero,
                        message(
                            gettext_noop(
                                "Earn-back: %(what)s was earned back by the provider, as the "
                                "target was met in %(periods)s. Nothing is payable for it."
                            ),
                            what=what,
                            periods=series(decided),
                        ),
                        key,
                        credit,
                        period.label,
                    )
                )
                continue
            if final:
                rows.append(
                    _row(
                        EARN_BACK_PAID,
                        credit,
                        message(
                            gettext_noop(
                                "Earn-back: %(what)s is payable, as the contract ends before "
                                "%(periods)s."
                            ),
                            what=what,
                            periods=_deciding(period_name),
                        ),
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
    label: Value,
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
        parts = message(
            gettext_noop(
                "Chronic failure: %(line)s missed its target in %(breached)s within %(window)s "
                "(%(periods)s), reaching the contract's limit of %(limit)s within %(window)s: "
                "the customer may terminate the contract as it provides."
            ),
            line=line.label,
            breached=_periods_word(len(breached), period_name),
            window=_periods_word(line.chronic_window, period_name),
            periods=series(breached),
            limit=plural(
                ngettext_noop("%(count)s breach", "%(count)s breaches"),
                line.chronic_breaches,
                count=line.chronic_breaches,
            ),
        )
        findings.append(
            ChronicFinding(
                line.key,
                len(breached),
                line.chronic_window,
                tuple(breached),
                render(parts),
                parts,
            )
        )
    return tuple(findings)
