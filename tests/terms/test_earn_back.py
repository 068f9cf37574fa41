"""Earn-back (SPEC §6, E12): a breach's credit is held, then earned back by the provider
when the objective meets its target in each of the next N periods, or paid on the statement
of the first of them that misses it; exactly once, across revisions of earlier periods."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from credits.models import Statement
from credits.settlement import settle_period, settle_periods
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = pytest.mark.django_db

JANUARY, FEBRUARY, MARCH, APRIL = (date(2026, month, 1) for month in (1, 2, 3, 4))
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
EARN_BACK_2 = {"kind": "flat", "percent": "10", "earn_back_periods": 2}
MONTH_NUMBER = {JANUARY: 1, FEBRUARY: 2, MARCH: 3, APRIL: 4}


def book(*, rule=EARN_BACK_2, end=None, **kw):
    c = contract(start=JANUARY, end=end, **kw)
    cs = service(c, fee="1000.00", name="Reports")
    objective(c, key="on-time", indicator="ratio", target="99", rule=rule, name="On-time delivery")
    return c, cs


def month(cs, start: date, ok: int, total: int = 100) -> None:
    ratio(cs, "on-time", at(2026, MONTH_NUMBER[start], 2), ok, total)


def settle(c, start: date, now: datetime = NOW) -> Statement:
    return settle_period(contract=c, period_start=start, now=now, announce=False).statement


def rows(statement: Statement) -> list[tuple[str, Decimal]]:
    return [(row.kind, row.amount) for row in statement.adjustments.order_by("position")]


def latest(c) -> dict[date, Statement]:
    found: dict[date, Statement] = {}
    for statement in Statement.objects.filter(contract=c).order_by("period_start", "revision"):
        found[statement.period_start] = statement
    return found


RESOLVED = re.compile(
    r"Earn-back: (?P<origin>\w+ \d{4})'s held credit of (?P<amount>[\d,.]+) EUR for "
    r"(?P<what>.+?) (?P<how>is payable|was earned back)"
)


def ledger(c) -> tuple[Counter, Counter, Counter]:
    """What the latest revisions hold, pay and forgive, by (origin period, amount)."""
    held, paid, earned = Counter(), Counter(), Counter()
    for start, statement in latest(c).items():
        label = start.strftime("%B %Y")
        for line in statement.lines.all():
            if line.held:
                held[(label, line.held)] += 1
        for row in statement.adjustments.all():
            match = RESOLVED.search(row.explanation)
            if match is None:
                continue
            entry = (match["origin"], Decimal(match["amount"].replace(",", "")))
            if match["how"] == "is payable":
                assert row.amount == entry[1]
                paid[entry] += 1
            else:
                assert row.amount == 0
                earned[entry] += 1
    return held, paid, earned


def assert_each_held_credit_earned_back_or_paid_once(c, *, open_holds=()) -> None:
    held, paid, earned = ledger(c)
    assert not (paid & earned), "a held credit both paid and earned back"
    assert paid + earned + Counter(open_holds) == held


def test_e12_januarys_credit_is_held_and_earned_back_by_march():
    c, cs = book()
    month(cs, JANUARY, 95)  # breached: 10 % of 1,000.00
    month(cs, FEBRUARY, 100)
    month(cs, MARCH, 100)

    january = settle(c, JANUARY)
    line = january.lines.get()
    assert (line.amount, line.held) == (Decimal("100.00"), Decimal("100.00"))
    assert "Held for earn-back: 100.00 EUR." in line.explanation
    assert rows(january) == [("earn_back_held", Decimal("-100.00"))]
    assert january.credit_total == Decimal("0.00")
    assert "earns it back if the target is met in each of the next 2 months" in (
        january.adjustments.get().explanation
    )

    february = settle(c, FEBRUARY)
    assert rows(february) == [] and february.credit_total == Decimal("0.00")

    march = settle(c, MARCH)
    assert rows(march) == [("earned_back", Decimal("0.00"))]
    assert march.credit_total == Decimal("0.00")
    assert march.adjustments.get().explanation == (
        "Earn-back: January 2026's held credit of 100.00 EUR for On-time delivery (Reports) "
        "was earned back by the provider, as the target was met in February 2026 and March "
        "2026. Nothing is payable for it."
    )
    assert_each_held_credit_earned_back_or_paid_once(c)


def test_e12_had_february_breached_januarys_credit_is_payable_in_february():
    c, cs = book()
    month(cs, JANUARY, 95)
    month(cs, FEBRUARY, 95)

    settle(c, JANUARY)
    february = settle(c, FEBRUARY)

    assert rows(february) == [
        ("earn_back_held", Decimal("-100.00")),  # February's own credit, held in turn
        ("earn_back_paid", Decimal("100.00")),
    ]
    assert february.credit_total == Decimal("100.00")
    assert "January 2026's held credit of 100.00 EUR for On-time delivery (Reports) is " in (
        february.adjustments.get(kind="earn_back_paid").explanation
    )
    assert_each_held_credit_earned_back_or_paid_once(c, open_holds=[("February 2026", 100)])


def test_periods_settled_in_one_batch_decide_in_order():
    c, cs = book()
    month(cs, JANUARY, 95)
    month(cs, FEBRUARY, 100)
    month(cs, MARCH, 100)

    outcomes = settle_periods(
        [(c.pk, MARCH), (c.pk, JANUARY), (c.pk, FEBRUARY)], now=NOW, announce=False
    )

    march, january, february = (outcome.statement for outcome in outcomes)
    assert rows(january) == [("earn_back_held", Decimal("-100.00"))]
    assert rows(february) == []
    assert rows(march) == [("earned_back", Decimal("0.00"))]
    assert {s.revision for s in (march, january, february)} == {1}


def test_earn_back_follows_a_revision_of_an_earlier_period():
    c, cs = book(rule={"kind": "per_step", "step": "1", "percent": "5", "earn_back_periods": 2})
    month(cs, JANUARY, 97)  # 2 points short: 10 % = 100.00, held
    month(cs, FEBRUARY, 100)
    month(cs, MARCH, 100)
    for start in (JANUARY, FEBRUARY, MARCH):
        settle(c, start)
    assert rows(latest(c)[MARCH]) == [("earned_back", Decimal("0.00"))]

    # Late January data: 3 points short, 150.00 held. March's statement said 100.00 was
    # earned back; settling January again revises March too, in the same transaction.
    month(cs, JANUARY, 96, 100)  # now 193 of 200: 96.5 %, 3 started steps
    january = settle(c, JANUARY, now=datetime(2026, 6, 11, tzinfo=UTC))

    assert (january.revision, january.lines.get().held) == (2, Decimal("150.00"))
    march = latest(c)[MARCH]
    assert march.revision == 2
    assert "held credit of 150.00 EUR" in march.adjustments.get().explanation
    assert latest(c)[FEBRUARY].revision == 1  # nothing of it changed
    assert_each_held_credit_earned_back_or_paid_once(c)

    # A late breach in February: January's credit is paid on February's revision, and
    # March no longer says it was earned back.
    month(cs, FEBRUARY, 0, 100)
    february = settle(c, FEBRUARY, now=datetime(2026, 6, 12, tzinfo=UTC))
    assert february.revision == 2
    assert ("earn_back_paid", Decimal("150.00")) in rows(february)
    march = latest(c)[MARCH]
    assert (march.revision, rows(march)) == (3, [])
    # February, half its reports late, holds its whole fee (100 % at most).
    assert_each_held_credit_earned_back_or_paid_once(
        c, open_holds=[("February 2026", Decimal("1000.00"))]
    )


def test_settling_again_changes_nothing_and_issues_no_revision():
    c, cs = book()
    month(cs, JANUARY, 95)
    month(cs, FEBRUARY, 100)
    month(cs, MARCH, 100)
    first = [settle(c, start).pk for start in (JANUARY, FEBRUARY, MARCH)]

    again = [settle(c, start).pk for start in (JANUARY, FEBRUARY, MARCH)]

    assert again == first
    assert Statement.objects.filter(contract=c).count() == 3


def test_the_contracts_last_period_holds_nothing_and_pays_what_is_still_held():
    c, cs = book(end=date(2026, 2, 28))
    month(cs, JANUARY, 95)
    month(cs, FEBRUARY, 95)

    settle(c, JANUARY)
    february = settle(c, FEBRUARY)

    assert february.lines.get().held == 0
    assert rows(february) == [("earn_back_paid", Decimal("100.00"))]
    assert february.credit_total == Decimal("200.00")
    assert_each_held_credit_earned_back_or_paid_once(c)


def test_a_period_without_data_does_not_earn_back_a_held_credit():
    c, cs = book()
    month(cs, JANUARY, 95)

    settle(c, JANUARY)
    february = settle(c, FEBRUARY)

    assert rows(february) == [("earn_back_paid", Decimal("100.00"))]
    assert "has no data to show the target was met" in february.adjustments.get().explanation


def test_what_is_held_never_takes_the_total_below_zero_under_the_cap():
    c, cs = book(cap="5")  # at-risk 50.00: the 100.00 credit is capped to 50.00
    month(cs, JANUARY, 95)

    january = settle(c, JANUARY)

    assert january.cap_adjustment == Decimal("-50.00")
    assert january.lines.get().held == Decimal("50.00")
    assert rows(january) == [("earn_back_held", Decimal("-50.00"))]
    assert january.credit_total == Decimal("0.00")


def queries_to_settle(c, starts) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        settle_periods([(c.pk, start) for start in starts], now=NOW, announce=False)
    return len(captured.captured_queries)


def test_a_batch_with_earn_back_costs_the_same_queries_whatever_its_number_of_periods():
    small, large, plain = book(), book(), book(rule={"kind": "flat", "percent": "10"})
    for _c, cs in (small, large, plain):
        for start in (JANUARY, FEBRUARY, MARCH, APRIL):
            month(cs, start, 95)

    without = queries_to_settle(plain[0], [JANUARY, FEBRUARY])
    two = queries_to_settle(small[0], [JANUARY, FEBRUARY])
    four = queries_to_settle(large[0], [JANUARY, FEBRUARY, MARCH, APRIL])

    # Three more than without earn-back (the periods' latest revisions, their lines, the
    # chronic failures recorded), whatever the number of periods.
    assert two == four == without + 3
