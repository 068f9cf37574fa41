"""Chronic failure (SPEC §6): the K-th breach within M consecutive periods of an objective
is a chronic failure, shown on its statement and the contract page, and told to both
parties exactly once, however often the period is settled or revised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.models import ChronicFailure, Notification
from credits.settlement import settle_period, settle_periods
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.credits.test_notify import eager_tasks, members_of  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

JANUARY, FEBRUARY, MARCH, APRIL = (date(2026, month, 1) for month in (1, 2, 3, 4))
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


@pytest.fixture
def book(personas):
    c = contract(start=JANUARY, provider=personas.provider, customer=personas.customer)
    cs = service(c, fee="1000.00", name="Reports")
    level = objective(
        c,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "flat", "percent": "10"},
        name="On-time delivery",
    )
    level.chronic_breaches, level.chronic_window = 2, 3
    level.full_clean()
    level.save()
    return c, cs


def month(cs, number: int, ok: int, total: int = 100) -> None:
    ratio(cs, "on-time", at(2026, number, 2), ok, total)


def settle(c, start, capture, now=NOW):
    with capture(execute=True):
        return settle_period(contract=c, period_start=start, now=now).statement


def told():
    return Notification.objects.filter(event="chronic_failure")


def test_the_second_breach_in_three_months_is_a_chronic_failure_told_to_both_parties(
    book, personas, django_capture_on_commit_callbacks
):
    c, cs = book
    month(cs, 1, 95)
    month(cs, 2, 95)

    january = settle(c, JANUARY, django_capture_on_commit_callbacks)
    assert not january.adjustments.filter(kind="chronic_failure").exists()
    february = settle(c, FEBRUARY, django_capture_on_commit_callbacks)

    row = february.adjustments.get(kind="chronic_failure")
    assert row.amount == Decimal("0.00")
    assert row.explanation == (
        "Chronic failure: On-time delivery (Reports) missed its target in 2 months within 3 "
        "months (January 2026 and February 2026), reaching the contract's limit of 2 "
        "breaches within 3 months: the customer may terminate the contract as it provides."
    )
    failure = ChronicFailure.objects.get()
    assert (failure.period_start, failure.breaches, failure.window, failure.statement) == (
        FEBRUARY,
        2,
        3,
        february,
    )
    assert set(told().values_list("user_id", flat=True)) == members_of(
        personas.provider, personas.customer
    )
    assert told().count() == len(members_of(personas.provider, personas.customer))


def test_chronic_failure_is_told_exactly_once_when_settled_again_and_revised(
    book, personas, django_capture_on_commit_callbacks
):
    c, cs = book
    month(cs, 1, 95)
    month(cs, 2, 95)
    settle(c, JANUARY, django_capture_on_commit_callbacks)
    settle(c, FEBRUARY, django_capture_on_commit_callbacks)
    once = told().count()
    assert once == len(members_of(personas.provider, personas.customer))

    # Settled again and again: nothing new.
    for _ in range(3):
        again = settle(c, FEBRUARY, django_capture_on_commit_callbacks)
        assert again.revision == 1
    # Revised by late data (still breached): a new revision shows it, nobody is told again.
    month(cs, 2, 90)
    revised = settle(c, FEBRUARY, django_capture_on_commit_callbacks, NOW + timedelta(days=1))
    assert revised.revision == 2
    assert revised.adjustments.filter(kind="chronic_failure").exists()
    # January revised (still breached) settles February again too: still once.
    month(cs, 1, 90)
    settle(c, JANUARY, django_capture_on_commit_callbacks, NOW + timedelta(days=2))
    # March breaches again: the count starts after February's failure, so one breach.
    month(cs, 3, 95)
    march = settle(c, MARCH, django_capture_on_commit_callbacks)
    assert not march.adjustments.filter(kind="chronic_failure").exists()

    assert ChronicFailure.objects.count() == 1
    assert told().count() == once


def test_the_count_starts_again_after_a_failure(book, django_capture_on_commit_callbacks):
    c, cs = book
    for number in (1, 2, 3, 4):
        month(cs, number, 95)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = settle_periods(
            [(c.pk, start) for start in (JANUARY, FEBRUARY, MARCH, APRIL)], now=NOW
        )

    found = [
        outcome.statement.adjustments.filter(kind="chronic_failure").exists()
        for outcome in outcomes
    ]
    assert found == [False, True, False, True]
    assert list(ChronicFailure.objects.values_list("period_start", flat=True)) == [
        APRIL,
        FEBRUARY,
    ]


def test_the_sweeps_settlement_tells_it_through_a_worker_once(
    book,
    personas,
    eager_tasks,  # noqa: F811 - the fixture imported above
    django_capture_on_commit_callbacks,
):
    c, cs = book
    month(cs, 1, 95)
    month(cs, 2, 95)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            settle_periods([(c.pk, JANUARY), (c.pk, FEBRUARY)], now=NOW, announce="queued")

    assert told().count() == len(members_of(personas.provider, personas.customer))


def test_both_parties_see_it_on_the_contract_page_and_outsiders_get_404(
    client, book, personas, django_capture_on_commit_callbacks
):
    c, cs = book
    month(cs, 1, 95)
    month(cs, 2, 95)
    settle(c, JANUARY, django_capture_on_commit_callbacks)
    settle(c, FEBRUARY, django_capture_on_commit_callbacks)

    for user in (personas.provider_viewer, personas.customer_member):
        client.force_login(user)
        page = client.get(reverse("contract-detail", args=[c.pk])).content.decode()
        assert "Chronic failure" in page
        assert "On-time delivery (Reports) missed its target in 2 months" in page
    client.force_login(personas.other_customer_member)
    assert client.get(reverse("contract-detail", args=[c.pk])).status_code == 404
