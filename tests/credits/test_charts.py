"""The charts: attainment against target per objective and credits per month stacked by
contract (credits.charts), and how the dashboard and objective pages draw them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise

import pytest
from django.urls import reverse

from credits import charts
from credits.charts import AxisLabel, Datum, StackedPeriod
from credits.models import OpenPeriodProgress
from tests.credits.test_views_support import LineSpec, availability_objective, make_statement
from tests.factories import ContractFactory, ContractServiceFactory

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
MONTHS = [date(2026, m, 1) for m in range(1, 13)]


def _month(day: date) -> str:
    return day.strftime("%B %Y")


def _px_fraction(x: str) -> Decimal:
    assert x.endswith("%")
    return Decimal(x[:-1]) / 100


# --------------------------------------------------------------------------- geometry


def test_a_point_under_its_target_is_drawn_below_the_labelled_target_line():
    data = [
        Datum(
            period=date(2026, 10, 1),
            label="October 2026",
            value=Decimal("99.95"),
            target=Decimal("99.9"),
            state="met",
            state_text="met",
        ),
        Datum(
            period=date(2026, 11, 1),
            label="November 2026",
            value=Decimal("99.4444"),
            target=Decimal("99.9"),
            state="breached",
            state_text="breached",
        ),
    ]
    chart = charts.attainment_chart(data, chart_id="c", title="t", description="d", percentage=True)
    november = chart.points[1]
    assert november.value == "99.444"
    assert november.name == "November 2026: 99.444 %, target ≥ 99.9 %, breached"
    assert november.tip.lines == ["November 2026", "99.444 %", "target ≥ 99.9 %"]
    assert "breached" in november.css_class
    (target,) = chart.target_lines  # one target: one line across both periods
    assert (target.x1, target.x2) == ("0.00%", "100.00%")
    # Below the line: a larger y (SVG's y grows downwards); October above it.
    assert Decimal(november.cy) > Decimal(target.y1) > Decimal(chart.points[0].cy)
    assert chart.target_label.text == "target ≥ 99.9 %"
    # The interesting range, not 0–100 %: from 99.2 % to 100 %, the target inside.
    labels = [g.label for g in chart.gridlines]
    assert labels[0] == "99.2 %" and labels[-1] == "100 %"
    assert chart.top <= Decimal(target.y1) <= chart.bottom


def test_the_open_period_is_a_provisional_point_named_so_far():
    data = [
        Datum(
            period=date(2026, 11, 1), label="November 2026", value=Decimal(99), target=Decimal(95)
        ),
        Datum(
            period=date(2026, 12, 1),
            label="December 2026",
            value=Decimal("75"),
            target=Decimal(95),
            state_text="too few samples",
            provisional=True,
        ),
    ]
    chart = charts.attainment_chart(data, chart_id="c", title="t", description="d", percentage=True)
    open_point = chart.points[-1]
    assert open_point.css_class == "provisional"
    assert open_point.name == ("December 2026 (so far): 75.000 %, target ≥ 95 %, too few samples")
    assert chart.lines[-1].css_class == "provisional"


def test_credits_of_two_contracts_stack_to_the_months_total():
    data = [
        StackedPeriod(date(2026, 10, 1), "October 2026", [Decimal("0"), Decimal("0")]),
        StackedPeriod(date(2026, 11, 1), "November 2026", [Decimal("250.00"), Decimal("100.00")]),
    ]
    chart = charts.stacked_bar_chart(
        data, series=["CR-A", "CR-B"], currency="EUR", chart_id="c", title="t", description="d"
    )
    empty, november = chart.bars
    assert (empty.value, empty.segments) == ("0", [])
    assert november.value == "350"
    assert november.name == "November 2026: 350.00 EUR (CR-A 250.00 EUR, CR-B 100.00 EUR)"
    assert november.tip.lines == [
        "November 2026",
        "350.00 EUR",
        "CR-A: 250.00 EUR",
        "CR-B: 100.00 EUR",
    ]
    a, b = november.segments
    assert (a.series, a.value, b.series, b.value) == (0, "250", 1, "100")
    # CR-A at the bottom, CR-B on top of it, the stack's top at 350 of a 400 scale.
    assert Decimal(a.y) == Decimal(b.y) + Decimal(b.height)
    assert Decimal(a.y) + Decimal(a.height) == chart.bottom
    assert [g.label for g in chart.gridlines] == ["0", "100", "200", "300", "400"]
    stack = Decimal(a.height) + Decimal(b.height)
    assert stack == (Decimal(350) / 400 * chart.plot_height).quantize(Decimal("0.1"))
    # Told apart by more than colour: each contract its own pattern; the legend reads
    # top of the stack first.
    assert [s.pattern for s in chart.series] == ["solid", "stripes"]
    assert [s.name for s in chart.legend] == ["CR-B", "CR-A"]


def test_long_histories_draw_the_last_periods_only():
    data = [
        StackedPeriod(date(2024 + i // 12, i % 12 + 1, 1), f"m{i}", [Decimal(i)]) for i in range(24)
    ]
    chart = charts.stacked_bar_chart(
        data, series=["X"], currency="EUR", chart_id="c", title="t", description="d"
    )
    assert len(chart.bars) == charts.CHART_PERIODS
    assert chart.bars[-1].value == "23"


def test_attainment_draws_the_last_settled_periods_and_the_open_one_after_them():
    settled = [
        Datum(
            period=date(2025 + i // 12, i % 12 + 1, 1),
            label=f"m{i}",
            value=Decimal(99),
            target=Decimal(98),
        )
        for i in range(20)
    ]
    open_period = Datum(
        period=date(2026, 9, 1),
        label="open",
        value=Decimal(97),
        target=Decimal(98),
        provisional=True,
    )
    chart = charts.attainment_chart(
        [*settled, open_period], chart_id="c", title="t", description="d", percentage=True
    )
    assert len(chart.points) == charts.CHART_PERIODS + 1
    assert chart.points[0].period == "2025-09-01"
    assert chart.points[-1].css_class == "provisional" and chart.has_provisional


@pytest.mark.parametrize("count", [1, 2, 3, 6, 12])
def test_axis_labels_neither_overlap_nor_leave_the_chart_on_a_phone_or_a_desktop(count):
    names = [_month(day) for day in MONTHS[-count:]]
    centres = charts._centres(count)
    labels = [AxisLabel(x="", text=name, anchor="middle") for name in names]
    charts.thin_labels(labels, centres)
    for px, attribute in ((charts.PHONE_PLOT_PX, "phone"), (charts.DESKTOP_PLOT_PX, "desktop")):
        shown = [i for i, label in enumerate(labels) if getattr(label, attribute)]
        assert shown[-1] == count - 1  # the newest period is always named
        boxes = [charts._box(labels[i], centres[i], px) for i in shown]
        assert all(left >= 0 and right <= px for left, right in boxes)
        assert all(
            later[0] - earlier[1] >= charts.LABEL_GAP_PX for earlier, later in pairwise(boxes)
        )
    # A desktop names at least as many periods as a phone, and up to three all of them.
    assert sum(label.desktop for label in labels) >= sum(label.phone for label in labels)
    assert count > 3 or all(label.desktop for label in labels)


def test_weekly_labels_are_thinned_harder_than_monthly_ones():
    names = [f"Week {w} 2026 (16–22 Nov)" for w in range(36, 48)]
    centres = charts._centres(12)
    labels = [AxisLabel(x="", text=name, anchor="middle") for name in names]
    charts.thin_labels(labels, centres)
    assert 1 <= sum(label.phone for label in labels) <= 2
    assert labels[-1].anchor == "end" and labels[-1].x == "100%"


# --------------------------------------------------------------------------- pages


@pytest.fixture
def two_contracts(personas):
    """Globex's ACME-1 (250.00 EUR in November 2026, 99.4444 % against 99.9 %) and ACME-2
    (100.00 EUR in November 2026)."""
    level = availability_objective(personas, target=Decimal("99.9"))
    cs = personas.contract.services.get()
    second = ContractFactory(
        provider=personas.provider, customer=personas.customer, reference="ACME-2"
    )
    cs2 = ContractServiceFactory(contract=second)
    make_statement(
        personas.contract,
        period_start=date(2026, 10, 1),
        lines=[LineSpec(cs, Decimal("0.00"), attainment=Decimal("99.95"), target=Decimal("99.9"))],
    )
    make_statement(
        personas.contract,
        period_start=date(2026, 11, 1),
        lines=[
            LineSpec(cs, Decimal("250.00"), attainment=Decimal("99.4444"), target=Decimal("99.9"))
        ],
    )
    make_statement(second, period_start=date(2026, 11, 1), lines=[LineSpec(cs2, Decimal("100.00"))])
    return {"cs": cs, "second": second, "level": level}


def _marks(html: str, kind: str) -> list[tuple[str, str, str]]:
    return re.findall(
        rf'<{kind} class="[^"]*"[^>]*aria-label="([^"]+)" data-period="([\d-]+)" '
        r'data-value="([\d.]+)"',
        html,
    )


@pytest.mark.django_db
@pytest.mark.time_machine(NOW, tick=False)
def test_dashboard_stacks_the_months_credits_by_contract_with_a_table(
    client, personas, two_contracts, django_assert_max_num_queries
):
    client.force_login(personas.customer_member)
    # As many queries with two contracts as with one: the stacks come from the month query.
    with django_assert_max_num_queries(13):
        html = client.get(reverse("dashboard")).content.decode()
    bars = _marks(html, "rect")
    assert bars[-2] == (
        "November 2026: 350.00 EUR (ACME-1 250.00 EUR, ACME-2 100.00 EUR)",
        "2026-11-01",
        "350",
    )
    assert bars[-1] == ("December 2026: 0.00 EUR", "2026-12-01", "0")
    segments = re.findall(
        r'<rect class="segment"[^>]*data-series="(\d)" data-value="([\d.]+)"', html
    )
    assert segments == [("0", "250"), ("1", "100")]
    assert re.search(r'<ul class="legend series"[^>]*>.*ACME-2.*ACME-1.*</ul>', html)
    row = re.search(r'<tr data-period="2026-11-01">(.*?)</tr>', html).group(1)
    assert '<th scope="row">November 2026</th>' in row
    assert "350.00 EUR" in row and "ACME-1 250.00 EUR, ACME-2 100.00 EUR" in row
    assert 'tabindex="0" role="img"' in html


@pytest.mark.django_db
@pytest.mark.time_machine(NOW, tick=False)
def test_objective_page_draws_attainment_against_the_target_and_this_period_so_far(
    client, personas, two_contracts, django_assert_max_num_queries
):
    cs = two_contracts["cs"]
    OpenPeriodProgress.objects.create(
        contract_service=cs,
        key="availability",
        period_start=date(2026, 12, 1),
        period_end=date(2026, 12, 31),
        service_level=two_contracts["level"],
        indicator="ratio",
        comparator="gte",
        target=Decimal("99.9"),
        attainment=Decimal("99.99"),
        state=OpenPeriodProgress.State.ON_TRACK,
        measured_at=NOW,
    )
    client.force_login(personas.customer_member)
    url = reverse("objective-detail", args=[cs.pk, "availability"])
    with django_assert_max_num_queries(9):
        html = client.get(url).content.decode()
    assert _marks(html, "circle") == [
        ("October 2026: 99.950 %, target ≥ 99.9 %, met", "2026-10-01", "99.950"),
        ("November 2026: 99.444 %, target ≥ 99.9 %, breached", "2026-11-01", "99.444"),
        ("December 2026 (so far): 99.990 %, target ≥ 99.9 %, on track", "2026-12-01", "99.990"),
    ]
    assert 'class="point provisional"' in html and "this period so far" in html
    assert '<text class="target-label" x="100%"' in html and "target ≥ 99.9 %</text>" in html
    target_y = Decimal(re.search(r'<line class="target"[^>]*y1="([\d.]+)"', html).group(1))
    november_y = Decimal(
        re.findall(r'<circle class="point[^"]*" cx="[\d.]+%" cy="([\d.]+)"', html)[1]
    )
    assert november_y > target_y
    # The same figures in the history table.
    row = re.search(r'<tr data-period="2026-11-01">(.*?)</tr>', html, re.S).group(1)
    assert "99.444 %" in row and "250.00 EUR" in row


@pytest.mark.django_db
@pytest.mark.time_machine(NOW, tick=False)
def test_contract_page_charts_each_objective_in_the_same_queries_for_2_or_14_periods(
    client, personas, two_contracts
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(personas.customer_member)
    url = reverse("contract-detail", args=[personas.contract.pk])
    with CaptureQueriesContext(connection) as few:
        html = client.get(url).content.decode()
    assert 'id="h-attainment"' in html
    assert _marks(html, "circle") == [
        ("October 2026: 99.950 %, target ≥ 99.9 %, met", "2026-10-01", "99.950"),
        ("November 2026: 99.444 %, target ≥ 99.9 %, breached", "2026-11-01", "99.444"),
    ]
    cs = two_contracts["cs"]
    assert reverse("objective-detail", args=[cs.pk, "availability"]) in html
    assert re.search(r"<th scope=\"row\">November 2026</th><td class=\"num\">99.444 %</td>", html)
    for month in range(1, 13):
        make_statement(
            personas.contract,
            period_start=date(2025, month, 1),
            lines=[LineSpec(cs, Decimal("0.00"), target=Decimal("99.9"))],
        )
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    # The last twelve settled periods drawn: March to December 2025, October, November 2026.
    periods = [period for _name, period, _value in _marks(html, "circle")]
    assert len(periods) == charts.CHART_PERIODS
    assert periods[0] == "2025-03-01" and periods[-1] == "2026-11-01"


def test_a_compact_chart_names_as_many_periods_as_fit_its_narrow_column_everywhere():
    data = [
        Datum(period=day, label=_month(day), value=Decimal("99.9"), target=Decimal("99.5"))
        for day in MONTHS
    ]
    chart = charts.attainment_chart(
        data, chart_id="c", title="t", description="d", percentage=True, compact=True
    )
    assert chart.height == charts.COMPACT_HEIGHT
    shown = [i for i, label in enumerate(chart.xlabels) if label.desktop]
    assert shown == [i for i, label in enumerate(chart.xlabels) if label.phone]
    centres = charts._centres(len(data))
    boxes = [charts._box(chart.xlabels[i], centres[i], charts.COMPACT_PLOT_PX) for i in shown]
    assert all(later[0] - earlier[1] >= charts.LABEL_GAP_PX for earlier, later in pairwise(boxes))


def test_a_stacks_tooltip_names_its_largest_contracts_and_counts_the_rest():
    amounts = [Decimal(n) for n in (5, 0, 60, 10, 30, 20, 1)]
    names = [f"C{i}" for i in range(len(amounts))]
    chart = charts.stacked_bar_chart(
        [StackedPeriod(date(2026, 11, 1), "November 2026", amounts)],
        series=names,
        currency="EUR",
        chart_id="c",
        title="t",
        description="d",
    )
    (bar,) = chart.bars
    assert bar.tip.lines == [
        "November 2026",
        "126.00 EUR",
        "C2: 60.00 EUR",
        "C3: 10.00 EUR",
        "C4: 30.00 EUR",
        "C5: 20.00 EUR",
        "and 2 more",
    ]
    assert "C0 5.00 EUR" in bar.name and "C6 1.00 EUR" in bar.name
    # The box stays within the chart's height.
    assert Decimal(bar.tip.y) >= 0
    assert Decimal(bar.tip.y) + Decimal(bar.tip.height) <= chart.height
