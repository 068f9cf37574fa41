"""A statement's rows add up: lines, cap, minimum credit and agreed adjustments (E11)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.totals import Remedy, total_statement


def test_e11_credits_below_the_minimum_are_paid_as_zero_with_a_line_saying_so():
    total = total_statement(
        [Decimal("0.40"), Decimal("0.20")],
        at_risk=None,
        currency="USD",
        minimum_credit=Decimal("1.00"),
    )

    assert total.lines_total == Decimal("0.60")
    assert total.credit_total == Decimal("0.00")
    (row,) = total.adjustments
    assert (row.kind, row.amount) == ("minimum_credit", Decimal("-0.60"))
    assert "below the minimum credit of 1.00 USD" in row.explanation


def test_credits_at_the_minimum_are_paid():
    total = total_statement(
        [Decimal("1.00")], at_risk=None, currency="USD", minimum_credit=Decimal("1.00")
    )

    assert (total.credit_total, total.adjustments) == (Decimal("1.00"), ())


def test_an_agreed_adjustment_is_added_after_the_cap_and_cites_its_dispute():
    total = total_statement(
        [Decimal("300.00"), Decimal("150.00")],
        at_risk=Decimal("300.00"),
        currency="EUR",
        remedies=[Remedy(12, Decimal("40"))],
    )

    assert total.cap.cap_adjustment == Decimal("-150.00")
    (row,) = total.adjustments
    assert row.explanation == "Agreed adjustment, dispute #12: 40.00 EUR"
    assert total.credit_total == Decimal("340.00")


def test_a_correction_is_cited_without_moving_the_total():
    total = total_statement(
        [Decimal("10.00")], at_risk=None, currency="EUR", remedies=[Remedy(7, None, "Fixed.")]
    )

    (row,) = total.adjustments
    assert (row.kind, row.amount, row.dispute) == ("correction", Decimal("0.00"), 7)
    assert (
        row.explanation == "Settled again after dispute #7 was accepted with a correction: Fixed."
    )
    assert total.credit_total == Decimal("10.00")


amounts = st.lists(
    st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False), max_size=8
)
currencies = st.sampled_from(["EUR", "JPY", "BHD", "CLF", "HUF"])


@given(
    amounts=amounts,
    currency=currencies,
    cap=st.none() | st.decimals(min_value=0, max_value=20_000, places=2),
    minimum=st.none() | st.decimals(min_value=0, max_value=100, places=2),
    agreed=st.lists(st.integers(min_value=1, max_value=1_000).map(Decimal), max_size=3),
)
def test_every_row_adds_up_to_the_total_and_the_total_is_never_negative(
    amounts, currency, cap, minimum, agreed
):
    total = total_statement(
        amounts,
        at_risk=cap,
        currency=currency,
        minimum_credit=minimum,
        remedies=[Remedy(n, amount) for n, amount in enumerate(agreed, start=1)],
    )

    rows = total.cap.lines_total + total.cap.cap_adjustment
    rows += sum((row.amount for row in total.adjustments), Decimal(0))
    assert rows == total.credit_total >= 0
