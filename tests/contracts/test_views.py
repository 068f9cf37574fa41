"""The provider pages through the test client: who may open what, the contract list, the
contract header and its services.

Every page is checked against every persona: anonymous goes to the login page, an
outsider (another provider, another customer) gets 404, the contract's customer reads
but never changes, a provider viewer reads only (403 on writes), an editor does it all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import Contract, ContractService, ServiceLevel
from credits.models import EarlyWarning, OpenPeriodProgress, Statement
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    CustomerFactory,
    IncidentFactory,
    MaintenanceWindowFactory,
    ResponsibilityFactory,
    ResponsibilityLapseFactory,
    ServiceFactory,
    ServiceLevelFactory,
)

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
# Every page is read at one fixed moment, so "this month" and "last month" hold still.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@dataclass
class World:
    """One of everything a provider page can be about, on the personas' contract ACME-1."""

    contract: Contract
    cs: ContractService
    objective: ServiceLevel
    corporate: ServiceLevel
    responsibility: Any
    lapse: Any
    window: Any
    incident: Any
    service: Any


@pytest.fixture
def world(personas) -> World:
    contract = personas.contract
    cs = contract.services.select_related("service").get()
    objective = ServiceLevel.objects.create(
        level="customer",
        provider=personas.provider,
        contract=contract,
        key="report-delivery",
        name="Reports on time",
        indicator="ratio",
        target=Decimal("99.5"),
    )
    corporate = ServiceLevelFactory(provider=personas.provider, key="availability")
    responsibility = ResponsibilityFactory(contract=contract)
    return World(
        contract=contract,
        cs=cs,
        objective=objective,
        corporate=corporate,
        responsibility=responsibility,
        lapse=ResponsibilityLapseFactory(
            responsibility=responsibility,
            start=datetime(2026, 10, 1, tzinfo=UTC),
            end=datetime(2026, 10, 2, tzinfo=UTC),
        ),
        window=MaintenanceWindowFactory(
            contract=contract,
            start=datetime(2026, 10, 3, tzinfo=UTC),
            end=datetime(2026, 10, 3, 2, tzinfo=UTC),
        ),
        incident=IncidentFactory(
            contract_service=cs,
            started_at=datetime(2026, 10, 4, tzinfo=UTC),
            ended_at=datetime(2026, 10, 4, 1, tzinfo=UTC),
        ),
        service=cs.service,
    )


# Pages a contract's customer may read.
READ_PAGES = {
    "contract-detail": lambda w: [w.contract.pk],
    "contract-schedule": lambda w: [w.contract.pk],
}
# Pages only the provider's editors may open (GET shows the form; POST writes).
EDIT_PAGES = {
    "contract-edit": lambda w: [w.contract.pk],
    "contract-settle": lambda w: [w.contract.pk],
    "measurement-upload": lambda w: [w.contract.pk],
    "contract-service-create": lambda w: [w.contract.pk],
    "contract-service-edit": lambda w: [w.contract.pk, w.cs.pk],
    "contract-service-delete": lambda w: [w.contract.pk, w.cs.pk],
    "contract-objective-create": lambda w: [w.contract.pk],
    "contract-objective-edit": lambda w: [w.contract.pk, w.objective.pk],
    "contract-objective-delete": lambda w: [w.contract.pk, w.objective.pk],
    "responsibility-create": lambda w: [w.contract.pk],
    "responsibility-edit": lambda w: [w.contract.pk, w.responsibility.pk],
    "responsibility-delete": lambda w: [w.contract.pk, w.responsibility.pk],
    "lapse-create": lambda w: [w.contract.pk, w.responsibility.pk],
    "lapse-delete": lambda w: [w.contract.pk, w.lapse.pk],
    "maintenance-create": lambda w: [w.contract.pk],
    "maintenance-edit": lambda w: [w.contract.pk, w.window.pk],
    "maintenance-delete": lambda w: [w.contract.pk, w.window.pk],
    "incident-create": lambda w: [w.contract.pk],
    "incident-edit": lambda w: [w.contract.pk, w.incident.pk],
    "incident-delete": lambda w: [w.contract.pk, w.incident.pk],
}
# Provider-wide pages: the provider's members read, its editors write.
PROVIDER_READ_PAGES = {
    "objective-list": lambda w: ["acme"],
    "service-list": lambda w: ["acme"],
}
PROVIDER_EDIT_PAGES = {
    "objective-create": lambda w: ["acme"],
    "objective-edit": lambda w: ["acme", w.corporate.pk],
    "objective-delete": lambda w: ["acme", w.corporate.pk],
    "service-create": lambda w: ["acme"],
    "service-edit": lambda w: ["acme", w.service.pk],
}

EXPECTED = {
    # persona: (read, edit, provider read, provider edit)
    "provider_editor": (200, 200, 200, 200),
    "provider_admin": (200, 200, 200, 200),
    "operator": (200, 200, 200, 200),
    "provider_viewer": (200, 403, 200, 403),
    "customer_member": (200, 403, 404, 404),
    "other_customer_member": (404, 404, 404, 404),
    "other_provider_member": (404, 404, 404, 404),
}

ALL_PAGES = [
    *[(name, args, 0) for name, args in READ_PAGES.items()],
    *[(name, args, 1) for name, args in EDIT_PAGES.items()],
    *[(name, args, 2) for name, args in PROVIDER_READ_PAGES.items()],
    *[(name, args, 3) for name, args in PROVIDER_EDIT_PAGES.items()],
]


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_every_page_answers_each_persona_as_its_scope_and_role_allow(
    personas, world, client, persona
):
    client.force_login(getattr(personas, persona))
    answers = {}
    for name, args, _kind in ALL_PAGES:
        answers[name] = client.get(reverse(name, args=args(world))).status_code
    expected = {name: EXPECTED[persona][kind] for name, _args, kind in ALL_PAGES}
    assert answers == expected


def test_anonymous_is_sent_to_the_login_page_from_every_page(world, client):
    for name, args, _kind in [*ALL_PAGES, ("contract-list", lambda w: [], 0)]:
        url = reverse(name, args=args(world))
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/accounts/login/?next="), name


def test_customers_never_see_a_draft_contract(personas, client):
    client.force_login(personas.customer_member)
    url = reverse("contract-detail", args=[personas.draft_contract.pk])
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("contract-schedule", args=[personas.draft_contract.pk])).status_code
        == 404
    )


def test_customer_reads_the_contract_without_edit_controls_or_early_warnings(
    personas, world, client
):
    EarlyWarning.objects.create(
        contract_service=world.cs,
        key="report-delivery",
        period_start=date(2026, 11, 1),
        state="at_risk",
        message="Burning fast",
    )
    client.force_login(personas.customer_member)
    page = client.get(reverse("contract-detail", args=[world.contract.pk])).content.decode()
    assert "Reports on time" in page
    assert "Edit contract" not in page
    assert "Override" not in page
    assert reverse("contract-edit", args=[world.contract.pk]) not in page
    assert "Burning fast" not in page
    client.force_login(personas.provider_editor)
    page = client.get(reverse("contract-detail", args=[world.contract.pk])).content.decode()
    assert "Edit contract" in page and "Burning fast" in page


def test_a_viewer_cannot_change_anything_by_posting(personas, world, client):
    client.force_login(personas.provider_viewer)
    before = (
        Contract.objects.get(pk=world.contract.pk).title,
        ServiceLevel.objects.count(),
        ContractService.objects.count(),
    )
    posts = {
        "contract-edit": {"title": "Changed"},
        "contract-objective-create": {"scope": "customer", "key": "x", "name": "X"},
        "contract-objective-delete": {},
        "contract-service-delete": {},
        "contract-settle": {"period_start": "2026-10-01"},
    }
    for name, data in posts.items():
        url = reverse(name, args=EDIT_PAGES[name](world))
        assert client.post(url, data).status_code == 403, name
    remove = reverse("contract-objective-remove", args=[world.contract.pk])
    assert client.post(remove, {"service_level": world.corporate.pk}).status_code == 403
    assert Statement.objects.count() == 0
    assert before == (
        Contract.objects.get(pk=world.contract.pk).title,
        ServiceLevel.objects.count(),
        ContractService.objects.count(),
    )


def test_an_outsider_cannot_post_to_another_providers_contract(personas, world, client):
    client.force_login(personas.other_provider_member)
    url = reverse("contract-edit", args=[world.contract.pk])
    assert client.post(url, {"title": "Hijacked"}).status_code == 404
    remove = reverse("contract-objective-remove", args=[world.contract.pk])
    assert client.post(remove, {"service_level": world.corporate.pk}).status_code == 404
    assert Contract.objects.get(pk=world.contract.pk).title != "Hijacked"


def test_an_editor_cannot_reach_another_providers_objects_through_their_own_contract(
    personas, world, client
):
    other_cs = personas.other_contract.services.get()
    client.force_login(personas.provider_editor)
    url = reverse("contract-service-edit", args=[world.contract.pk, other_cs.pk])
    assert client.get(url).status_code == 404
    other_sl = ServiceLevelFactory(provider=personas.other_provider, key="speed")
    remove = reverse("contract-objective-remove", args=[world.contract.pk])
    assert client.post(remove, {"service_level": other_sl.pk}).status_code == 404


# --------------------------------------------------------------------------- landing


def test_provider_staff_land_on_their_contract_list(personas, client):
    client.force_login(personas.provider_viewer)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("contract-list")


def test_customers_land_on_their_dashboard_when_it_exists(personas, client):
    from django.urls import NoReverseMatch

    client.force_login(personas.customer_member)
    response = client.get("/")
    try:
        dashboard = reverse("dashboard")
    except NoReverseMatch:
        assert response.status_code == 200
        assert "ACME-1" in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"] == dashboard


# --------------------------------------------------------------------------- contract list


def _statement(contract, period_start, revision, credit, period_end=None):
    return Statement.objects.create(
        contract=contract,
        period_start=period_start,
        period_end=period_end or period_start.replace(day=28),
        revision=revision,
        currency=contract.currency,
        fees_total=Decimal("1000.00"),
        credit_total=Decimal(credit),
        fingerprint=f"{contract.pk}-{period_start}-{revision}",
        issued_at=NOW,
    )


def _row(page: str, reference: str) -> str:
    start = page.index(f">{reference}</a>")
    return page[start : page.index("</tr>", start)]


def test_the_list_shows_this_years_credits_from_the_latest_revision_of_each_period(
    personas, client
):
    contract = personas.contract
    _statement(contract, date(2026, 10, 1), 1, "100.00")
    _statement(contract, date(2026, 10, 1), 2, "40.00")  # replaces revision 1
    _statement(contract, date(2026, 9, 1), 1, "10.00")
    _statement(contract, date(2025, 12, 1), 1, "500.00")  # last year
    client.force_login(personas.provider_editor)
    page = client.get(reverse("contract-list")).content.decode()
    assert "50.00 EUR" in _row(page, "ACME-1")
    assert "0.00 EUR" in _row(page, "ACME-DRAFT")


def _progress(cs: ContractService, key: str, start: date, state: str) -> None:
    """The open period's measure of one objective, as the dashboard shows it."""
    OpenPeriodProgress.objects.create(
        contract_service=cs,
        key=key,
        period_start=start,
        period_end=date(start.year, start.month, 28),
        service_level=ServiceLevel.objects.get_or_create(
            level="corporate",
            provider=cs.contract.provider,
            key=key,
            defaults={"name": key, "indicator": "ratio", "target": Decimal("99")},
        )[0],
        indicator="ratio",
        comparator="gte",
        target=Decimal("99"),
        state=state,
        measured_at=NOW,
    )


def test_the_list_shows_the_worst_state_of_the_current_period_as_the_dashboard(personas, client):
    cs = personas.contract.services.get()
    second = ContractServiceFactory(contract=personas.contract)
    _progress(cs, "a", date(2026, 11, 1), "at_risk")
    _progress(second, "b", date(2026, 11, 1), "breached")
    quiet = ContractFactory(provider=personas.provider, customer=personas.customer)
    quiet_cs = ContractServiceFactory(contract=quiet)
    # A state of an earlier period no longer describes this one.
    _progress(quiet_cs, "a", date(2026, 10, 1), "breached")
    _progress(quiet_cs, "a", date(2026, 11, 1), "on_track")
    few = ContractFactory(provider=personas.provider, customer=personas.customer)
    _progress(ContractServiceFactory(contract=few), "a", date(2026, 11, 1), "too_few")
    unmeasured = ContractFactory(provider=personas.provider, customer=personas.customer)
    ContractServiceFactory(contract=unmeasured)
    client.force_login(personas.provider_editor)
    page = client.get(reverse("contract-list")).content.decode()
    assert 'class="badge breached">breached' in _row(page, "ACME-1")
    assert 'class="badge met">on track' in _row(page, quiet.reference)
    assert 'class="badge no_data">too few samples' in _row(page, few.reference)
    # Nothing measured yet says so, as the dashboard does (it said "on track").
    assert 'class="badge no_data">no data yet' in _row(page, unmeasured.reference)
    assert 'class="badge no_data">no data' in _row(page, "ACME-DRAFT")


def test_the_list_searches_filters_and_sorts(personas, client):
    hooli = CustomerFactory(name="Hooli")
    ContractFactory(
        provider=personas.provider, customer=hooli, reference="ACME-2", title="Fibre backbone"
    )
    ContractFactory(
        provider=personas.provider,
        customer=hooli,
        reference="ACME-3",
        title="Colocation",
        status="suspended",
        start_date=date(2025, 6, 1),
    )
    client.force_login(personas.provider_editor)
    url = reverse("contract-list")

    def references(**params):
        page = client.get(url, params).content.decode()
        found = [
            r for r in ("ACME-1", "ACME-2", "ACME-3", "ACME-DRAFT", "UMB-1") if f">{r}<" in page
        ]
        return sorted(found, key=lambda r: page.index(f">{r}<"))

    assert references() == ["ACME-1", "ACME-2", "ACME-3", "ACME-DRAFT"]
    assert references(q="fibre") == ["ACME-2"]
    assert references(q="hooli") == ["ACME-2", "ACME-3"]
    assert references(status="suspended") == ["ACME-3"]
    assert references(customer=hooli.pk) == ["ACME-2", "ACME-3"]
    assert references(sort="-reference") == ["ACME-DRAFT", "ACME-3", "ACME-2", "ACME-1"]
    assert references(sort="start")[0] == "ACME-3"
    assert references(sort="status") == ["ACME-1", "ACME-2", "ACME-DRAFT", "ACME-3"]
    # Nonsense parameters are ignored, never a 500.
    assert client.get(url, {"sort": "password", "status": "x", "customer": "y"}).status_code == 200


def test_the_list_never_shows_other_providers_contracts_or_customers(personas, client):
    client.force_login(personas.provider_editor)
    page = client.get(reverse("contract-list")).content.decode()
    assert "UMB-1" not in page
    assert personas.other_customer.name not in page
    client.force_login(personas.customer_member)
    page = client.get(reverse("contract-list")).content.decode()
    assert "ACME-1" in page and "ACME-DRAFT" not in page


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("contract-list")).status_code == 200
    return len(queries)


def _busy_contract(personas, n):
    contract = ContractFactory(
        provider=personas.provider, customer=personas.customer, reference=f"BULK-{n:03d}"
    )
    cs = ContractServiceFactory(contract=contract)
    _statement(contract, date(2026, 10, 1), 1, "5.00")
    _statement(contract, date(2026, 10, 1), 2, "7.00")
    EarlyWarning.objects.create(
        contract_service=cs, key="k", period_start=date(2026, 11, 1), state="at_risk", message=""
    )


def test_the_list_runs_the_same_number_of_queries_for_3_or_25_rows(
    personas, client, django_assert_max_num_queries
):
    client.force_login(personas.provider_editor)
    for n in range(1):
        _busy_contract(personas, n)
    few = _list_queries(client)
    for n in range(1, 23):
        _busy_contract(personas, n)
    assert _list_queries(client) == few
    # One of them the totals per currency of every page.
    with django_assert_max_num_queries(11):
        client.get(reverse("contract-list"))


@pytest.mark.parametrize("name", ["objective-list", "service-list"])
def test_the_provider_wide_lists_run_a_constant_number_of_queries(personas, client, name):
    client.force_login(personas.provider_editor)
    url = reverse(name, args=["acme"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def add(n: int) -> None:
        service = ServiceFactory(provider=personas.provider, code=f"bulk-{n}")
        ServiceLevelFactory(provider=personas.provider, level="service", service=service)
        ServiceLevelFactory(provider=personas.provider, key=f"corporate-{n}")

    add(0)
    few = queries()
    for n in range(1, 15):
        add(n)
    assert queries() == few


def test_garbage_in_a_form_or_a_query_string_is_never_a_server_error(personas, world, client):
    client.force_login(personas.provider_editor)
    remove = reverse("contract-objective-remove", args=[world.contract.pk])
    assert client.post(remove, {"service_level": "abc", "service": "x"}).status_code == 404
    assert client.get(reverse("contract-list"), {"page": "last!"}).status_code == 200
    url = reverse("contract-objective-create", args=[world.contract.pk])
    assert client.get(url, {"override": "1; drop", "scope": "nonsense"}).status_code == 200
    response = client.post(url, {"scope": "cs:99999", "tiers-TOTAL_FORMS": "x"})
    assert response.status_code == 200
    assert "scope" in response.context["form"].errors
    settle = reverse("contract-settle", args=[world.contract.pk])
    assert (
        "period_start" in client.post(settle, {"period_start": "31/31/31"}).context["form"].errors
    )


def test_the_list_is_paginated(personas, client):
    for _ in range(30):
        ContractFactory(provider=personas.provider, customer=personas.customer)
    client.force_login(personas.provider_editor)
    page = client.get(reverse("contract-list")).content.decode()
    assert "Page 1 of 2" in page
    second = client.get(reverse("contract-list"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second


# --------------------------------------------------------------------------- contract header


def _contract_data(**overrides):
    data = {
        "provider": "",
        "customer": "",
        "reference": "ACME-9",
        "title": "Managed Wi-Fi",
        "currency": "eur",
        "status": "draft",
        "start_date": "2026-12-01",
        "end_date": "",
        "settlement_period": "month",
        "timezone": "Europe/Amsterdam",
        "credit_cap_percent": "15",
        "settlement_delay_days": "2",
    }
    data.update(overrides)
    return data


def test_an_editor_creates_a_contract_and_lands_on_its_page(personas, client):
    client.force_login(personas.provider_editor)
    response = client.post(
        reverse("contract-create"),
        _contract_data(provider=personas.provider.pk, customer=personas.customer.pk),
    )
    contract = Contract.objects.get(reference="ACME-9")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("contract-detail", args=[contract.pk]))
    assert contract.provider == personas.provider
    assert contract.currency == "EUR"
    assert contract.credit_cap_percent == Decimal("15")


def test_contract_errors_appear_beside_their_fields_and_nothing_is_saved(personas, client):
    client.force_login(personas.provider_editor)
    response = client.post(
        reverse("contract-create"),
        _contract_data(
            provider=personas.provider.pk,
            customer=personas.customer.pk,
            reference="ACME-1",
            currency="XYZ",
            timezone="Mars/Olympus",
            end_date="2026-11-01",
            credit_cap_percent="120",
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "already have a contract with this reference" in form.errors["reference"][0]
    assert "not an ISO 4217 currency code" in form.errors["currency"][0]
    assert "not an IANA time zone" in form.errors["timezone"][0]
    assert "end date cannot be before the start date" in form.errors["end_date"][0]
    assert "credit_cap_percent" in form.errors
    page = response.content.decode()
    # The message sits beside the input, which points at it for screen readers.
    assert 'id="id_currency_error"' in page
    assert re.search(r'aria-describedby="[^"]*id_currency_error"', page)
    assert 'class="field field-error"' in page
    # The rest of the form is kept.
    assert 'value="Managed Wi-Fi"' in page
    assert Contract.objects.filter(title="Managed Wi-Fi").count() == 0


def test_a_customer_organisation_cannot_be_named_as_provider(personas, client):
    client.force_login(personas.provider_editor)
    response = client.post(
        reverse("contract-create"),
        _contract_data(provider=personas.other_provider.pk, customer=personas.customer.pk),
    )
    assert response.status_code == 200
    assert "provider" in response.context["form"].errors
    assert not Contract.objects.filter(reference="ACME-9").exists()


def test_editing_keeps_the_parties_and_saves_the_header(personas, client):
    client.force_login(personas.provider_editor)
    url = reverse("contract-edit", args=[personas.contract.pk])
    data = _contract_data(
        reference="ACME-1",
        customer=personas.other_customer.pk,
        status="active",
        start_date="2026-01-01",
        title="Renamed",
    )
    response = client.post(url, data)
    assert response.status_code == 302
    contract = Contract.objects.get(pk=personas.contract.pk)
    assert contract.title == "Renamed"
    assert contract.customer == personas.customer  # the disabled field is ignored


def test_customers_and_viewers_cannot_create_contracts(personas, client):
    for user in (personas.customer_member, personas.provider_viewer):
        client.force_login(user)
        assert client.get(reverse("contract-create")).status_code == 403
        response = client.post(
            reverse("contract-create"),
            _contract_data(provider=personas.provider.pk, customer=personas.customer.pk),
        )
        assert response.status_code == 403
    assert not Contract.objects.filter(reference="ACME-9").exists()


# --------------------------------------------------------------------------- services


def test_an_editor_adds_a_service_with_its_fee_and_changes_the_fee(personas, client):
    service = ServiceFactory(provider=personas.provider, name="Managed firewall")
    client.force_login(personas.provider_editor)
    url = reverse("contract-service-create", args=[personas.contract.pk])
    assert client.post(url, {"service": service.pk, "fee": "250.50"}).status_code == 302
    cs = ContractService.objects.get(contract=personas.contract, service=service)
    assert cs.fee == Decimal("250.50")
    edit = reverse("contract-service-edit", args=[personas.contract.pk, cs.pk])
    assert client.post(edit, {"service": "", "fee": "300"}).status_code == 302
    cs.refresh_from_db()
    assert (cs.fee, cs.service) == (Decimal("300"), service)
    page = client.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert "Managed firewall" in page and "300.00 EUR" in page
    cs.fee = Decimal("1234567.5")
    cs.save()
    page = client.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert "1,234,567.50 EUR" in page


def test_service_errors_appear_beside_the_field(personas, client):
    existing = personas.contract.services.get().service
    other = ServiceFactory(provider=personas.other_provider)
    client.force_login(personas.provider_editor)
    url = reverse("contract-service-create", args=[personas.contract.pk])
    response = client.post(url, {"service": existing.pk, "fee": "1.001"})
    errors = response.context["form"].errors
    assert "already includes this service" in errors["service"][0]
    assert "EUR fees have at most 2 decimals" in errors["fee"][0]
    # Another provider's service is not even a choice.
    response = client.post(url, {"service": other.pk, "fee": "10"})
    assert "service" in response.context["form"].errors
    assert personas.contract.services.count() == 1


def test_removing_a_service_takes_its_own_objectives_with_it(personas, world, client):
    sl = ServiceLevel.objects.create(
        level="contract_service",
        provider=personas.provider,
        contract=world.contract,
        service=world.service,
        key="speed",
        name="Speed",
        indicator="ratio",
        target=90,
    )
    client.force_login(personas.provider_editor)
    url = reverse("contract-service-delete", args=[world.contract.pk, world.cs.pk])
    assert "Remove the service" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert not ContractService.objects.filter(pk=world.cs.pk).exists()
    assert not ServiceLevel.objects.filter(pk=sl.pk).exists()


def test_a_service_on_an_issued_statement_cannot_be_removed(personas, world, client):
    from credits.models import StatementLine

    statement = _statement(world.contract, date(2026, 10, 1), 1, "0")
    StatementLine.objects.create(
        statement=statement,
        contract_service=world.cs,
        key="availability",
        name="Availability",
        source_level="corporate",
        indicator="uptime",
        comparator="gte",
        target=99,
        fee=1000,
        explanation="",
    )
    client.force_login(personas.provider_editor)
    url = reverse("contract-service-delete", args=[world.contract.pk, world.cs.pk])
    response = client.post(url)
    assert response.status_code == 200
    assert "appears on issued statements" in response.content.decode()
    assert ContractService.objects.filter(pk=world.cs.pk).exists()


def test_an_editor_adds_a_service_to_the_catalogue(personas, client):
    client.force_login(personas.provider_editor)
    url = reverse("service-create", args=["acme"])
    response = client.post(url, {"code": "wifi", "name": "Managed Wi-Fi", "description": ""})
    assert response.status_code == 302
    assert personas.provider.services.filter(code="wifi").exists()
    response = client.post(url, {"code": "wifi", "name": "Again", "description": ""})
    assert "already offer a service with this code" in response.context["form"].errors["code"][0]
