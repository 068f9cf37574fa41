"""The geometry of the inline SVG charts: attainment against target per period, and
credits per period stacked by contract.

Drawn on the server (no script, no CDN, nothing the CSP would refuse). The horizontal
positions are percentages of the chart's width and the vertical ones pixels, so text is
always drawn at its real size (12 px on a phone as on a desktop) instead of shrinking with
a scaled drawing; a tooltip is moved beside its mark by a transform in pixels.

Every point and bar is focusable with an accessible name and shows its figures on hover
and keyboard focus (CSS, no script); the same figures are in a table next to each chart.
Axis labels are thinned for two widths of the plot, a phone's and a desktop's, so that
none overlaps the next or leaves the chart (the CSS picks the set by the viewport).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from itertools import pairwise
from typing import TYPE_CHECKING

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from engine import text

if TYPE_CHECKING:
    from credits.models import OpenPeriodProgress, StatementLine

HEIGHT = 240
COMPACT_HEIGHT = 160  # the contract page's chart per objective
TOP = 24  # room for the top gridline's label, drawn above its line
AXIS_ROOM = 34  # below the x axis: its labels
BOTTOM = HEIGHT - AXIS_ROOM
FONT_PX = 12
# DejaVu Sans (Debian's sans-serif) is about 0.63 em a character, digits included.
CHAR_PX = Decimal("7.6")
LABEL_GAP_PX = 10
# The narrowest plot each set of axis labels must fit: a 390 px phone (its page padding
# taken off) and the narrowest desktop layout (the CSS switches at 640 px).
PHONE_PLOT_PX = 350
DESKTOP_PLOT_PX = 590
# A compact chart sits in a grid column of at least 22 rem (static/css/charts.css) on a
# desktop too.
COMPACT_PLOT_PX = 340
LINE_PX = 15  # a tooltip's line height
TIP_PARTS = 4  # contracts named in a stacked bar's tooltip, the largest
# Most periods drawn: longer histories are in the table next to the chart.
CHART_PERIODS = 12

# Series colours, each at least 3:1 against white (WCAG 1.4.11), and patterns, so that two
# contracts differ by more than their colour; the legend lists them in stacking order.
PALETTE = ("#0a5bd3", "#b35900", "#1a7f37", "#8250df", "#57606a", "#bf3989")
PATTERNS = ("solid", "stripes", "dots", "hatch")


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01'))}%"


def _px(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")), "f")


def text_px(label: str) -> Decimal:
    """The width of a label in the chart's type, a little generous."""
    return len(label) * CHAR_PX


def nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` in about
    ``ticks`` parts."""
    if span <= 0:
        return Decimal(1)
    raw = span / ticks
    power = Decimal(1).scaleb(raw.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5):
        step = power * factor
        if step >= raw:
            return step
    return power * 10


@dataclass(slots=True)
class Gridline:
    y: str
    label: str


@dataclass(slots=True)
class AxisLabel:
    x: str
    text: str
    anchor: str  # start, middle or end
    # Left out where the plot is narrow (phones) or wide (desktops): see thin_labels.
    phone: bool = True
    desktop: bool = True


@dataclass(slots=True)
class Tip:
    """The tooltip of a mark: lines of text in a white box beside it."""

    lines: list[str]
    x: str  # the mark's centre, a percentage
    dx: str  # pixels from there to the box's left edge
    y: str
    width: str
    height: str

    @property
    def text_x(self) -> str:
        return _px(Decimal(self.dx) + 6)

    @property
    def rows(self) -> list[tuple[str, str]]:
        top = Decimal(self.y)
        return [(_px(top + LINE_PX * (i + 1) - 3), line) for i, line in enumerate(self.lines)]

    @property
    def svg(self) -> str:
        """The box and its lines, shown by CSS on the mark's hover and focus (the mark's
        own name says the same to assistive technology). Written here rather than by a
        template included once per mark: the charts' marks are many."""
        return format_html(
            '<g class="tip" aria-hidden="true" transform="translate({} 0)">'
            '<rect x="{}" y="{}" width="{}" height="{}" rx="4"/>{}</g>',
            self.dx,
            self.x,
            self.y,
            self.width,
            self.height,
            format_html_join(
                "",
                '<text x="{}" dx="6" y="{}">{}</text>',
                ((self.x, y, line) for y, line in self.rows),
            ),
        )


@dataclass(slots=True, kw_only=True)
class Mark:
    """What every focusable element carries: its period and value (data attributes, for
    tests), its accessible name and its tooltip."""

    period: str
    value: str
    name: str
    tip: Tip
    css_class: str = ""


@dataclass(slots=True, kw_only=True)
class Point(Mark):
    cx: str
    cy: str


@dataclass(slots=True)
class Segment:
    """One contract's part of a stacked bar."""

    x: str
    y: str
    width: str
    height: str
    series: int
    value: str


@dataclass(slots=True, kw_only=True)
class Bar(Mark):
    """A period's stack: the focusable column (``x``/``width``, the plot's full height)
    and its segments, bottom first."""

    x: str
    width: str
    segments: list[Segment] = field(default_factory=list)
    # Each series' part with its amount in words (``"ACME-1 250.00 EUR, ACME-2 100.00
    # EUR"``), series with nothing left out: the dashboard's table says the same.
    parts_text: str = ""


@dataclass(slots=True)
class LineSegment:
    x1: str
    y1: str
    x2: str
    y2: str
    css_class: str = ""


@dataclass(slots=True)
class SeriesStyle:
    index: int
    name: str
    colour: str
    pattern: str


@dataclass(slots=True)
class Chart:
    """What the SVG templates draw."""

    id: str
    title: str
    description: str
    height: int = HEIGHT
    top: int = TOP
    bottom: int = BOTTOM
    unit: str = ""
    # The narrowest plot on a phone and on a desktop, that the axis labels must fit.
    plot_widths: tuple[int, int] = (PHONE_PLOT_PX, DESKTOP_PLOT_PX)
    gridlines: list[Gridline] = field(default_factory=list)
    xlabels: list[AxisLabel] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    lines: list[LineSegment] = field(default_factory=list)  # attainment, point to point
    target_lines: list[LineSegment] = field(default_factory=list)  # a step per period
    target_label: AxisLabel | None = None
    target_label_y: str = ""
    bars: list[Bar] = field(default_factory=list)
    series: list[SeriesStyle] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.bars and not self.points

    @property
    def has_provisional(self) -> bool:
        return any("provisional" in p.css_class for p in self.points)

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def label_y(self) -> str:
        return str(self.bottom + FONT_PX + 8)

    @property
    def segments_svg(self) -> str:
        """Every bar's segments as SVG, written here rather than by a template loop: a
        dashboard of twenty contracts has hundreds (a tenth of its rendering time). Their
        attributes are figures this module wrote; only the chart's id is escaped, once."""
        chart_id = escape(self.id)
        return mark_safe(
            "".join(
                f'<rect class="segment" x="{s.x}" y="{s.y}" width="{s.width}" '
                f'height="{s.height}" fill="url(#{chart_id}-s{s.series})" '
                f'data-series="{s.series}" data-value="{s.value}"/>'
                for bar in self.bars
                for s in bar.segments
            )
        )

    @property
    def legend(self) -> list[SeriesStyle]:
        """Top of the stack first, as the eye reads the bars."""
        return list(reversed(self.series))


@dataclass(slots=True)
class Datum:
    """One period of an attainment chart (``value`` None: no data). ``provisional``: the
    open period, its attainment so far."""

    period: date
    label: str
    value: Decimal | Fraction | None
    target: Decimal | None
    comparator: str = "gte"
    state: str = ""  # met, breached, or the open period's state
    state_text: str = ""
    provisional: bool = False


@dataclass(slots=True)
class StackedPeriod:
    """One period of a stacked bar chart: one amount per series, in the series' order."""

    period: date
    label: str
    amounts: list[Decimal]


# --------------------------------------------------------------------------- axes


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
            Gridline(y=_px(_y(chart, value, low, high)), label=text.format_decimal(value) + suffix)
        )
        value += step
    return lines


def _centres(count: int) -> list[Decimal]:
    return [(Decimal(i) + Decimal("0.5")) / count for i in range(count)]


def _box(label: AxisLabel, centre: Decimal, plot_px: int) -> tuple[Decimal, Decimal]:
    width = text_px(label.text)
    if label.anchor == "start":
        return Decimal(0), width
    if label.anchor == "end":
        return plot_px - width, Decimal(plot_px)
    middle = centre * plot_px
    return middle - width / 2, middle + width / 2


def _fits(labels: list[AxisLabel], centres: list[Decimal], shown: list[int], px: int) -> bool:
    boxes = [_box(labels[i], centres[i], px) for i in shown]
    return all(b[0] >= 0 and b[1] <= px for b in boxes) and all(
        later[0] - earlier[1] >= LABEL_GAP_PX for earlier, later in pairwise(boxes)
    )


def thin_labels(
    labels: list[AxisLabel],
    centres: list[Decimal],
    widths: tuple[int, int] = (PHONE_PLOT_PX, DESKTOP_PLOT_PX),
) -> None:
    """Name every n-th period, counted back from the newest (always named), n as small as
    keeps each label clear of the next at the phone's and at the desktop's plot width.
    The newest and oldest labels are aligned to the chart's edge when centring them under
    their period would cut them off at either width."""
    count = len(labels)
    for index in (0, count - 1):
        centre, width = centres[index], text_px(labels[index].text)
        for px in widths:
            if centre * px - width / 2 < 0:
                labels[index].anchor, labels[index].x = "start", "0%"
            elif centre * px + width / 2 > px:
                labels[index].anchor, labels[index].x = "end", "100%"
    for px, attribute in zip(widths, ("phone", "desktop"), strict=True):
        for every in range(1, count + 1):
            shown = [i for i in range(count) if (count - 1 - i) % every == 0]
            if _fits(labels, centres, shown, px) or every == count:
                break
        for i, label in enumerate(labels):
            setattr(label, attribute, i in shown)


def _x_labels(chart: Chart, names: Sequence[str], centres: list[Decimal]) -> list[AxisLabel]:
    labels = [
        AxisLabel(x=_pct(c), text=name, anchor="middle")
        for name, c in zip(names, centres, strict=True)
    ]
    if labels:
        thin_labels(labels, centres, chart.plot_widths)
    return labels


def _tip(chart: Chart, lines: list[str], centre: Decimal, anchor_y: Decimal) -> Tip:
    """A box beside the mark: to its right in the left half of the chart, else to its
    left; above the mark when there is room, else below."""
    width = max(text_px(line) for line in lines) + 12
    height = Decimal(LINE_PX * len(lines) + 6)
    above = anchor_y - chart.top > height + 10
    dx = Decimal(10) if centre < Decimal("0.5") else -width - 10
    y = anchor_y - height - 8 if above else anchor_y + 8
    y = min(max(y, Decimal(0)), Decimal(chart.height) - height)
    return Tip(
        lines=lines, x=_pct(centre), dx=_px(dx), y=_px(y), width=_px(width), height=_px(height)
    )


# --------------------------------------------------------------------------- attainment


def attainment_chart(
    data: Sequence[Datum],
    *,
    chart_id: str,
    title: str,
    description: str,
    percentage: bool,
    compact: bool = False,
) -> Chart:
    """Attainment per period as points joined by a line, against the target as a dashed
    step line labelled with the newest target. The y axis spans the values and targets
    with a margin (99.2–100 % for an availability near 99.9 %), so the target line is
    always in view. A period without data has no point (the gap shows in the table); the
    open period's point is hollow and its line dashed (provisional). The last
    ``CHART_PERIODS`` settled periods are drawn, and the open one after them. ``compact``:
    lower, with fewer gridlines (a chart per objective on the contract page)."""
    unit = " %" if percentage else ""
    chart = Chart(id=chart_id, title=title, description=description)
    if compact:
        chart.height, chart.bottom = COMPACT_HEIGHT, COMPACT_HEIGHT - AXIS_ROOM
        chart.plot_widths = (COMPACT_PLOT_PX, COMPACT_PLOT_PX)
    settled = [d for d in data if not d.provisional]
    data = settled[-CHART_PERIODS:] + [d for d in data if d.provisional]
    if not data:
        return chart
    values = [Decimal(d.value) for d in data if d.value is not None]
    values += [d.target for d in data if d.target is not None]
    low_raw, high_raw = (min(values), max(values)) if values else (Decimal(0), Decimal(100))
    span = high_raw - low_raw
    pad = span / 10 if span else max(abs(high_raw) / 1000, Decimal("0.1"))
    step = nice_step(span + 2 * pad, ticks=2 if compact else 4)
    low = ((low_raw - pad) / step).to_integral_value(ROUND_FLOOR) * step
    high = ((high_raw + pad) / step).to_integral_value(ROUND_CEILING) * step
    low = max(low, Decimal(0))
    if percentage and high_raw <= 100:
        high = min(high, Decimal(100))
    if high <= low:
        high = low + step
    chart.gridlines = _gridlines(chart, low, high, step, unit)
    centres = _centres(len(data))
    half = Decimal(1) / len(data) / 2
    previous: Point | None = None
    for datum, centre in zip(data, centres, strict=True):
        target_text = ""
        if datum.target is not None:
            target_text = text.format_target(
                datum.target, comparator=datum.comparator, percentage=percentage
            )
            ty = _px(_y(chart, datum.target, low, high))
            last = chart.target_lines[-1] if chart.target_lines else None
            if last is not None and last.y1 == ty and last.x2 == _pct(centre - half):
                last.x2 = _pct(centre + half)
            else:
                chart.target_lines.append(
                    LineSegment(x1=_pct(centre - half), y1=ty, x2=_pct(centre + half), y2=ty)
                )
        if datum.value is None:
            continue
        measured = text.format_measured(datum.value, percentage=percentage)
        if datum.provisional:
            label = gettext("%(period)s (so far)") % {"period": datum.label}
        else:
            label = datum.label
        parts = [f"{label}: {measured}"]
        if target_text:
            parts.append(gettext("target %(target)s") % {"target": target_text})
        if datum.state_text:
            parts.append(datum.state_text)
        cy = _y(chart, Decimal(datum.value), low, high)
        lines = [label, measured] + (
            [gettext("target %(target)s") % {"target": target_text}] if target_text else []
        )
        point = Point(
            cx=_pct(centre),
            cy=_px(cy),
            period=datum.period.isoformat(),
            value=text.format_attainment(datum.value),
            name=", ".join(parts),
            tip=_tip(chart, lines, centre, cy),
            css_class=" ".join(
                c for c in (datum.state, "provisional" if datum.provisional else "") if c
            ),
        )
        if previous is not None:
            chart.lines.append(
                LineSegment(
                    x1=previous.cx,
                    y1=previous.cy,
                    x2=point.cx,
                    y2=point.cy,
                    css_class="provisional" if datum.provisional else "",
                )
            )
        chart.points.append(point)
        previous = point
    chart.xlabels = _x_labels(chart, [d.label for d in data], centres)
    newest = next((d for d in reversed(data) if d.target is not None), None)
    if newest is not None:
        ty = _y(chart, newest.target, low, high)
        newest_point = chart.points[-1] if chart.points else None
        # Beside the line on the side away from the newest point, inside the plot.
        below = newest_point is not None and Decimal(newest_point.cy) < ty
        below = (below or ty - FONT_PX - 4 < 0) and ty + FONT_PX + 6 <= chart.bottom
        chart.target_label = AxisLabel(
            x="100%",
            text=gettext("target %(target)s")
            % {
                "target": text.format_target(
                    newest.target, comparator=newest.comparator, percentage=percentage
                )
            },
            anchor="end",
        )
        chart.target_label_y = _px(ty + FONT_PX + 4 if below else ty - 5)
    return chart


# --------------------------------------------------------------------------- stacked bars


def stacked_bar_chart(
    data: Sequence[StackedPeriod],
    *,
    series: Sequence[str],
    currency: str,
    chart_id: str,
    title: str,
    description: str,
) -> Chart:
    """A bar per period from zero, stacked by series (contracts) in the order given, the
    scale ending on a round amount. Each bar's name and tooltip give its total and each
    series' part."""
    chart = Chart(id=chart_id, title=title, description=description, unit=currency)
    data = list(data)[-CHART_PERIODS:]
    chart.series = [
        SeriesStyle(
            index=i,
            name=name,
            colour=PALETTE[i % len(PALETTE)],
            pattern=PATTERNS[i % len(PATTERNS)],
        )
        for i, name in enumerate(series)
    ]
    if not data:
        return chart
    totals = [sum(d.amounts, Decimal(0)) for d in data]
    top_value = max(totals)
    step = nice_step(top_value)
    high = max((top_value / step).to_integral_value(ROUND_CEILING) * step, step)
    chart.gridlines = _gridlines(chart, Decimal(0), high, step, "")
    centres = _centres(len(data))
    slot = Decimal(1) / len(data)
    bar_width = slot * Decimal("0.7")
    for datum, total, centre in zip(data, totals, centres, strict=True):
        total_text = text.format_money(total, currency)
        # Each part's amount written once, for the name, the tooltip and the table.
        amount_texts = {
            i: text.format_money(amount, currency)
            for i, amount in enumerate(datum.amounts)
            if amount
        }
        parts_text = ", ".join(f"{series[i]} {a}" for i, a in amount_texts.items())
        name = f"{datum.label}: {total_text}"
        if len(series) > 1 and parts_text:
            name += f" ({parts_text})"
        lines = [datum.label, total_text]
        if len(series) > 1:
            # The largest parts; the name (and the table) has them all.
            largest = sorted(amount_texts, key=lambda i: -datum.amounts[i])
            lines += [f"{series[i]}: {amount_texts[i]}" for i in sorted(largest[:TIP_PARTS])]
            if len(largest) > TIP_PARTS:
                lines.append(gettext("and %(count)s more") % {"count": len(largest) - TIP_PARTS})
        top_of_bar = _y(chart, total, Decimal(0), high)
        bar = Bar(
            x=_pct(centre - bar_width / 2),
            width=_pct(bar_width),
            period=datum.period.isoformat(),
            value=text.plain_decimal(total),
            name=name,
            tip=_tip(chart, lines, centre, top_of_bar),
            parts_text=parts_text,
        )
        base = Decimal(0)
        # Rounded before subtracting, so each segment starts where the one below ends.
        y_base = Decimal(_px(_y(chart, base, Decimal(0), high)))
        for i, amount in enumerate(datum.amounts):
            if not amount:
                continue
            y_top = Decimal(_px(_y(chart, base + amount, Decimal(0), high)))
            bar.segments.append(
                Segment(
                    x=bar.x,
                    y=_px(y_top),
                    width=bar.width,
                    height=_px(y_base - y_top),
                    series=i,
                    value=text.plain_decimal(amount),
                )
            )
            base += amount
            y_base = y_top
        chart.bars.append(bar)
    chart.xlabels = _x_labels(chart, [d.label for d in data], centres)
    return chart


# --------------------------------------------------------------------------- data


def result_text(met: bool | None) -> str:
    """A settled period's result in words, as the history table and the charts say it."""
    if met is None:
        return gettext("no data")
    return gettext("met") if met else gettext("breached")


def attainment_data(
    lines: Sequence[StatementLine],
    *,
    progress: OpenPeriodProgress | None = None,
    open_label: str = "",
    open_state_text: str = "",
) -> list[Datum]:
    """The periods of one objective for :func:`attainment_chart`: its settled lines
    (the latest revisions, each with its statement, oldest first) and the open period as
    measured so far, if it has an attainment yet."""
    data = [
        Datum(
            period=line.statement.period_start,
            label=text.period_label(line.statement.period_start, line.statement.period_end),
            value=line.attainment,
            target=line.target,
            comparator=line.comparator,
            state="met" if line.met else "breached",
            state_text=result_text(line.met),
        )
        for line in lines
    ]
    if progress is not None and progress.attainment is not None:
        data.append(
            Datum(
                period=progress.period_start,
                label=open_label or text.period_label(progress.period_start, progress.period_end),
                value=progress.attainment,
                target=progress.target,
                comparator=progress.comparator,
                state_text=open_state_text,
                provisional=True,
            )
        )
    return data
