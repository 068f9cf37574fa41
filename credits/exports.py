"""Statements and credit figures in forms other than an HTML table: CSV rows and the PDF
that accounts payable files (the charts are :mod:`credits.charts`)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

import engine
from credits.models import Statement, StatementAdjustment, StatementLine
from engine import text
from engine.text import plain_decimal

# --------------------------------------------------------------------------- formatting


def attainment_text(value: Decimal | Fraction | None) -> str:
    """Attainment in a CSV cell or a chart: 3 decimals (:func:`engine.text.format_attainment`),
    empty for no data."""
    if value is None:
        return ""
    return text.format_attainment(Fraction(value))


def rule_text(line: StatementLine, period_name: str) -> str:
    """The rule applied to a line, from the snapshot the line keeps, in plain language."""
    try:
        rule = engine.parse_rule(line.credit_rule)
        return engine.describe_rule(
            rule,
            comparator=line.comparator,
            period_name=period_name,
            currency=line.statement.currency,
        )
    except (engine.ParameterError, ValueError):
        # An old snapshot the current engine no longer reads: say so, never fail the page.
        return "The rule recorded on this line can no longer be described."


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = [
    "statement_id",
    "contract",
    "provider",
    "customer",
    "period_start",
    "period_end",
    "period",
    "revision",
    "superseded",
    "currency",
    "line_id",
    "service",
    "key",
    "objective",
    "source_level",
    "indicator",
    "comparator",
    "target",
    "attainment",
    "met",
    "rule",
    "fee",
    "credit_percent",
    "amount",
    "explanation",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text a spreadsheet would run as a formula is prefixed with a quote (CSV injection)."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def csv_row(line: StatementLine, *, superseded: bool) -> list[str]:
    """One CSV row for one statement line (its statement, contract and service loaded)."""
    statement = line.statement
    contract = statement.contract
    currency = statement.currency
    met = "" if line.met is None else ("yes" if line.met else "no")
    return [
        str(statement.pk),
        safe_cell(contract.reference),
        safe_cell(contract.provider.name),
        safe_cell(contract.customer.name),
        statement.period_start.isoformat(),
        statement.period_end.isoformat(),
        text.period_label(statement.period_start, statement.period_end),
        str(statement.revision),
        "yes" if superseded else "no",
        currency,
        str(line.pk),
        safe_cell(line.contract_service.service.name),
        line.key,
        safe_cell(line.name),
        line.source_level,
        line.indicator,
        line.comparator,
        plain_decimal(line.target),
        attainment_text(line.attainment),
        met,
        safe_cell(rule_text(line, contract.settlement_period)),
        text.plain_money(line.fee, currency),
        plain_decimal(line.credit_percent),
        text.plain_money(line.amount, currency),
        safe_cell(line.explanation),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_text(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """Rows as CSV text chunks, one per row, for a streaming response."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def csv_stream(lines: Iterable[StatementLine]) -> Iterator[str]:
    """The header and one row per line, as text chunks for a streaming response.

    Each line needs ``superseded`` annotated (see ``selectors.statement_lines_for_export``).
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for line in lines:
        with translation.override(None):  # CSV is the same in every language
            row = csv_row(line, superseded=bool(getattr(line, "superseded", False)))
        yield writer.writerow(row)


# One row per statement, for the list's download: the figures as the list shows them.
STATEMENT_LIST_CSV_COLUMNS = [
    "statement_id",
    "contract",
    "customer",
    "provider",
    "period_start",
    "period_end",
    "status",
    "revision",
    "superseded",
    "payable_credit",
    "currency",
    "breached",
    "disputed",
]


def statement_list_row(statement: Statement) -> list[str]:
    """One CSV row for one statement (its contract and parties loaded, ``superseded``,
    ``breached`` and ``disputed`` annotated): dot decimals, yes/no flags."""
    contract = statement.contract
    return [
        str(statement.pk),
        safe_cell(contract.reference),
        safe_cell(contract.customer.name),
        safe_cell(contract.provider.name),
        statement.period_start.isoformat(),
        statement.period_end.isoformat(),
        statement.status,
        str(statement.revision),
        "yes" if statement.superseded else "no",
        text.plain_money(statement.credit_total, statement.currency),
        statement.currency,
        "yes" if statement.breached else "no",
        "yes" if statement.disputed else "no",
    ]


def statement_list_csv_stream(statements: Iterable[Statement]) -> Iterator[str]:
    """The header and one row per statement, as text chunks for a streaming response
    (see ``selectors.statements_for_export``)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(STATEMENT_LIST_CSV_COLUMNS)
    for statement in statements:
        with translation.override(None):  # CSV is the same in every language
            row = statement_list_row(statement)
        yield writer.writerow(row)


def summary_row(
    statement: Statement, *, kind: str, label: str, amount: Decimal, explanation: str
) -> list[str]:
    """A row below the lines (``key`` says which: cap_adjustment, minimum_credit, agreed,
    correction, total), with the statement's columns and its amount; no line's columns."""
    contract = statement.contract
    superseded = bool(getattr(statement, "superseded", False))
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update(
        statement_id=str(statement.pk),
        contract=safe_cell(contract.reference),
        provider=safe_cell(contract.provider.name),
        customer=safe_cell(contract.customer.name),
        period_start=statement.period_start.isoformat(),
        period_end=statement.period_end.isoformat(),
        period=text.period_label(statement.period_start, statement.period_end),
        revision=str(statement.revision),
        superseded="yes" if superseded else "no",
        currency=statement.currency,
        key=kind,
        objective=safe_cell(label),
        amount=text.plain_money(amount, statement.currency),
        explanation=safe_cell(explanation),
    )
    return [row[column] for column in CSV_COLUMNS]


def statement_csv(
    statement: Statement,
    lines: Sequence[StatementLine],
    adjustments: Sequence[StatementAdjustment] = (),
) -> str:
    """The CSV of one statement: one row per line, then the cap adjustment, the rows below
    the lines (minimum credit, disputes' remedies) and the total, so that the amounts of
    every row but the last add up to the last: what is payable. The same in every language:
    dot decimals, English words (a spreadsheet reads it whoever downloads it)."""
    with translation.override(None):
        return _statement_csv(statement, lines, adjustments)


def _statement_csv(
    statement: Statement,
    lines: Sequence[StatementLine],
    adjustments: Sequence[StatementAdjustment],
) -> str:
    for line in lines:
        line.statement = statement
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(csv_row(line, superseded=bool(getattr(statement, "superseded", False))))
    currency = statement.currency
    writer.writerow(
        summary_row(
            statement,
            kind="cap_adjustment",
            label="Cap adjustment",
            amount=statement.cap_adjustment,
            explanation=(
                "No credit cap applies."
                if statement.at_risk_amount is None
                else f"Credits are capped at the at-risk amount of "
                f"{text.format_money(statement.at_risk_amount, currency)}."
            ),
        )
    )
    for row in adjustments:
        writer.writerow(
            summary_row(
                statement,
                kind=row.kind,
                label=row.get_kind_display(),
                amount=row.amount,
                explanation=row.explanation,
            )
        )
    writer.writerow(
        summary_row(
            statement,
            kind="total",
            label="Credit total",
            amount=statement.credit_total,
            explanation="What is payable: the sum of the rows above.",
        )
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------- PDF


def statement_pdf(context: dict[str, Any]) -> bytes:
    """The statement as a PDF that accounts payable can file (WeasyPrint).

    The HTML is rendered from ``credits/statement_pdf.html``; nothing outside it is ever
    fetched (only ``data:`` URLs are allowed), so no statement text can make the server
    reach the network or the file system.
    """
    # WeasyPrint narrates every rendering step at INFO; the logs only need its warnings.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Imported here: WeasyPrint loads Pango, which only the PDF download needs.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string("credits/statement_pdf.html", context)
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()
