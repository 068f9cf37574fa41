"""A statement's total: its lines, the cap, the minimum credit and what disputes agreed.

The rows below the lines each carry their amount and their sentence, and they add up:
lines total + cap adjustment + every adjustment = the credit total, exactly (every amount
is quantized once to the currency's minor unit before it is added). The order is fixed:
the cap limits what the lines earned; a total then below the contract's minimum credit is
paid as 0; earn-back then holds what the period's lines earned and pays or forgives what
earlier periods held (:mod:`engine.history`), and a chronic failure found says so in a row of
0; what the parties agreed to settle a dispute is added last, as agreed. An
accepted claim moves no money itself (its outage is an incident the lines counted): its row
of 0 says why the figures changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from engine.cap import CapResult, apply_cap
from engine.errors import ParameterError
from engine.history import (
    CHRONIC_FAILURE,
    HISTORY_KINDS,
    ChronicFinding,
    CurrentLine,
    HistoryRow,
    LineKey,
    PeriodOutcome,
    chronic_failures,
    earn_back,
)
from engine.l10n import gettext, gettext_noop
from engine.money import quantize_money
from engine.phrases import Parts, Value, message, money, render

MINIMUM_CREDIT = "minimum_credit"
AGREED = "agreed"
CORRECTION = "correction"
CLAIM = "claim"
ADJUSTMENT_KINDS = (MINIMUM_CREDIT, AGREED, CORRECTION, CLAIM, *HISTORY_KINDS)


@dataclass(frozen=True, slots=True)
class Remedy:
    """An accepted dispute of the period: an agreed ``amount``, or None for a correction
    (the period was settled again on corrected data or terms)."""

    dispute: int
    amount: Decimal | None = None
    resolution: str = ""


@dataclass(frozen=True, slots=True)
class AcceptedClaim:
    """A customer's claim of the period that the provider accepted: its outage (described
    in ``outage``, e.g. "Managed WAN, 2026-10-05 10:00 to 12:00 UTC") was recorded as an
    incident, which the lines have counted."""

    claim: int
    # Which service and when (engine.phrases parts, or text as it is).
    outage: Value


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A row below a statement's lines: its kind, signed amount and sentence."""

    kind: str
    amount: Decimal
    explanation: str
    dispute: int | None = None
    claim: int | None = None
    # The explanation as its parts (engine.phrases), to be read in any language.
    parts: Parts | None = None

    @classmethod
    def of(
        cls, kind: str, amount: Decimal, parts: Parts, dispute: int | None = None, **more: int
    ) -> Adjustment:
        """A row whose explanation is ``parts`` as the site's language writes them."""
        return cls(kind, amount, render(parts), dispute, parts=parts, **more)


@dataclass(frozen=True, slots=True)
class History:
    """What the period being settled needs of its contract's earlier periods: their
    outcomes (oldest first, None: not settled), this period's lines as judged, whether it
    is the contract's last, and the words for it (``period_name`` "month", ``label``
    "March 2027")."""

    earlier: Sequence[PeriodOutcome | None]
    lines: Sequence[CurrentLine]
    final: bool
    period_name: str
    label: Value


@dataclass(frozen=True, slots=True)
class StatementTotal:
    cap: CapResult
    adjustments: tuple[Adjustment, ...]
    credit_total: Decimal
    # What each line holds for earn-back, and the chronic failures found.
    held: Mapping[LineKey, Decimal] = field(default_factory=dict)
    chronic: tuple[ChronicFinding, ...] = ()
    # Earn-back's rows with what each decides (the held credit, the period that held it).
    earn_back: tuple[HistoryRow, ...] = ()

    @property
    def lines_total(self) -> Decimal:
        return self.cap.lines_total


def total_statement(
    amounts: Sequence[Decimal],
    *,
    at_risk: Decimal | None,
    currency: str,
    minimum_credit: Decimal | None = None,
    remedies: Sequence[Remedy] = (),
    claims: Sequence[AcceptedClaim] = (),
    history: History | None = None,
) -> StatementTotal:
    """The credit total of a statement whose lines earned ``amounts``, with every row that
    moves it. Raises :class:`ParameterError` for a negative minimum or agreed amount."""
    cap = apply_cap(amounts, at_risk, currency)
    total = cap.credit_total
    rows: list[Adjustment] = []
    if minimum_credit:
        minimum = quantize_money(minimum_credit, currency)
        if minimum < 0:
            raise ParameterError(
                gettext("minimum_credit must not be negative"), field="minimum_credit"
            )
        if 0 < total < minimum:
            rows.append(
                Adjustment.of(
                    MINIMUM_CREDIT,
                    -total,
                    message(
                        gettext_noop(
                            "Credits of %(total)s are below the minimum credit of %(minimum)s: "
                            "nothing is payable."
                        ),
                        total=money(total, currency),
                        minimum=money(minimum, currency),
                    ),
                )
            )
            total = quantize_money(0, currency)
    held: Mapping[LineKey, Decimal] = {}
    chronic: tuple[ChronicFinding, ...] = ()
    decided: tuple[HistoryRow, ...] = ()
    if history is not None:
        kept = earn_back(
            history.earlier,
            history.lines,
            available=total,
            final=history.final,
            currency=currency,
            period_name=history.period_name,
            label=history.label,
        )
        held = kept.held
        decided = kept.rows
        rows.extend(
            Adjustment(row.kind, row.amount, row.explanation, parts=row.parts) for row in kept.rows
        )
        total += kept.delta
        chronic = chronic_failures(
            history.earlier, history.lines, label=history.label, period_name=history.period_name
        )
        zero = quantize_money(0, currency)
        rows.extend(
            Adjustment(CHRONIC_FAILURE, zero, found.explanation, parts=found.parts)
            for found in chronic
        )
    for remedy in sorted(remedies, key=lambda item: item.dispute):
        if remedy.amount is None:
            # The resolution is a person's words: said as they wrote them.
            note = (
                message(
                    gettext_noop(
                        "Settled again after dispute #%(dispute)s was accepted with a "
                        "correction: %(resolution)s"
                    ),
                    dispute=remedy.dispute,
                    resolution=remedy.resolution,
                )
                if remedy.resolution
                else message(
                    gettext_noop(
                        "Settled again after dispute #%(dispute)s was accepted with a correction."
                    ),
                    dispute=remedy.dispute,
                )
            )
            rows.append(
                Adjustment.of(CORRECTION, quantize_money(0, currency), note, remedy.dispute)
            )
            continue
        amount = quantize_money(remedy.amount, currency)
        if amount <= 0:
            raise ParameterError(gettext("an agreed adjustment must be above 0"), field="amount")
        rows.append(
            Adjustment.of(
                AGREED,
                amount,
                message(
                    gettext_noop("Agreed adjustment, dispute #%(dispute)s: %(amount)s"),
                    dispute=remedy.dispute,
                    amount=money(amount, currency),
                ),
                remedy.dispute,
            )
        )
        total += amount
    for accepted in sorted(claims, key=lambda item: item.claim):
        rows.append(
            Adjustment.of(
                CLAIM,
                quantize_money(0, currency),
                message(
                    gettext_noop(
                        "Claim #%(claim)s accepted: the outage it reports (%(outage)s) is "
                        "counted as a provider incident in the lines above."
                    ),
                    claim=accepted.claim,
                    outage=accepted.outage,
                ),
                claim=accepted.claim,
            )
        )
    return StatementTotal(cap, tuple(rows), total, held, chronic, decided)
