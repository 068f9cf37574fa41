"""Terms over time for provider-wide objectives (SPEC §6): a corporate or service-level
objective is versioned in each contract it applies to, exactly as a contract's own. An
amendment never changes a closed period of any of them (E10); a correction does; the
browser, the API and the admin ask which it is; and held credits survive an amendment
that removes earn-back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.models import ServiceLevel, TermsChange
from contracts.services import save_service_level
from contracts.services.terms import TermsEdit
from credits.settlement import settle_period
from tests.api.conftest import client_for, url
from tests.contracts.test_views_objectives import objective_data
from tests.credits.settlement_book import at, contract, ratio, service
from tests.terms.test_earn_back import assert_each_held_credit_earned_back_or_paid_once

pytestmark = pytest.mark.django_db

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
LATER = datetime(2026, 12, 10, 12, tzinfo=UTC)
FLAT_10 = {"kind": "flat", "percent": "10"}


def moment(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def corporate(provider, *, rule=FLAT_10, target="99", **fields) -> ServiceLevel:
    return save_service_level(
        service_level=ServiceLevel(
            level="corporate",
            provider=provider,
            key="on-time",
            name="On-time delivery",
            indicator="ratio",
            target=Decimal(target),
            credit_rule=rule,
            **fields,
        )
    )


def edit(level: ServiceLevel, *, on: datetime, **terms_edit) -> None:
    with time_machine.travel(on, tick=False):
        save_service_level(service_level=level, terms_edit=TermsEdit(**terms_edit))


def settle(c, start: date, now: datetime = LATER):
    return settle_period(contract=c, period_start=start, now=now, announce=False)


def two_contracts(**kw):
    first = contract(**kw)
    second = contract(provider=first.provider, tz="Pacific/Auckland")
    services = []
    for c in (first, second):
        cs = service(c, fee="1000.00")
        for month in (9, 10, 11):
            ratio(cs, "on-time", at(2026, month, 2), 95, 100)  # breached: 10 % of the fee
        services.append(cs)
    return (first, second), services


# --------------------------------------------------------------------------- E10


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(["target", "rule", "earn_back", "chronic"]),
            st.integers(min_value=1, max_value=30),  # the day of October it is made
            st.sampled_from([None, NOVEMBER, date(2026, 12, 1), date(2027, 1, 1)]),
            st.integers(min_value=1, max_value=99),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_amending_a_corporate_objective_never_changes_a_closed_periods_statement(changes):
    contracts, _services = two_contracts()
    level = corporate(contracts[0].provider)
    september = [settle(c, SEPTEMBER, now=moment(2026, 10, 1)).statement for c in contracts]
    for what, day, start, number in sorted(changes, key=lambda change: change[1]):
        if what == "target":
            level.target = Decimal(number)
        elif what == "rule":
            level.credit_rule = {"kind": "flat", "percent": str(number)}
        elif what == "earn_back":
            level.credit_rule = {**FLAT_10, "earn_back_periods": 1 + number % 3}
        else:
            level.chronic_breaches, level.chronic_window = 2, 3
        edit(level, on=moment(2026, 10, day), effective_from=start)

    for c, issued in zip(contracts, september, strict=True):
        again = settle(c, SEPTEMBER)
        assert (again.created, again.statement.pk) == (False, issued.pk)
        october = settle(c, OCTOBER).statement
        line = october.lines.get()
        assert (line.target, line.amount, line.held) == (
            Decimal("99"),
            Decimal("100.00"),
            Decimal("0"),
        )
        assert october.terms_change is None  # the terms as first agreed


def test_e10_for_a_corporate_objective_amendment_from_november_and_a_correction_of_october():
    contracts, _services = two_contracts()
    level = corporate(contracts[0].provider)
    level.credit_rule = {"kind": "flat", "percent": "20"}
    edit(level, on=moment(2026, 10, 20))  # an amendment from each contract's next period

    for c in contracts:
        assert settle(c, OCTOBER).statement.lines.get().amount == Decimal("100.00")
        november = settle(c, NOVEMBER).statement
        assert november.lines.get().amount == Decimal("200.00")
        assert (november.terms_change.kind, november.terms_change.effective_from) == (
            "amendment",
            NOVEMBER,
        )
    assert TermsChange.objects.filter(service_level=level, kind="amendment").count() == 2

    level.credit_rule = {"kind": "flat", "percent": "15"}
    edit(level, on=moment(2026, 12, 11), kind="correction", effective_from=OCTOBER)
    level.refresh_from_db()
    assert level.credit_rule["percent"] == "20"  # the latest version stays in the row
    for c in contracts:
        revised = settle(c, OCTOBER, now=moment(2026, 12, 12))
        assert revised.created and revised.statement.revision == 2
        assert revised.statement.lines.get().amount == Decimal("150.00")
        assert revised.statement.terms_change.kind == "correction"
        assert settle(c, NOVEMBER, now=moment(2026, 12, 12)).created is False


def test_a_service_level_objective_is_versioned_in_the_contracts_of_its_service_only():
    contracts, services = two_contracts()
    outsider = contract(provider=contracts[0].provider)
    service(outsider)
    level = save_service_level(
        service_level=ServiceLevel(
            level="service",
            provider=contracts[0].provider,
            service=services[0].service,
            key="on-time",
            name="On-time delivery",
            indicator="ratio",
            target=Decimal("99"),
            credit_rule=FLAT_10,
        )
    )
    level.target = Decimal("90")
    edit(level, on=moment(2026, 10, 20))

    changed = TermsChange.objects.filter(service_level=level)
    assert set(changed.values_list("contract", "kind")) == {
        (contracts[0].pk, "original"),
        (contracts[0].pk, "amendment"),
    }
    assert settle(contracts[0], OCTOBER).statement.lines.get().target == Decimal("99")
    assert settle(contracts[0], NOVEMBER).statement.lines.get().target == Decimal("90")


def test_an_amendment_from_a_day_that_starts_no_period_of_a_running_contract_is_refused():
    monthly = contract()
    quarterly = contract(provider=monthly.provider, period="quarter")
    ended = contract(provider=monthly.provider, period="quarter", end=date(2026, 9, 30))
    for c in (monthly, quarterly, ended):
        service(c)
    level = corporate(monthly.provider)
    level.target = Decimal("95")

    with pytest.raises(ValidationError) as excinfo:
        edit(level, on=moment(2026, 10, 20), effective_from=NOVEMBER)

    assert excinfo.value.message_dict["effective_from"] == [
        f"{quarterly.reference}: An amendment takes effect from the start of a period: "
        "2026-11-01 is inside the period starting 2026-10-01."
    ]
    level.refresh_from_db()
    assert level.target == Decimal("99")
    assert not TermsChange.objects.exists()
    # January starts a period of both running contracts; the ended one keeps its terms too.
    level.target = Decimal("95")
    edit(level, on=moment(2026, 10, 20), effective_from=date(2027, 1, 1))
    assert (
        TermsChange.objects.filter(kind="amendment", effective_from=date(2027, 1, 1)).count() == 3
    )


# --------------------------------------------------------------------------- earn-back


def test_held_credits_are_paid_after_an_amendment_removes_earn_back_from_a_corporate_objective():
    c = contract(start=date(2026, 1, 1))
    cs = service(c, fee="1000.00", name="Reports")
    level = corporate(c.provider, rule={**FLAT_10, "earn_back_periods": 2})
    ratio(cs, "on-time", at(2026, 1, 2), 95, 100)  # January breaches: 100.00 held
    ratio(cs, "on-time", at(2026, 2, 2), 95, 100)  # February breaches: January's is payable
    now = moment(2026, 6, 10)
    january = settle(c, date(2026, 1, 1), now=now).statement
    assert january.lines.get().held == Decimal("100.00")

    level.credit_rule = FLAT_10  # no earn-back from February on
    edit(level, on=moment(2026, 1, 20))

    february = settle(c, date(2026, 2, 1), now=now).statement
    line = february.lines.get()
    assert (line.amount, line.held) == (Decimal("100.00"), Decimal("0"))
    paid = february.adjustments.get(kind="earn_back_paid")
    assert paid.amount == Decimal("100.00")
    assert "January 2026's held credit of 100.00 EUR" in paid.explanation
    assert february.credit_total == Decimal("200.00")
    assert_each_held_credit_earned_back_or_paid_once(c)


# --------------------------------------------------------------------------- interfaces


@pytest.fixture
def shared(personas) -> ServiceLevel:
    with time_machine.travel(moment(2026, 10, 20), tick=False):
        return corporate(personas.provider)


@pytest.fixture
def frozen():
    with time_machine.travel(moment(2026, 10, 20), tick=True):
        yield


def test_api_a_corporate_objective_changed_without_saying_is_an_amendment_in_every_contract(
    personas, shared, frozen
):
    response = client_for(personas.provider_editor).patch(
        url("servicelevel", shared.pk), {"target": "98"}, format="json"
    )

    assert response.status_code == 200, response.json()
    amendments = TermsChange.objects.filter(service_level=shared, kind="amendment")
    assert {change.contract_id for change in amendments} == set(
        personas.provider.contracts_as_provider.values_list("pk", flat=True)
    )
    assert {(c.effective_from, c.terms["target"], c.made_by) for c in amendments} == {
        (NOVEMBER, "98", personas.provider_editor)
    }
    # The customer reads it on its contract's timeline.
    timeline = client_for(personas.customer_member).get(
        url("contract", personas.contract.pk, "terms")
    )
    assert timeline.status_code == 200
    assert "amendment" in [row["kind"] for row in timeline.json()]


def test_api_a_correction_of_a_corporate_objective_and_a_wrong_day_beside_the_field(
    personas, shared, frozen
):
    client = client_for(personas.provider_editor)
    wrong = client.patch(
        url("servicelevel", shared.pk),
        {"target": "98", "effective_from": "2026-11-15"},
        format="json",
    )
    assert wrong.status_code == 400
    assert "inside the period starting 2026-11-01" in wrong.json()["effective_from"][0]
    assert not TermsChange.objects.exists()

    response = client.patch(
        url("servicelevel", shared.pk),
        {"target": "97", "change": "correction", "change_note": "The order says 97."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    change = TermsChange.objects.filter(kind="correction").first()
    assert (change.effective_from, change.terms["target"], change.note) == (
        None,
        "97",
        "The order says 97.",
    )


def test_browser_the_corporate_objective_form_asks_and_keeps_a_correction(
    client, personas, shared, frozen
):
    client.force_login(personas.provider_editor)
    path = reverse("objective-edit", args=["acme", shared.pk])
    assert 'name="change"' in client.get(path).content.decode()
    data = objective_data(
        scope="corporate", key="on-time", target="98", rule_kind="flat", flat_percent="10"
    )

    wrong = client.post(path, {**data, "effective_from": "2026-11-15"})
    assert wrong.status_code == 200
    assert "inside the period starting" in " ".join(wrong.context["form"].errors["effective_from"])
    assert not TermsChange.objects.exists()

    done = client.post(path, {**data, "change": "correction", "change_note": "Typo."})
    assert done.status_code == 302
    assert TermsChange.objects.filter(kind="correction", note="Typo.").exists()

    amended = client.post(path, {**data, "target": "96", "change": "amendment"})
    assert amended.status_code == 302
    assert TermsChange.objects.filter(kind="amendment", effective_from=NOVEMBER).exists()


def test_admin_a_corporate_objective_amended_in_the_admin_is_an_amendment(
    client, personas, shared, frozen
):
    client.force_login(personas.operator)
    path = reverse("admin:contracts_servicelevel_change", args=[shared.pk])
    data = {
        "level": "corporate",
        "provider": personas.provider.pk,
        "contract": "",
        "service": "",
        "key": "on-time",
        "name": "On-time delivery",
        "indicator": "ratio",
        "comparator": "gte",
        "target": "95",
        "threshold": "",
        "threshold_comparator": "",
        "enabled": "on",
        "credit_rule": '{"kind": "flat", "percent": "10"}',
        "calendar": "",
        "priority": "",
        "chronic_breaches": "",
        "chronic_window": "",
        "change": "amendment",
        "effective_from": "2026-12-01",
        "change_note": "",
    }

    response = client.post(path, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    change = TermsChange.objects.get(kind="amendment", contract=personas.contract)
    assert (change.effective_from, change.terms["target"], change.made_by) == (
        date(2026, 12, 1),
        "95",
        personas.operator,
    )
