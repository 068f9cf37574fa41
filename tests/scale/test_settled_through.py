"""Each contract's settled-through day: moved past the periods that have statements in a
row, so that the sweep looks only at the periods after it, whatever the contract's age."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import Contract, SettledThrough
from credits.settlement import due_periods, settle_periods, sweeping
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the sweep's SQL query"),
]

NOW = at(2026, 10, 10)


def monthly(start: date, **fields) -> Contract:
    c = contract(start=start, **fields)
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    ratio(cs, "on-time", at(2026, 9, 3), 99, 100)
    return c


def test_the_day_moves_past_the_periods_settled_in_a_row_and_stops_at_a_gap(settings):
    settings.SETTLEMENT_LOOKBACK_DAYS = 3650
    c = monthly(date(2026, 1, 15))
    months = [date(2026, m, 1) for m in (1, 2, 3, 5, 6)]  # April left out
    settle_periods([(c.pk, start) for start in months], announce=False)

    assert sweeping.advance_settled_through() == 3
    assert SettledThrough.objects.get(contract=c).through == date(2026, 3, 31)
    assert sweeping.advance_settled_through() == 0
    # The gap is still found, and nothing before it is looked at again.
    assert [start for _, start in due_periods(NOW)] == [
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
    ]

    settle_periods([(c.pk, date(2026, 4, 1))], announce=False)
    assert sweeping.advance_settled_through() == 3  # April, then May and June already there
    assert SettledThrough.objects.get(contract=c).through == date(2026, 6, 30)
    assert [start for _, start in due_periods(NOW)] == [
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
    ]


def test_a_changed_start_date_or_period_kind_counts_again_from_the_start(settings):
    settings.SETTLEMENT_LOOKBACK_DAYS = 3650
    c = monthly(date(2026, 5, 1))
    settle_periods([(c.pk, date(2026, m, 1)) for m in (5, 6, 7, 8, 9)], announce=False)
    sweeping.advance_settled_through()
    assert SettledThrough.objects.get(contract=c).through == date(2026, 9, 30)
    assert list(due_periods(NOW)) == []

    Contract.objects.filter(pk=c.pk).update(start_date=date(2026, 3, 1))
    # March and April have no statement: the record made for May's start no longer holds.
    assert [start for _, start in due_periods(NOW)] == [date(2026, 3, 1), date(2026, 4, 1)]
    assert sweeping.advance_settled_through() == 0


def test_the_sweeps_query_reads_the_periods_after_the_day_only(settings):
    """An old contract settled through last month: its due-period query generates one
    period, not one per month since it started."""
    settings.SETTLEMENT_LOOKBACK_DAYS = 3650
    c = monthly(date(2018, 1, 1))
    SettledThrough.objects.create(
        contract=c, through=date(2026, 8, 31), start_date=c.start_date, settlement_period="month"
    )
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        sql = sweeping._DUE_SQL.format(settled="TRUE")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", [False, None, NOW, NOW])
        (plan,) = cursor.fetchone()
    assert queries
    series = [
        node
        for node in _nodes(plan[0]["Plan"])
        if node.get("Node Type") == "Function Scan"
        and node.get("Function Name") == "generate_series"
    ]
    # From September on (105 periods since 2018 without the day).
    assert series and sum(node["Actual Rows"] * node["Actual Loops"] for node in series) <= 2
    assert list(due_periods(NOW)) == [(c.pk, date(2026, 9, 1))]


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
