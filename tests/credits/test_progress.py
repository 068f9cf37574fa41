"""The open period's attainment so far: recorded by the early-warning run, one row per
objective, read by the dashboard for every objective of every visible contract."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

import engine
from credits import notify
from credits.models import OpenPeriodProgress
from credits.progress import record_progress, record_progress_many
from credits.settlement import warn_early
from credits.settlement.inputs import Job
from credits.settlement.measures import measure_many
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

RULE = {"kind": "per_step", "step": "0.5", "percent": "1"}
NOW = at(2026, 9, 10, 12)
SEPTEMBER = date(2026, 9, 1)


@pytest.fixture(autouse=True)
def quiet_notifications(monkeypatch):
    """Early warnings announce themselves after commit; these tests read the rows."""
    monkeypatch.setattr(notify, "early_warnings", lambda *, warning_ids: None)


def book(**fields):
    """One active September contract with four objectives: one breached (half the reports
    late), one on track (all on time), one at risk (30 minutes down in 9.5 days against
    99.9 %) and one without a sample yet."""
    c = contract(start=date(2026, 9, 1), **fields)
    cs = service(c, fee="1000.00", name="Reports")
    objective(c, key="on-time", indicator="ratio", target="99.5", rule=RULE)
    objective(c, key="delivered", indicator="ratio", target="99.5", rule=RULE)
    objective(c, key="quiet", indicator="ratio", target="99.5", rule=RULE)
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "tiered", "tiers": [{"bound": "99.9", "percent": "10"}]},
    )
    ratio(cs, "on-time", at(2026, 9, 2), 50, 100)
    ratio(cs, "delivered", at(2026, 9, 2), 100, 100)
    down = at(2026, 9, 5)
    IncidentFactory(
        contract_service=cs,
        key="availability",
        started_at=down,
        ended_at=down + timedelta(minutes=30),
    )
    return c, cs


def open_period(c, now=NOW) -> engine.Period:
    return engine.period_containing(now.date(), c.settlement_period, c.timezone)


def measure_and_record(c, now=NOW) -> int:
    period = open_period(c, now)
    ((_, measured),) = measure_many([Job(c, period, now, {})])
    return record_progress(contract=c, period=period, measured=measured, now=now)


def rows(c) -> dict[str, OpenPeriodProgress]:
    return {row.key: row for row in OpenPeriodProgress.objects.filter(contract_service__contract=c)}


# --------------------------------------------------------------------------- recording


def test_every_measured_objective_gets_its_attainment_so_far_and_state():
    c, cs = book()

    assert measure_and_record(c) == 4

    stored = rows(c)
    assert {key: row.state for key, row in stored.items()} == {
        "on-time": "breached",
        "delivered": "on_track",
        "availability": "at_risk",
        "quiet": "no_data",
    }
    assert stored["on-time"].attainment == Decimal("50")
    assert stored["delivered"].attainment == Decimal("100")
    # 30 minutes down of 9.5 days scheduled: 819,000 / 820,800 s, rounded to 10 places.
    assert stored["availability"].attainment == Decimal("99.7807017544")
    assert stored["availability"].projected_credit_percent == Decimal("10")
    assert "at risk" in stored["availability"].explanation
    assert "already breached" in stored["on-time"].explanation
    assert stored["delivered"].explanation == ""
    assert stored["quiet"].attainment is None
    for row in stored.values():
        assert row.contract_service == cs
        assert (row.period_start, row.period_end) == (SEPTEMBER, date(2026, 9, 30))
        assert row.measured_at == NOW
        assert row.service_level.key == row.key
    assert (stored["availability"].target, stored["availability"].comparator) == (
        Decimal("99.9"),
        "gte",
    )


def test_recording_again_updates_the_same_rows_in_two_queries(django_assert_num_queries):
    c, cs = book()
    measure_and_record(c)
    first = {key: row.pk for key, row in rows(c).items()}
    later = NOW + timedelta(days=1)
    ratio(cs, "quiet", at(2026, 9, 10, 13), 20, 20)
    period = open_period(c, later)
    ((_, measured),) = measure_many([Job(c, period, later, {})])

    with django_assert_num_queries(2):  # one delete of stale rows, one upsert
        assert record_progress(contract=c, period=period, measured=measured, now=later) == 4
    with django_assert_num_queries(2):
        record_progress(contract=c, period=period, measured=measured, now=later)

    stored = rows(c)
    assert {key: row.pk for key, row in stored.items()} == first
    assert stored["quiet"].state == "on_track"
    assert stored["quiet"].attainment == Decimal("100")
    assert {row.measured_at for row in stored.values()} == {later}
    assert OpenPeriodProgress.objects.count() == 4


def test_earlier_periods_and_objectives_no_longer_measured_are_removed():
    c, cs = book()
    other, _ = book()
    measure_and_record(c)
    measure_and_record(other)
    quiet = cs.contract.service_levels.get(key="quiet")
    quiet.enabled = False
    quiet.save()

    october = at(2026, 10, 3)
    measure_and_record(c, now=october)

    stored = rows(c)
    assert set(stored) == {"on-time", "delivered", "availability"}
    assert {row.period_start for row in stored.values()} == {date(2026, 10, 1)}
    # October has no sample yet; nothing of September is left to mistake for it.
    assert {row.state for row in stored.values()} == {"no_data", "on_track"}
    # Another contract's rows are its own business.
    assert len(rows(other)) == 4
    assert {row.period_start for row in rows(other).values()} == {SEPTEMBER}


def test_a_contract_without_objectives_keeps_no_rows():
    c, _ = book()
    measure_and_record(c)
    c.service_levels.update(enabled=False)

    assert measure_and_record(c) == 0
    assert rows(c) == {}


# --------------------------------------------------------------------------- warn_early


def test_the_early_warning_run_records_every_objective_on_track_ones_included():
    c, _ = book()

    warnings = warn_early(contract=c, now=NOW)

    assert sorted(w.key for w in warnings) == ["availability", "on-time"]
    assert {key: row.state for key, row in rows(c).items()} == {
        "on-time": "breached",
        "delivered": "on_track",
        "availability": "at_risk",
        "quiet": "no_data",
    }


def test_the_early_warning_run_records_nothing_for_a_suspended_contract():
    c, _ = book(status="suspended")
    assert warn_early(contract=c, now=NOW) == []
    assert rows(c) == {}


# --------------------------------------------------------------------------- dashboard


def _objective_rows(html: str) -> dict[str, tuple[str, str]]:
    """Per objective key of the open-period table: its state and the row's HTML."""
    found = re.findall(
        r'<tr data-state="(\w+)" data-contract="[^"]*" data-objective="([\w-]+)">(.*?)</tr>',
        html,
        re.S,
    )
    return {key: (state, body) for state, key, body in found}


@pytest.fixture
def globex_book(personas):
    """A September contract of the personas' provider and customer, measured at NOW."""
    c, cs = book(provider=personas.provider, customer=personas.customer, reference="ACME-OPEN")
    warn_early(contract=c, now=NOW)
    return c, cs


def test_dashboard_shows_every_objectives_attainment_so_far_and_state(
    client, personas, globex_book
):
    client.force_login(personas.customer_member)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        html = client.get(reverse("dashboard")).content.decode()

    table = _objective_rows(html)
    assert {key: state for key, (state, _) in table.items()} == {
        "on-time": "breached",
        "availability": "at_risk",
        "delivered": "on_track",
        "quiet": "no_data",
    }
    assert '<span class="badge breached">breached</span>' in table["on-time"][1]
    assert "50.000 %" in table["on-time"][1]
    assert '<span class="badge at_risk">at risk</span>' in table["availability"][1]
    assert "99.781 %" in table["availability"][1]
    assert "at least 99.9 %" in table["availability"][1]
    assert '<span class="badge met">on track</span>' in table["delivered"][1]
    assert "100.000 %" in table["delivered"][1]
    assert "no data yet" in table["quiet"][1]
    for key in ("on-time", "availability", "delivered", "quiet"):
        assert (
            '<time datetime="2026-09-10T12:00:00+00:00">10 Sep 2026 12:00 UTC</time>'
            in (table[key][1])
        )
    # What needs attention first.
    assert list(table)[:2] == ["on-time", "availability"]


def test_an_objective_not_measured_yet_says_no_data_yet(client, personas, globex_book):
    c, _ = globex_book
    objective(c, key="fresh", indicator="ratio", target="99", rule=RULE)
    client.force_login(personas.customer_member)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        html = client.get(reverse("dashboard")).content.decode()

    state, body = _objective_rows(html)["fresh"]
    assert state == "no_data"
    assert "no data yet" in body
    assert "at least 99 %" in body


def test_provider_dashboard_shows_the_same_progress(client, personas, globex_book):
    client.force_login(personas.provider_viewer)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        html = client.get(reverse("dashboard")).content.decode()

    table = _objective_rows(html)
    assert table["on-time"][0] == "breached"
    assert table["delivered"][0] == "on_track"


def test_another_customer_never_sees_the_progress(client, personas, globex_book):
    client.force_login(personas.other_customer_member)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        html = client.get(reverse("dashboard")).content.decode()
        refused = client.get(reverse("dashboard"), {"organization": "globex"})

    assert "ACME-OPEN" not in html
    assert _objective_rows(html).keys().isdisjoint({"on-time", "delivered", "availability"})
    assert refused.status_code == 404


def test_a_draft_contracts_progress_never_reaches_its_customer(client, personas):
    draft, _ = book(
        provider=personas.provider,
        customer=personas.customer,
        reference="ACME-DRAFT-OPEN",
        status="draft",
    )
    # A draft is never measured; rows written anyway must still not reach the customer.
    measure_and_record(draft)
    assert len(rows(draft)) == 4
    client.force_login(personas.customer_member)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        html = client.get(reverse("dashboard")).content.decode()

    assert "ACME-DRAFT-OPEN" not in html
    assert "on-time" not in _objective_rows(html)


def test_many_contracts_are_recorded_in_two_queries_each_keeping_only_its_own_rows(
    django_assert_num_queries,
):
    first, _ = book()
    second, _ = book()
    third, _ = book()
    for c in (first, second, third):
        measure_and_record(c)
    # An objective the second contract no longer measures, and a row of an earlier period.
    stale = rows(second)["quiet"]
    OpenPeriodProgress.objects.filter(pk=stale.pk).update(key="gone")
    earlier = rows(first)["delivered"]
    OpenPeriodProgress.objects.filter(pk=earlier.pk).update(period_start=date(2026, 8, 1))
    later = NOW + timedelta(days=1)
    jobs = [Job(c, open_period(c, later), later, {}) for c in (first, second)]
    measured = [
        (job.contract, job.period, outcome[1])
        for job, outcome in zip(jobs, measure_many(jobs), strict=True)
    ]

    with django_assert_num_queries(2):  # one delete of stale rows, one upsert
        assert record_progress_many(measured, now=later) == 8

    for c in (first, second):
        assert set(rows(c)) == {"on-time", "delivered", "quiet", "availability"}
        assert {row.measured_at for row in rows(c).values()} == {later}
    assert not OpenPeriodProgress.objects.filter(key="gone").exists()
    assert not OpenPeriodProgress.objects.filter(period_start=date(2026, 8, 1)).exists()
    # The third contract, not recorded this time, keeps its rows as they were.
    assert {row.measured_at for row in rows(third).values()} == {NOW}
