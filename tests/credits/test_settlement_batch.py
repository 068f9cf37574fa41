"""Settling many contract periods at once: the same figures as one at a time, in a constant
number of queries, each pair's refusal kept to itself."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import Contract, Responsibility
from credits.models import Statement
from credits.settlement import (
    SettlementError,
    SettlementResult,
    compute_period,
    periods,
    settle_periods,
)
from credits.settlement.compute import compute_many
from credits.settlement.inputs import (
    Job,
    _sample_aggregates,
    attach_relief,
    plan_jobs,
    sample_figures,
)
from tests.credits.settlement_book import at, contract, objective, ratio, samples, service
from tests.factories import IncidentFactory, ResponsibilityLapseFactory

pytestmark = pytest.mark.django_db

SEPTEMBER = date(2026, 9, 1)
AFTER = at(2026, 10, 20)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide")
COMPARATORS = ("gte", "lte")
TIERS = {"kind": "per_step", "step": "0.5", "percent": "2"}


def varied_book(count: int, seed: int = 7) -> list:
    """Contracts in zones with whole- and half-hour offsets, every indicator, thresholds
    with every comparator, samples that straddle the period's edges (some without a value
    or an ok flag), provider incidents, and lapses that relieve some objectives."""
    rng = random.Random(seed)
    contracts = []
    for number in range(count):
        c = contract(tz=ZONES[number % len(ZONES)], reference=f"B-{number}")
        first, second = service(c, fee="1200.00"), service(c, fee="800.00")
        on_time = objective(c, key="on-time", indicator="ratio", target="98", rule=TIERS)
        latency = objective(
            c,
            key="latency",
            indicator="threshold",
            target="90",
            threshold=str(rng.choice([150, 200, 250])),
            threshold_comparator=COMPARATORS[number % 2],
            rule=TIERS,
        )
        tickets = objective(
            c, key="tickets", indicator="count", target="40", comparator="lte", rule=TIERS
        )
        objective(
            c,
            second,
            key="availability",
            indicator="uptime",
            target="99.5",
            rule=TIERS,
        )
        for cs in (first, second):
            # From a day before the period to a day after it, in the contract's zone.
            begin = at(2026, 8, 31, tz=c.timezone)
            oks = [rng.random() < 0.97 for _ in range(300)] + [None] * 5
            samples(cs, "on-time", begin, oks=oks, every=timedelta(hours=2, minutes=23))
            values = [rng.randint(100, 300) for _ in range(300)] + [None, None]
            samples(cs, "latency", begin, values=values, every=timedelta(hours=2, minutes=23))
            counts = [rng.randint(0, 3) for _ in range(40)] + [None]
            samples(cs, "tickets", begin, values=counts, every=timedelta(hours=19))
        down = at(2026, 9, 10, 3, tz=c.timezone) + timedelta(hours=number)
        IncidentFactory(
            contract_service=second,
            key="availability",
            started_at=down,
            ended_at=down + timedelta(minutes=30 + 20 * number),
        )
        if number % 2:
            # Lapses that overlap each other, one that straddles the period's start, on
            # every sampled indicator (each sample inside counts once).
            responsibility = Responsibility.objects.create(contract=c, title="Send the data")
            responsibility.service_levels.add(on_time, latency, tickets)
            start = at(2026, 9, 12, tz=c.timezone)
            straddling = at(2026, 8, 31, 12, tz=c.timezone)
            for lapse_start, hours in (
                (start, 30),
                (start + timedelta(hours=20), 24),
                (straddling, 30),
            ):
                ResponsibilityLapseFactory(
                    responsibility=responsibility,
                    start=lapse_start,
                    end=lapse_start + timedelta(hours=hours),
                )
        contracts.append(c)
    return contracts


def jobs_of(contracts) -> list[Job]:
    jobs = []
    for c in contracts:
        period = periods.period_of(c, SEPTEMBER)
        jobs.append(Job(c, period, period.end_at))
    return jobs


def test_the_batched_aggregates_equal_the_per_contract_group_by():
    book = varied_book(8)
    plans = plan_jobs(jobs_of(book))
    attach_relief(plans)
    assert any(target.relief for plan in plans for target in plan.targets)

    batched = sample_figures(plans)

    compared = 0
    for p, plan in enumerate(plans):
        sampled = [t for t in plan.targets if t.objective.indicator != "uptime"]
        reference = _sample_aggregates(sampled, *plan.window)
        for t, target in enumerate(plan.targets):
            if target.objective.indicator == "uptime":
                continue
            expected = reference[(target.contract_service.pk, target.objective.key)]
            got = batched[(p, t)]
            names = ["samples", "judged", "ok_count", "valued", "value_sum"]
            if target.objective.indicator == "threshold":
                names.append("meeting")
            if target.relief:
                names.append("relieved")
            assert {name: got[name] for name in names} == {
                name: expected[name] for name in names
            }, (plan.job.contract.reference, target.objective.key)
            compared += 1
    assert compared == 8 * 2 * 3


def test_statements_computed_in_one_batch_are_those_computed_each_alone():
    book = varied_book(6)

    together = compute_many(jobs_of(book))

    alone = [compute_period(contract=c, period_start=SEPTEMBER) for c in book]
    assert [s.fingerprint for s in together] == [s.fingerprint for s in alone]
    assert [s.credit_total for s in together] == [s.credit_total for s in alone]
    assert any(s.credit_total > 0 for s in alone)


def queries_to_settle(contracts) -> int:
    with CaptureQueriesContext(connection) as captured:
        outcomes = settle_periods([(c.pk, SEPTEMBER) for c in contracts], now=AFTER, announce=False)
    assert all(isinstance(o, SettlementResult) and o.created for o in outcomes)
    return len(captured.captured_queries)


def test_a_batch_costs_the_same_queries_for_two_contracts_as_for_eight():
    book = varied_book(10)

    # Savepoint, lock, latest revisions, the terms in force, the accepted disputes, the
    # accepted claims, objectives (2), lapses, samples, samples inside the lapses, windows,
    # incidents, savepoint, statements, release, release; and one COPY of the lines, which
    # goes round Django's cursor and is not counted here.
    assert queries_to_settle(book[:2]) == 17
    assert queries_to_settle(book[2:]) == 17


def test_one_pair_that_cannot_be_settled_leaves_the_others_settled():
    first, second = varied_book(2)
    draft = contract(status="draft", reference="DRAFT-1")
    pairs = [
        (first.pk, SEPTEMBER),
        (second.pk, date(2026, 9, 2)),  # not a period start
        (draft.pk, SEPTEMBER),
        (999_999, SEPTEMBER),
        (second.pk, SEPTEMBER),
    ]

    outcomes = settle_periods(pairs, now=AFTER, announce=False)

    assert [type(o).__name__ for o in outcomes] == [
        "SettlementResult",
        "SettlementError",
        "SettlementError",
        "SettlementError",
        "SettlementResult",
    ]
    assert "not the start of a monthly settlement period" in str(outcomes[1])
    assert "draft" in str(outcomes[2])
    assert str(outcomes[3]) == "Contract 999999 does not exist."
    assert set(Statement.objects.values_list("contract_id", "period_start")) == {
        (first.pk, SEPTEMBER),
        (second.pk, SEPTEMBER),
    }


def test_the_same_pair_twice_in_a_batch_issues_one_statement():
    (c,) = varied_book(1)

    once, twice = settle_periods([(c.pk, SEPTEMBER), (c.pk, SEPTEMBER)], now=AFTER)

    assert once == twice
    assert once.created
    assert Statement.objects.filter(contract=c).count() == 1


def test_late_data_in_a_batch_issues_a_revision_only_where_it_landed():
    first, second = varied_book(2)
    settle_periods([(first.pk, SEPTEMBER), (second.pk, SEPTEMBER)], now=AFTER)
    cs = first.services.order_by("pk").first()
    ratio(cs, "on-time", at(2026, 9, 20, 1, 7, tz=first.timezone), 0, 50)

    again = settle_periods([(first.pk, SEPTEMBER), (second.pk, SEPTEMBER)], now=AFTER)

    assert [(o.statement.revision, o.created) for o in again] == [(2, True), (1, False)]
    revisions = Statement.objects.filter(contract=first).order_by("revision")
    assert revisions[0].credit_total < revisions[1].credit_total


def test_a_refused_rule_is_that_pair_s_error_not_the_batch_s():
    first, second = varied_book(2)
    Contract.objects.filter(pk=second.pk).update(credit_cap_percent=Decimal(20))
    second.refresh_from_db()
    objective(
        second,
        key="backups",
        indicator="ratio",
        target="99",
        rule={"kind": "pool", "allocation_percent": "50"},
    )
    samples(second.services.first(), "backups", at(2026, 9, 3), oks=[False, True])
    # A pool rule shares the at-risk amount; once the cap is gone there is none to share.
    Contract.objects.filter(pk=second.pk).update(credit_cap_percent=None)

    ok, refused = settle_periods([(first.pk, SEPTEMBER), (second.pk, SEPTEMBER)], now=AFTER)

    assert isinstance(ok, SettlementResult) and ok.created
    assert isinstance(refused, SettlementError)
    assert "B-1" in str(refused)
    assert not Statement.objects.filter(contract=second).exists()
    assert ok.statement.credit_total >= Decimal(0)
