"""Defects found in review, each pinned by the behaviour a user would check."""

from datetime import date
from decimal import Decimal

import pytest

from contracts.models import Contract, ContractService
from contracts.services import BatchRejected, record_measurements
from credits.models import Notification, Statement
from credits.settlement import settle_period
from tests.api.conftest import client_for, make_statement
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import ContractFactory, ResponsibilityFactory, ServiceLevelFactory

pytestmark = pytest.mark.django_db


def test_a_contract_with_statements_never_moves_to_another_customer(personas):
    p = personas
    ContractFactory(provider=p.provider, customer=p.other_customer, reference="ACME-2")
    cs = ContractService.objects.get(contract=p.contract)
    level = ServiceLevelFactory(provider=p.provider, key="availability")
    statement, _ = make_statement(p.contract, cs, [(level, Decimal("99.5"), Decimal("300"))])

    moving = client_for(p.provider_editor).patch(
        f"/api/v1/contracts/{p.contract.pk}/", {"customer": p.other_customer.pk}, format="json"
    )
    assert moving.status_code == 400
    assert moving.json() == {"customer": ["Cannot be changed."]}

    assert Contract.objects.get(pk=p.contract.pk).customer == p.customer
    seen = client_for(p.other_customer_member).get(f"/api/v1/statements/{statement.pk}/")
    assert seen.status_code == 404
    moved = Contract.objects.get(pk=p.contract.pk)
    moved.customer = p.other_customer
    with pytest.raises(Exception, match="parties of a contract with statements"):
        moved.full_clean()


def test_a_customer_hears_nothing_of_a_lapse_on_a_draft_contract(
    personas, django_capture_on_commit_callbacks
):
    p = personas
    duty = ResponsibilityFactory(contract=p.draft_contract, title="Secret draft duty")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(p.provider_editor).post(
            "/api/v1/responsibility-lapses/",
            {
                "responsibility": duty.pk,
                "start": "2026-02-01T00:00:00Z",
                "end": "2026-02-01T02:00Z",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert not Notification.objects.filter(organization=p.customer).exists()
    assert Notification.objects.filter(organization=p.provider).exists()


def test_the_contract_form_offers_only_customers_the_provider_already_serves(personas, client):
    client.force_login(personas.provider_editor)
    page = client.get("/contracts/new/").content.decode()
    assert "Globex" in page
    assert "Initech" not in page  # a customer of another provider only


def test_renaming_a_service_code_is_not_a_change_worth_a_revision():
    c = contract()
    a, b = service(c, fee="1000.00"), service(c, fee="1000.00")
    a.service.code, b.service.code = "aaa", "bbb"
    a.service.save()
    b.service.save()
    objective(c, key="reports", indicator="ratio", target="99")
    ratio(a, "reports", at(2026, 10, 2), 90, 100)
    ratio(b, "reports", at(2026, 10, 2), 100, 100)
    now = at(2026, 12, 1)
    first = settle_period(contract=c, period_start=date(2026, 10, 1), now=now)
    a.service.code = "zzz"
    a.service.save()
    again = settle_period(contract=c, period_start=date(2026, 10, 1), now=now)
    assert not again.created
    assert again.statement.pk == first.statement.pk


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"key": "speed", "value": "99.9999995"}, "value", "at most 6 decimals"),
        (
            {"key": "speed", "value": "120", "observed_at": "0001-01-01T00:00:00+05:00"},
            "observed_at",
            "out of range",
        ),
        (
            {"key": "speed", "value": "120", "observed_at": "2300-01-01T00:00:00+00:00"},
            "observed_at",
            "between 1970 and 2200",
        ),
        ({"key": "errors", "value": "-3"}, "value", "cannot be negative"),
    ],
)
def test_samples_that_would_be_silently_altered_or_unreadable_are_refused(fields, field, message):
    c = contract()
    cs = service(c, fee="1000.00")
    objective(
        c,
        key="speed",
        indicator="threshold",
        target="100",
        threshold="100",
        threshold_comparator="gte",
        rule={"kind": "flat", "percent": "10"},
    )
    objective(c, key="errors", indicator="count", target="2", comparator="lte")
    item = {"contract_service": cs.pk, "observed_at": "2026-10-02T00:00:00+00:00", **fields}
    with pytest.raises(BatchRejected) as caught:
        record_measurements(items=[item])
    assert [(e.field, message in e.message) for e in caught.value.errors] == [(field, True)], [
        e.as_dict() for e in caught.value.errors
    ]


def test_settling_the_far_future_is_a_clear_refusal_not_a_500(personas, client):
    response = client_for(personas.provider_editor).post(
        f"/api/v1/contracts/{personas.contract.pk}/settle/",
        {"period_start": "9999-12-01"},
        format="json",
    )
    assert response.status_code == 400
    # Beyond the dates the portal keeps at all (1970–2199), said on the field.
    assert "between 1970 and 2199" in response.json()["period_start"][0]
    client.raise_request_exception = False
    client.force_login(personas.provider_editor)
    page = client.post(f"/contracts/{personas.contract.pk}/settle/", {"period_start": "9999-12-01"})
    assert page.status_code in (200, 302)


def test_a_garbled_tier_count_in_the_rule_editor_is_not_a_500(personas, client):
    client.raise_request_exception = False
    client.force_login(personas.provider_editor)
    response = client.post(
        f"/contracts/{personas.contract.pk}/objectives/new/",
        {"add_tier": "1", "tiers-TOTAL_FORMS": "abc", "tiers-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 200


def test_a_superseded_statement_line_cannot_be_disputed(personas):
    p = personas
    cs = ContractService.objects.get(contract=p.contract)
    level = ServiceLevelFactory(provider=p.provider, key="availability")
    old, _ = make_statement(p.contract, cs, [(level, Decimal("99.5"), Decimal("300"))])
    make_statement(p.contract, cs, [(level, Decimal("99.6"), Decimal("200"))], revision=2)
    editor = client_for(p.customer_member)
    p.customer_member.memberships.update(role="editor")
    response = editor.post(
        "/api/v1/disputes/", {"line": old.lines.get().pk, "reason": "too low"}, format="json"
    )
    assert response.status_code == 400
    assert "superseded" in str(response.json())
    assert Statement.objects.count() == 2
