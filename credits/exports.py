"""Statements and credit figures in forms other than an HTML table: CSV rows, the PDF that
accounts payable files, and the geometry of the inline SVG charts.

Charts are drawn on the server as SVG (no script, no CDN, nothing our CSP would refuse);
each data point is its own element with a ``<title>`` tooltip and ``data-*`` attributes,
and every chart sits next to a table with the same figures.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

from django.template.loader import render_to_string

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


def _cell(text: str) -> str:
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
        _cell(contract.reference),
        _cell(contract.provider.name),
        _cell(contract.customer.name),
        statement.period_start.isoformat(),
        statement.period_end.isoformat(),
        text.period_label(statement.period_start, statement.period_end),
        str(statement.revision),
        "yes" if superseded else "no",
        currency,
        str(line.pk),
        _cell(line.contract_service.service.name),
        line.key,
        _cell(line.name),
        line.source_level,
        line.indicator,
        line.comparator,
        plain_decimal(line.target),
        attainment_text(line.attainment),
        met,
        _cell(rule_text(line, contract.settlement_period)),
        text.plain_money(line.fee, currency),
        plain_decimal(line.credit_percent),
        text.plain_money(line.amount, currency),
        _cell(line.explanation),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(lines: Iterable[StatementLine]) -> Iterator[str]:
    """The header and one row per line, as text chunks for a streaming response.

    Each line needs ``superseded`` annotated (see ``selectors.statement_lines_for_export``).
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for line in lines:
        yield writer.writerow(csv_row(line, superseded=bool(getattr(line, "superseded", False))))


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
        contract=_cell(contract.reference),
        provider=_cell(contract.provider.name),
        customer=_cell(contract.customer.name),
        period_start=statement.period_start.isoformat(),
        period_end=statement.period_end.isoformat(),
        period=text.period_label(statement.period_start, statement.period_end),
        revision=str(statement.revision),
        superseded="yes" if superseded else "no",
        currency=statement.currency,
        key=kind,
        objective=_cell(label),
        amount=text.plain_money(amount, statement.currency),
        explanation=_cell(explanation),
    )
    return [row[column] for column in CSV_COLUMNS]


def statement_csv(
    statement: Statement,
    lines: Sequence[StatementLine],
    adjustments: Sequence[StatementAdjustment] = (),
) -> str:
    """The CSV of one statement: one row per line, then the cap adjustment, the rows below
    the lines (minimum credit, disputes' remedies) and the total, so that the amounts of
    every row but the last add up to the last: what is payable."""
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


# --------------------------------------------------------------------------- SVG charts

WIDTH = 720
HEIGHT = 260
LEFT = 72
RIGHT = 16
TOP = 28
BOTTOM = 40
TENTH = Decimal("0.1")


def _px(value: Decimal) -> str:
    return format(value.quantize(TENTH), "f")


def _nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` in about
    ``ticks`` parts."""
    if span <= 0:
        return Decimal(1)
    raw = span / ticks
    power = Decimal(1).scaleb(raw.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        step = power * factor
        if step >= raw:
            return step
    return power * 10  # pragma: no cover - the loop always returns


@dataclass(slots=True)
class Gridline:
    y: str
    label: str


@dataclass(slots=True)
class AxisLabel:
    x: str
    text: str


@dataclass(slots=True, kw_only=True)
class Mark:
    """What every plotted element carries: its period and value (as data attributes for
    scripts and tests), the tooltip title and a CSS class such as "breached"."""

    period: str
    value: str
    title: str
    css_class: str = ""


@dataclass(slots=True, kw_only=True)
class Bar(Mark):
    x: str
    y: str
    width: str
    height: str


@dataclass(slots=True, kw_only=True)
class Point(Mark):
    cx: str
    cy: str


@dataclass(slots=True)
class Chart:
    """What the SVG templates draw: plot area, gridlines, labels and data elements."""

    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    gridlines: list[Gridline] = field(default_factory=list)
    xlabels: list[AxisLabel] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    line: str = ""  # polyline points of the attainment
    target_line: str = ""  # polyline points of the target, stepped per period
    unit: str = ""

    @property
    def empty(self) -> bool:
        return not self.bars and not self.points


@dataclass(slots=True)
class Datum:
    """One slot on the x axis: a period with its value (``None``: no data)."""

    period: date
    label: str
    value: Decimal | None
    title: str
    css_class: str = ""
    target: Decimal | None = None


def _slots(chart: Chart, count: int) -> tuple[Decimal, list[Decimal]]:
    width = Decimal(chart.right - chart.left) / max(count, 1)
    centers = [chart.left + width * i + width / 2 for i in range(count)]
    return width, centers


# How wide a character of the axis text may be (18 units on phones, see credits.css), and
# the gap kept between labels.
_CHAR_WIDTH = 11
_LABEL_GAP = 12


def _x_labels(chart: Chart, data: Sequence[Datum], centers: list[Decimal]) -> list[AxisLabel]:
    """Every n-th period named, n as small as keeps the longest label clear of the next
    (``Week 47 2026 (16–22 Nov)`` needs more room than ``Nov 2026``); each label moved in
    so that it stays inside the chart."""
    if not data:
        return []
    longest = max(len(datum.label) for datum in data) * _CHAR_WIDTH
    room = Decimal(chart.right - chart.left) / len(data)
    every = max(1, -(-(longest + _LABEL_GAP) // (int(room) or 1)))
    half = Decimal(longest) / 2
    return [
        AxisLabel(x=_px(min(max(centers[i], half), chart.width - half)), text=data[i].label)
        for i in range(len(data))
        if (len(data) - 1 - i) % every == 0
    ]


def _y(chart: Chart, value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    span = high - low or Decimal(1)
    return chart.bottom - (value - low) / span * (chart.bottom - chart.top)


def _gridlines(
    chart: Chart, low: Decimal, high: Decimal, step: Decimal, suffix: str
) -> list[Gridline]:
    lines = []
    value = low
    while value <= high:
        lines.append(
            Gridline(y=_px(_y(chart, value, low, high)), label=plain_decimal(value) + suffix)
        )
        value += step
    return lines


def bar_chart(data: Sequence[Datum], *, title: str, description: str, unit: str) -> Chart:
    """Bars from zero, one per period (credits per month, credits per period)."""
    chart = Chart(title=title, description=description, unit=unit)
    if not data:
        return chart
    top_value = max((d.value for d in data if d.value is not None), default=Decimal(0))
    step = _nice_step(top_value)
    high = (top_value / step).to_integral_value(ROUND_CEILING) * step if top_value else step
    high = max(high, step)
    chart.gridlines = _gridlines(chart, Decimal(0), high, step, "")
    width, centers = _slots(chart, len(data))
    bar_width = width * Decimal("0.7")
    for datum, center in zip(data, centers, strict=True):
        value = datum.value or Decimal(0)
        y = _y(chart, value, Decimal(0), high)
        chart.bars.append(
            Bar(
                x=_px(center - bar_width / 2),
                y=_px(y),
                width=_px(bar_width),
                height=_px(chart.bottom - y),
                period=datum.period.isoformat(),
                value=plain_decimal(value),
                title=datum.title,
                css_class=datum.css_class,
            )
        )
    chart.xlabels = _x_labels(chart, data, centers)
    return chart


def attainment_chart(
    data: Sequence[Datum], *, title: str, description: str, percentage: bool
) -> Chart:
    """Attainment per period as points on a line, against the target as a dashed step
    line. A period without data has no point (the gap shows in the table)."""
    unit = " %" if percentage else ""
    chart = Chart(title=title, description=description, unit=unit)
    if not data:
        return chart
    values = [d.value for d in data if d.value is not None]
    values += [d.target for d in data if d.target is not None]
    low_raw, high_raw = (min(values), max(values)) if values else (Decimal(0), Decimal(100))
    span = high_raw - low_raw
    pad = span / 10 if span else Decimal(1)
    step = _nice_step(span + 2 * pad)
    low = ((low_raw - pad) / step).to_integral_value(ROUND_FLOOR) * step
    high = ((high_raw + pad) / step).to_integral_value(ROUND_CEILING) * step
    low = max(low, Decimal(0))
    if percentage:
        high = min(high, Decimal(100)) if high_raw < 100 else max(high, Decimal(100))
    if high <= low:
        high = low + step
    chart.gridlines = _gridlines(chart, low, high, step, unit)
    _width, centers = _slots(chart, len(data))
    line: list[str] = []
    target: list[str] = []
    half = _width / 2
    for datum, center in zip(data, centers, strict=True):
        if datum.target is not None:
            ty = _px(_y(chart, datum.target, low, high))
            target += [f"{_px(center - half)},{ty}", f"{_px(center + half)},{ty}"]
        if datum.value is None:
            continue
        cy = _px(_y(chart, datum.value, low, high))
        line.append(f"{_px(center)},{cy}")
        chart.points.append(
            Point(
                cx=_px(center),
                cy=cy,
                period=datum.period.isoformat(),
                value=attainment_text(datum.value),
                title=datum.title,
                css_class=datum.css_class,
            )
        )
    chart.line = " ".join(line)
    chart.target_line = " ".join(target)
    chart.xlabels = _x_labels(chart, data, centers)
    return chart
