"""Property tests of terms over time (SPEC §6): held credits are earned back or paid,
never both, never lost (across revisions of earlier periods too); the CSV's amounts add up
to the statement's total with earn-back and chronic-failure rows; amending earn-back or
chronic-failure terms never changes a closed period's statement."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.services import save_service_level
from contracts.services.terms import TermsEdit
from credits.settlement import settle_period, settle_periods
from engine.history import CurrentLine, LineOutcome, PeriodOutcome, earn_back
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.terms.test_earn_back import assert_each_held_credit_earned_back_or_paid_once, latest

pytestmark = pytest.mark.django_db

MONTHS = [date(2026, month, 1) for month in range(1, 7)]
LAST_DAY = date(2026, 6, 30)
NOW = datetime(2026, 8, 10, 12, tzinfo=UTC)
DB_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- the engine


@settings(max_examples=300, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=10),
    periods=st.integers(min_value=1, max_value=4),
    amounts=st.lists(st.integers(min_value=0, max_value=500), min_size=10, max_size=10),
    available=st.lists(st.integers(min_value=0, max_value=500), min_size=10, max_size=10),
)
def test_engine_each_held_credit_is_decided_once_by_the_periods_after_it(
    outcomes, periods, amounts, available
):
    key = (1, "on-time")
    earlier: list[PeriodOutcome | None] = []
    held: dict[int, Decimal] = {}
    decided: Counter = Counter()
    last = len(outcomes) - 1
    for index, met in enumerate(outcomes):
        amount = Decimal(amounts[index]) if met is False else Decimal(0)
        result = earn_back(
            earlier,
            [CurrentLine(key, "On-time (Reports)", met, amount, periods)],
            available=Decimal(available[index]),
            final=index == last,
            currency="EUR",
            period_name="month",
            label=f"P{index}",
        )
        assert result.delta >= -Decimal(available[index])  # the total never goes below 0
        for row in result.rows:
            if row.kind in ("earn_back_paid", "earned_back"):
                decided[row.origin] += 1
                origin = int(row.origin[1:])
                assert row.credit == held[origin]
                assert index - origin <= periods
                assert (row.kind == "earned_back") == (
                    index - origin == periods
                    and all(outcomes[i] is True for i in range(origin + 1, index + 1))
                )
        if result.held:
            held[index] = result.held[key]
        earlier.append(
            PeriodOutcome(
                f"P{index}",
                {key: LineOutcome(met, result.held.get(key, Decimal(0)), periods, "On-time")},
            )
        )
    # Every held credit is decided exactly once: the last period decides what is left.
    assert decided == Counter({f"P{index}": 1 for index in held})


# --------------------------------------------------------------------------- settlement


def earn_back_book(periods: int, *, end: date | None = LAST_DAY):
    c = contract(start=MONTHS[0], end=end)
    cs = service(c, fee="1000.00", name="Reports")
    objective(
        c,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "per_step", "step": "1", "percent": "5", "earn_back_periods": periods},
        name="On-time delivery",
    )
    return c, cs


@DB_SETTINGS
@given(
    late=st.lists(st.integers(min_value=90, max_value=100), min_size=6, max_size=6),
    periods=st.integers(min_value=1, max_value=3),
    revised=st.integers(min_value=0, max_value=5),
    revised_to=st.integers(min_value=0, max_value=100),
)
def test_held_credits_are_earned_back_or_paid_never_both_never_lost(
    personas, late, periods, revised, revised_to
):
    c, cs = earn_back_book(periods)
    for start, ok in zip(MONTHS, late, strict=True):
        ratio(cs, "on-time", at(2026, start.month, 2), ok, 100)
    settle_periods([(c.pk, start) for start in MONTHS], now=NOW, announce=False)
    assert_each_held_credit_earned_back_or_paid_once(c)

    # Late data for one month, settled again: its later statements follow.
    ratio(cs, "on-time", at(2026, MONTHS[revised].month, 3), revised_to, 100)
    settle_period(
        contract=c, period_start=MONTHS[revised], now=NOW + timedelta(days=1), announce=False
    )

    assert_each_held_credit_earned_back_or_paid_once(c)
    for statement in latest(c).values():
        rows = sum((row.amount for row in statement.adjustments.all()), Decimal(0))
        lines = sum((line.amount for line in statement.lines.all()), Decimal(0))
        assert lines + statement.cap_adjustment + rows == statement.credit_total >= 0


def csv_amounts(client, statement) -> tuple[list[Decimal], Decimal]:
    response = client.get(reverse("statement-csv", args=[statement.pk]))
    *rows, total = csv.DictReader(io.StringIO(response.content.decode()))
    assert total["key"] == "total"
    return [Decimal(row["amount"]) for row in rows], Decimal(total["amount"])


@DB_SETTINGS
@given(
    late=st.lists(st.integers(min_value=80, max_value=100), min_size=4, max_size=4),
    periods=st.integers(min_value=1, max_value=3),
    cap=st.sampled_from([None, "3", "20"]),
    minimum=st.sampled_from(["0", "40.00"]),
)
def test_the_csv_amounts_add_up_to_the_total_with_earn_back_and_chronic_rows(
    client, personas, late, periods, cap, minimum
):
    c = contract(start=MONTHS[0], cap=cap, provider=personas.provider, customer=personas.customer)
    c.minimum_credit = Decimal(minimum)
    c.save()
    cs = service(c, fee="1000.00", name="Reports")
    level = objective(
        c,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "per_step", "step": "1", "percent": "5", "earn_back_periods": periods},
    )
    level.chronic_breaches, level.chronic_window = 2, 3
    level.save()
    for start, ok in zip(MONTHS[:4], late, strict=True):
        ratio(cs, "on-time", at(2026, start.month, 2), ok, 100)
    outcomes = settle_periods([(c.pk, start) for start in MONTHS[:4]], now=NOW, announce=False)
    client.force_login(personas.customer_member)

    for outcome in outcomes:
        amounts, total = csv_amounts(client, outcome.statement)
        assert total == outcome.statement.credit_total
        assert sum(amounts, Decimal(0)) == total


@DB_SETTINGS
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(["earn_back", "chronic", "both"]),
            st.integers(min_value=1, max_value=30),  # the day of June it is made
            st.integers(min_value=0, max_value=2),  # periods after the next one
            st.integers(min_value=1, max_value=3),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_amending_earn_back_or_chronic_terms_never_changes_a_closed_periods_statement(
    personas, changes
):
    c, cs = earn_back_book(2, end=None)
    level = c.service_levels.get()
    for start, ok in zip(MONTHS[:5], [95, 100, 95, 95, 100], strict=True):
        ratio(cs, "on-time", at(2026, start.month, 2), ok, 100)
    closed = {
        start: outcome.statement.pk
        for start, outcome in zip(
            MONTHS[:5],
            settle_periods([(c.pk, s) for s in MONTHS[:5]], now=NOW, announce=False),
            strict=True,
        )
    }
    for what, day, later, number in sorted(changes, key=lambda change: change[1]):
        start = date(2026, 7 + later, 1)
        rule = dict(level.credit_rule)
        if what in ("earn_back", "both"):
            rule["earn_back_periods"] = number
        level.credit_rule = rule
        if what in ("chronic", "both"):
            level.chronic_breaches, level.chronic_window = number, 3
        with time_machine.travel(datetime(2026, 6, day, 12, tzinfo=UTC), tick=False):
            save_service_level(service_level=level, terms_edit=TermsEdit(effective_from=start))

    for start, pk in closed.items():
        again = settle_period(contract=c, period_start=start, now=NOW, announce=False)
        assert (again.created, again.statement.pk) == (False, pk)
