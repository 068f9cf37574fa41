"""Reads of statements: the lists, one statement with its lines, and its revisions.

Totals count only the latest revision of each period: a later revision replaces the
earlier one, which stays readable as "superseded".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.utils import dateformat
from django.utils.translation import gettext, pgettext

from contracts.models import Contract
from credits.models import Dispute, Statement, StatementAdjustment, StatementLine
from credits.querysets import breached_lines, later_revisions, statement_disputes

if TYPE_CHECKING:
    from contracts.querysets import User


def latest_revisions(statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """Only the latest revision of each (contract, period): the ones that count in totals."""
    return statements.latest_revisions()


def with_superseded(statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """Annotate ``superseded``: a later revision exists for the same contract and period."""
    return statements.with_superseded()


def statement_list(
    user: User,
    *,
    contract: Contract | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    include_superseded: bool = True,
) -> QuerySet[Statement]:
    """The statements a user may read, newest first, with what the list shows annotated
    (superseded, number of lines, open disputes) so a page of them is one query."""
    statements = Statement.objects.visible_to(user)
    if contract is not None:
        statements = statements.filter(contract=contract)
    if period_from is not None:
        statements = statements.filter(period_end__gte=period_from)
    if period_to is not None:
        statements = statements.filter(period_start__lte=period_to)
    if not include_superseded:
        statements = latest_revisions(statements)
    line_count = (
        StatementLine.objects.filter(statement_id=OuterRef("pk"))
        .order_by()
        .values("statement_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    open_disputes = (
        Dispute.objects.filter(line__statement_id=OuterRef("pk"), status=Dispute.Status.OPEN)
        .order_by()
        .values("line__statement_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        with_superseded(statements)
        .annotate(
            line_count=Subquery(line_count),
            open_disputes=Subquery(open_disputes),
            breached=Exists(breached_lines()),
        )
        .select_related("contract__provider", "contract__customer")
        .order_by("-period_start", "contract__reference", "-revision")
    )


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """The totals of a list of statements in one currency (amounts of two currencies are
    never added): how many statements, how many breached or with an open dispute, and
    the payable credit of the latest revisions among them (an earlier revision of a
    period is replaced by the later one, so counting both would pay twice)."""

    currency: str
    statements: int
    breached: int
    disputed: int
    credit: Decimal


def statement_totals(statements: QuerySet[Statement]) -> list[StatementTotals]:
    """Totals per currency over the whole of ``statements`` (every page), in one query.

    Each figure is its own grouped part of a UNION ALL, its condition in WHERE: there
    PostgreSQL joins the lines, disputes and later revisions once for the whole set (a
    semi- or anti-join), where a condition inside the aggregate (``FILTER (WHERE
    EXISTS …)``) would run once per statement."""
    listed = Statement.objects.filter(pk__in=statements.order_by().values("pk")).order_by()
    parts = [
        ("statements", listed),
        ("breached", listed.breached()),
        ("disputed", listed.disputed(open_only=True)),
        ("latest", listed.latest_revisions()),
    ]
    grouped = [
        part.values("currency")
        .annotate(part=Value(name), n=Count("id"), credit=Sum("credit_total"))
        .values("currency", "part", "n", "credit")
        for name, part in parts
    ]
    figures: dict[str, dict[str, Any]] = {}
    for row in grouped[0].union(*grouped[1:], all=True):
        figures.setdefault(row["currency"], {})[row["part"]] = row
    return [
        StatementTotals(
            currency=currency,
            statements=found["statements"]["n"],
            breached=found["breached"]["n"] if "breached" in found else 0,
            disputed=found["disputed"]["n"] if "disputed" in found else 0,
            credit=found["latest"]["credit"] if "latest" in found else Decimal(0),
        )
        for currency, found in sorted(figures.items())
    ]


def statements_for_export(statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """These statements with what a row of the list's CSV needs, in one query, oldest
    first with no sort by annotation (so the database can stream them)."""
    return (
        with_superseded(statements.order_by())
        .annotate(
            breached=Exists(breached_lines()),
            disputed=Exists(statement_disputes(open_only=True)),
        )
        .select_related("contract__provider", "contract__customer")
        .order_by("period_start", "contract__reference", "revision", "pk")
    )


def statement_lines_for_export(statements: QuerySet[Statement]) -> QuerySet[StatementLine]:
    """Every line of these statements with what a CSV row needs, in one query."""
    return (
        StatementLine.objects.filter(statement__in=statements.values("id"))
        .annotate(superseded=Exists(later_revisions("statement__")))
        .select_related(
            "statement__contract__provider",
            "statement__contract__customer",
            "contract_service__service",
        )
        .order_by(
            "-statement__period_start",
            "statement__contract__reference",
            "-statement__revision",
            "contract_service__service__code",
            "key",
        )
    )


def get_statement(user: User, statement_id: int) -> Statement:
    """One statement the user may read (``Statement.DoesNotExist`` otherwise)."""
    return with_superseded(
        Statement.objects.visible_to(user).select_related(
            "contract__provider", "contract__customer", "terms_change__made_by"
        )
    ).get(pk=statement_id)


def statement_lines(statement: Statement) -> list[StatementLine]:
    """The lines of a statement with their disputes (newest first), in two queries."""
    return list(
        statement.lines.select_related("contract_service__service")
        .prefetch_related(
            Prefetch(
                "disputes",
                queryset=Dispute.objects.select_related("opened_by", "resolved_by").order_by(
                    "-opened_at", "-id"
                ),
            )
        )
        .order_by("contract_service__service__code", "key")
    )


def statement_revisions(statement: Statement) -> list[Statement]:
    """Every revision of the statement's contract and period, newest first."""
    return list(
        Statement.objects.filter(
            contract_id=statement.contract_id, period_start=statement.period_start
        ).order_by("-revision")
    )


def statement_adjustments(statement: Statement) -> list[StatementAdjustment]:
    """The rows below a statement's lines (minimum credit, disputes' remedies), in order."""
    return list(statement.adjustments.order_by("position"))


def terms_version_text(statement: Statement) -> str:
    """Which terms a statement was settled on, in one sentence for both parties."""
    change = statement.terms_change
    if change is None:
        return gettext("The terms as first agreed.")
    day = pgettext("date format", "j F Y")
    words = {
        "made": dateformat.format(change.made_at, day),
        "who": change.made_by.get_username() if change.made_by_id else "",
        "number": change.pk,
        "start": (
            gettext("in force from %(day)s")
            % {"day": dateformat.format(change.effective_from, day)}
            if change.effective_from
            else gettext("in force from the contract's start")
        ),
    }
    if change.kind == "amendment":
        if change.made_by_id:
            text = gettext("Amended on %(made)s by %(who)s, %(start)s (terms change #%(number)s).")
        else:
            text = gettext("Amended on %(made)s, %(start)s (terms change #%(number)s).")
    elif change.made_by_id:
        text = gettext("Corrected on %(made)s by %(who)s, %(start)s (terms change #%(number)s).")
    else:
        text = gettext("Corrected on %(made)s, %(start)s (terms change #%(number)s).")
    return text % words
