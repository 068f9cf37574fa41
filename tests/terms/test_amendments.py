"""Terms over time: an amendment takes effect from a period start and never reaches a
closed period; a correction rewrites the version a period used (SPEC §6, E10)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.models import TermsChange
from contracts.services import save_contract_service, save_service_level
from contracts.services.terms import TermsEdit
from credits.settlement import settle_period
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = pytest.mark.django_db

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)


def moment(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


@pytest.fixture
def book(personas):
    c = contract(start=date(2026, 1, 1))
    cs = service(c, fee="1000.00")
    level = objective(
        c, key="on-time", indicator="ratio", target="99", rule={"kind": "flat", "percent": "10"}
    )
    for month in (9, 10, 11):
        ratio(cs, "on-time", at(2026, month, 2), 95, 100)  # breached: 10 % of the fee
    return c, cs, level


def amend_fee(cs, fee: str, *, on: datetime, user=None, **edit) -> None:
    cs.fee = Decimal(fee)
    with time_machine.travel(on, tick=False):
        save_contract_service(contract_service=cs, terms_edit=TermsEdit(**edit), user=user)


LATER = moment(2026, 12, 10)


def settle(c, start: date, now: datetime = LATER):
    return settle_period(contract=c, period_start=start, now=now, announce=False)


def test_e10_an_amendment_from_november_leaves_october_and_a_correction_rewrites_it(book, personas):
    c, cs, _level = book
    amend_fee(cs, "1200.00", on=moment(2026, 10, 20), user=personas.provider_editor)

    first = settle(c, OCTOBER)
    assert first.created and first.statement.fees_total == Decimal("1000.00")
    assert first.statement.lines.get().amount == Decimal("100.00")
    again = settle(c, OCTOBER)
    assert (again.created, again.statement.pk) == (False, first.statement.pk)

    november = settle(c, NOVEMBER).statement
    assert november.fees_total == Decimal("1200.00")
    assert november.lines.get().amount == Decimal("120.00")
    assert november.terms_change.kind == "amendment"
    assert november.terms_change.effective_from == NOVEMBER
    assert first.statement.terms_change is None  # the terms as first agreed

    # The live fee is the latest version; a correction of October's version rewrites it.
    amend_fee(cs, "1100.00", on=moment(2026, 12, 11), kind="correction", effective_from=OCTOBER)
    cs.refresh_from_db()
    assert cs.fee == Decimal("1200.00")
    revised = settle(c, OCTOBER, now=moment(2026, 12, 12))
    assert revised.created and revised.statement.revision == 2
    assert revised.statement.fees_total == Decimal("1100.00")
    assert revised.statement.terms_change.kind == "correction"
    assert settle(c, NOVEMBER, now=moment(2026, 12, 12)).created is False


def test_the_amendment_defaults_to_the_next_period_and_is_kept_with_its_author(book, personas):
    c, cs, _level = book
    amend_fee(cs, "1200.00", on=moment(2026, 10, 20), user=personas.provider_editor)

    original, amendment = TermsChange.objects.filter(contract=c).order_by("id")
    assert (original.kind, original.effective_from, original.terms) == (
        "original",
        None,
        {"fee": "1000"},
    )
    assert (amendment.kind, amendment.effective_from, amendment.terms) == (
        "amendment",
        NOVEMBER,
        {"fee": "1200"},
    )
    assert amendment.made_by == personas.provider_editor


def test_an_amendment_and_a_correction_in_the_same_period(book):
    c, cs, _level = book
    amend_fee(cs, "1200.00", on=moment(2026, 10, 5))  # from November
    amend_fee(cs, "900.00", on=moment(2026, 10, 6), kind="correction")  # today's: since January

    assert settle(c, OCTOBER).statement.fees_total == Decimal("900.00")
    assert settle(c, NOVEMBER).statement.fees_total == Decimal("1200.00")
    assert settle(c, date(2026, 9, 1)).statement.fees_total == Decimal("900.00")


def test_an_amendment_never_changes_a_statement_already_issued(book):
    c, cs, level = book
    september = settle(c, date(2026, 9, 1), now=moment(2026, 10, 3)).statement

    amend_fee(cs, "5000.00", on=moment(2026, 10, 4))
    level.target = Decimal("90")
    level.credit_rule = {"kind": "flat", "percent": "50"}
    with time_machine.travel(moment(2026, 10, 4), tick=False):
        save_service_level(service_level=level)

    again = settle(c, date(2026, 9, 1))
    assert (again.created, again.statement.pk) == (False, september.pk)
    october = settle(c, OCTOBER).statement
    assert october.fees_total == Decimal("1000.00")
    november = settle(c, NOVEMBER).statement
    assert november.fees_total == Decimal("5000.00")
    line = november.lines.get()
    assert (line.target, line.met, line.amount) == (Decimal("90"), True, Decimal("0"))


def test_an_amendment_effective_in_the_middle_of_a_prorated_first_period():
    c = contract(start=date(2026, 11, 16))
    cs = service(c, fee="3000.00")
    objective(c, key="on-time", indicator="ratio", target="99")
    ratio(cs, "on-time", at(2026, 11, 20), 100, 100)
    # The contract starts on the 16th, inside its first monthly period: an amendment from
    # that period's start applies to the days the contract is active, prorated (15 of 30).
    amend_fee(cs, "6000.00", on=moment(2026, 11, 20), effective_from=NOVEMBER)
    # ... and one from the next period leaves November alone.
    amend_fee(cs, "9000.00", on=moment(2026, 11, 21))

    assert settle(c, NOVEMBER).statement.fees_total == Decimal("3000.00")
    december = settle(c, date(2026, 12, 1), now=moment(2027, 1, 5)).statement
    assert december.fees_total == Decimal("9000.00")


@pytest.mark.parametrize(
    ("effective_from", "message"),
    [
        (date(2026, 11, 15), "inside the period starting 2026-11-01"),
        (
            date(2026, 9, 1),
            "cannot reach a period that has begun: the earliest start is 2026-10-01",
        ),
    ],
)
def test_an_amendment_must_start_on_a_period_start_that_has_not_begun(
    book, effective_from, message
):
    _c, cs, _level = book

    with pytest.raises(ValidationError) as excinfo:
        amend_fee(cs, "1200.00", on=moment(2026, 10, 20), effective_from=effective_from)

    assert message in excinfo.value.message_dict["effective_from"][0]
    cs.refresh_from_db()
    assert cs.fee == Decimal("1000.00")
    assert not TermsChange.objects.exists()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(["fee", "target", "rule"]),
            st.integers(min_value=1, max_value=30),  # the day of October it is made
            st.integers(min_value=0, max_value=3),  # periods after the next one
            st.integers(min_value=1, max_value=99),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_amending_terms_never_changes_a_closed_periods_statement(personas, changes):
    c = contract(provider=personas.provider, customer=personas.customer)
    cs = service(c, fee="1000.00")
    level = objective(
        c, key="on-time", indicator="ratio", target="99", rule={"kind": "flat", "percent": "10"}
    )
    ratio(cs, "on-time", at(2026, 9, 2), 95, 100)
    ratio(cs, "on-time", at(2026, 10, 2), 95, 100)
    september = settle(c, date(2026, 9, 1), now=moment(2026, 10, 1)).statement
    for what, day, later, number in sorted(changes, key=lambda change: change[1]):
        start = date(2026, 11 + later, 1) if later < 2 else date(2027, later - 1, 1)
        edit = TermsEdit(effective_from=start)
        with time_machine.travel(moment(2026, 10, day), tick=False):
            if what == "fee":
                cs.fee = Decimal(number * 10)
                save_contract_service(contract_service=cs, terms_edit=edit)
            else:
                if what == "target":
                    level.target = Decimal(number)
                else:
                    level.credit_rule = {"kind": "flat", "percent": str(number)}
                save_service_level(service_level=level, terms_edit=edit)

    again = settle(c, date(2026, 9, 1))
    october = settle(c, OCTOBER)

    assert (again.created, again.statement.pk) == (False, september.pk)
    assert october.statement.fees_total == Decimal("1000.00")
    assert october.statement.lines.get().amount == Decimal("100.00")
