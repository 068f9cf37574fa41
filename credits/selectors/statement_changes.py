"""What a statement says at a glance, and what changed since the previous revision.

A statement opens with its summary (payable credit, status, changes, open disputes) and a
revision shows its difference to the one before it line by line. Lines of two revisions
are matched by contract service and objective key (one line per pair in a statement);
a line on one side only was added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from credits.models import Dispute, Statement, StatementAdjustment, StatementLine
from engine import text

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class LineChange:
    """One line of a revision against the same line of the previous revision."""

    service: str
    name: str
    key: str
    indicator: str
    change: str
    before: StatementLine | None
    after: StatementLine | None

    @property
    def line(self) -> StatementLine:
        """The line as it stands on whichever side has it (the newer one first)."""
        line = self.after or self.before
        assert line is not None
        return line

    @property
    def change_label(self) -> str:
        return {
            ADDED: _("added"),
            REMOVED: _("removed"),
            CHANGED: _("changed"),
            UNCHANGED: _("unchanged"),
        }[self.change]


@dataclass(frozen=True, slots=True)
class StatementChanges:
    """A statement against its previous revision (``previous`` None: the first one)."""

    statement: Statement
    previous: Statement | None
    lines: list[LineChange]
    sentences: list[str] = field(default_factory=list)

    @property
    def changed_count(self) -> int:
        return sum(1 for change in self.lines if change.change != UNCHANGED)


def line_identity(line: StatementLine) -> tuple[int, str]:
    """What matches a line across revisions: its contract service and objective key."""
    return (line.contract_service_id, line.key)


def _differs(before: StatementLine, after: StatementLine) -> bool:
    return (
        before.attainment != after.attainment
        or before.credit_percent != after.credit_percent
        or before.amount != after.amount
        or before.held != after.held
        or before.met != after.met
    )


def previous_revision(statement: Statement, revisions: list[Statement]) -> Statement | None:
    """The revision just before ``statement`` among ``revisions`` (any order)."""
    earlier = [r for r in revisions if r.revision < statement.revision]
    return max(earlier, key=lambda r: r.revision) if earlier else None


def compare_lines(before: list[StatementLine], after: list[StatementLine]) -> list[LineChange]:
    """Every line of either side, matched by identity, in the newer side's order with
    removed lines last."""
    earlier = {line_identity(line): line for line in before}
    changes = []
    for line in after:
        old = earlier.pop(line_identity(line), None)
        change = ADDED if old is None else CHANGED if _differs(old, line) else UNCHANGED
        changes.append(_change(change, old, line))
    changes.extend(_change(REMOVED, old, None) for old in earlier.values())
    return changes


def _change(change: str, before: StatementLine | None, after: StatementLine | None) -> LineChange:
    line = after or before
    assert line is not None
    return LineChange(
        service=line.contract_service.service.name,
        name=line.name,
        key=line.key,
        indicator=line.indicator,
        change=change,
        before=before,
        after=after,
    )


def _money_change(before: Decimal, after: Decimal, currency: str) -> str:
    return f"{text.format_money(before, currency)} → {text.format_money(after, currency)}"


def _attainment_text(line: StatementLine | None) -> str:
    if line is None or line.attainment is None:
        return _("no data")
    return text.format_measured(line.attainment, percentage=line.indicator != "count")


def change_sentences(
    statement: Statement,
    previous: Statement,
    lines: list[LineChange],
    adjustments: list[StatementAdjustment],
    previous_adjustments: list[StatementAdjustment],
) -> list[str]:
    """One sentence per change since ``previous``: the credit total, each line's
    attainment and credit, lines added or removed, rows added below the lines."""
    currency = statement.currency
    sentences = []
    if previous.credit_total != statement.credit_total:
        sentences.append(
            _("Credit total %(change)s.")
            % {"change": _money_change(previous.credit_total, statement.credit_total, currency)}
        )
    for change in lines:
        names = {"objective": change.name, "service": change.service}
        if change.change == ADDED:
            sentences.append(
                _("Line added: %(objective)s (%(service)s), credit %(amount)s.")
                % {**names, "amount": text.format_money(change.line.amount, currency)}
            )
        elif change.change == REMOVED:
            sentences.append(
                _("Line removed: %(objective)s (%(service)s), was %(amount)s.")
                % {**names, "amount": text.format_money(change.line.amount, currency)}
            )
        elif change.change == CHANGED:
            before, after = change.before, change.after
            assert before is not None and after is not None
            sentences.append(
                _(
                    "%(objective)s (%(service)s): attainment %(attainment_before)s → "
                    "%(attainment_after)s, credit %(credit)s."
                )
                % {
                    **names,
                    "attainment_before": _attainment_text(before),
                    "attainment_after": _attainment_text(after),
                    "credit": _money_change(before.amount, after.amount, currency),
                }
            )
    earlier = {row.explanation for row in previous_adjustments}
    sentences.extend(
        _("Added below the lines: %(row)s") % {"row": row.explanation_text}
        for row in adjustments
        if row.explanation not in earlier
    )
    if not sentences:
        sentences.append(_("Nothing that this statement shows changed."))
    return sentences


def comparable_lines(statement: Statement) -> list[StatementLine]:
    """A revision's lines with their service, as the comparison reads them; one query."""
    return list(
        statement.lines.select_related("contract_service__service").order_by(
            "contract_service__service__code", "key"
        )
    )


def statement_changes(
    statement: Statement,
    lines: list[StatementLine],
    revisions: list[Statement],
    adjustments: list[StatementAdjustment],
) -> StatementChanges:
    """The statement against its previous revision, from what the page already read
    (its lines, revisions and rows below the lines); two queries more for a revision,
    none for a first statement."""
    previous = previous_revision(statement, revisions)
    if previous is None:
        return StatementChanges(statement, None, [])
    changes = compare_lines(comparable_lines(previous), lines)
    previous_rows = list(previous.adjustments.order_by("position"))
    sentences = change_sentences(statement, previous, changes, adjustments, previous_rows)
    return StatementChanges(statement, previous, changes, sentences)


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """What a statement opens with."""

    payable: Decimal
    held: Decimal
    statuses: list[tuple[str, str]]
    open_disputes: list[Dispute]
    changes: StatementChanges


def statement_summary(
    statement: Statement, lines: list[StatementLine], changes: StatementChanges
) -> StatementSummary:
    """The payable credit as settlement decided it (after caps and minimums), the held
    credit, the statuses (css class, label), the open disputes of its lines (their
    disputes already loaded on each line as ``all_disputes`` or prefetched)."""
    open_disputes = [
        dispute
        for line in lines
        for dispute in getattr(line, "all_disputes", None) or line.disputes.all()
        if dispute.status == Dispute.Status.OPEN
    ]
    statuses = [("issued", _("issued"))]
    if statement.revision > 1:
        statuses.append(("revised", _("revised")))
    if getattr(statement, "superseded", False):
        statuses.append(("superseded", _("superseded")))
    else:
        statuses.append(("latest", _("latest")))
    if open_disputes:
        statuses.append(("open", _("disputed")))
    return StatementSummary(
        payable=statement.credit_total,
        held=sum((line.held for line in lines), Decimal(0)),
        statuses=statuses,
        open_disputes=open_disputes,
        changes=changes,
    )
