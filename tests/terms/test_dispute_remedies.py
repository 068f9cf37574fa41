"""Disputes that move money: an accepted dispute has a remedy (a correction or an agreed
adjustment) and a new revision cites it; a rejection needs a reason; a rejected dispute is
reopened by the provider, not opened again and again by the customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contracts.models import Incident
from credits.models import Dispute, Notification, Statement
from credits.services import open_dispute, reopen_dispute, resolve_dispute
from credits.settlement import settle_period
from tests.api.conftest import client_for, url
from tests.credits.settlement_book import at, contract, objective, service
from tests.credits.test_notify import members_of
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OCTOBER = date(2026, 10, 1)
NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


@pytest.fixture
def statement(personas) -> Statement:
    c = contract(provider=personas.provider, customer=personas.customer)
    cs = service(c, fee="1000.00")
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "flat", "percent": "10"},
    )
    Incident.objects.create(
        contract_service=cs,
        key="availability",
        started_at=at(2026, 10, 5),
        ended_at=at(2026, 10, 5) + timedelta(hours=2),
        cause="provider",
    )
    return settle_period(contract=c, period_start=OCTOBER, now=NOW, announce=False).statement


@pytest.fixture
def dispute(statement, customer_editor) -> Dispute:
    return open_dispute(
        line=statement.lines.get(), user=customer_editor, reason="The outage lasted longer."
    )


def latest(statement: Statement) -> Statement:
    return Statement.objects.filter(
        contract=statement.contract, period_start=statement.period_start
    ).latest("revision")


def test_a_dispute_accepted_with_an_adjustment_issues_a_revision_that_cites_it(
    personas, statement, dispute
):
    assert statement.credit_total == Decimal("100.00")

    resolve_dispute(
        dispute=dispute,
        user=personas.provider_editor,
        status="accepted",
        resolution="We agree to 40.00 more.",
        remedy="adjustment",
        adjustment_amount=Decimal("40.00"),
    )

    revised = latest(statement)
    assert revised.revision == 2
    (row,) = revised.adjustments.all()
    assert (row.kind, row.amount, row.dispute_id) == ("agreed", Decimal("40.00"), dispute.pk)
    assert row.explanation == f"Agreed adjustment, dispute #{dispute.pk}: 40.00 EUR"
    assert revised.credit_total == Decimal("140.00")
    body = client_for(personas.customer_member).get(url("dispute", dispute.pk)).json()
    assert (body["status"], body["remedy"], body["adjustment_amount"]) == (
        "accepted",
        "adjustment",
        "40.00",
    )
    assert body["revisions"] == [revised.pk]


def test_a_dispute_accepted_with_a_correction_settles_the_corrected_data_again(
    personas, statement, dispute
):
    incident = Incident.objects.get()
    incident.ended_at = incident.started_at + timedelta(hours=3)
    incident.save()

    resolve_dispute(
        dispute=dispute,
        user=personas.provider_editor,
        status="accepted",
        resolution="The incident ran an hour longer.",
        remedy="correction",
    )

    revised = latest(statement)
    assert revised.revision == 2
    assert revised.lines.get().attainment < statement.lines.get().attainment
    (row,) = revised.adjustments.all()
    assert (row.kind, row.amount, row.dispute_id) == ("correction", Decimal("0.00"), dispute.pk)
    assert f"dispute #{dispute.pk} was accepted with a correction" in row.explanation
    # Settling again with nothing new returns the revision that cites the dispute.
    again = settle_period(
        contract=statement.contract, period_start=OCTOBER, now=NOW, announce=False
    )
    assert (again.created, again.statement.pk) == (False, revised.pk)


@pytest.mark.parametrize(
    ("status", "resolution", "remedy", "amount", "fields"),
    [
        ("accepted", "Yes.", "", None, {"remedy"}),
        ("accepted", "Yes.", "adjustment", None, {"adjustment_amount"}),
        ("accepted", "Yes.", "adjustment", Decimal("0"), {"adjustment_amount"}),
        ("accepted", "Yes.", "adjustment", Decimal("1.005"), {"adjustment_amount"}),
        ("accepted", "Yes.", "correction", Decimal("5"), {"adjustment_amount"}),
        ("rejected", "", "", None, {"resolution"}),
        ("rejected", "No.", "adjustment", Decimal("5"), {"remedy"}),
    ],
)
def test_a_remedy_or_a_reason_is_required_and_a_refusal_changes_nothing(
    personas, statement, dispute, status, resolution, remedy, amount, fields
):
    with pytest.raises(ValidationError) as excinfo:
        resolve_dispute(
            dispute=dispute,
            user=personas.provider_editor,
            status=status,
            resolution=resolution,
            remedy=remedy,
            adjustment_amount=amount,
        )

    assert set(excinfo.value.message_dict) == fields
    dispute.refresh_from_db()
    assert dispute.status == "open"
    assert latest(statement).pk == statement.pk


def test_a_rejected_dispute_changes_no_money(personas, statement, dispute):
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="On time."
    )

    assert latest(statement).pk == statement.pk


def test_the_provider_reopens_a_rejected_dispute_and_both_parties_hear_each_step(
    personas, statement, dispute, customer_editor, django_capture_on_commit_callbacks
):
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
    )
    with pytest.raises(PermissionDenied):
        reopen_dispute(dispute=dispute, user=customer_editor)

    reopened = reopen_dispute(dispute=dispute, user=personas.provider_editor)

    assert (reopened.status, reopened.resolution, reopened.reopened_at is not None) == (
        "open",
        "",
        True,
    )
    told = Notification.objects.filter(event="dispute_reopened")
    assert {n.user_id for n in told} == members_of(personas.provider, personas.customer)
    # Resolved a second time: told again (another event than the first resolution).
    resolve_dispute(
        dispute=dispute,
        user=personas.provider_editor,
        status="accepted",
        resolution="On a second look, yes.",
        remedy="adjustment",
        adjustment_amount=Decimal("10"),
    )
    resolutions = Notification.objects.filter(event="dispute_resolved", user=customer_editor)
    assert resolutions.count() == 2
    with pytest.raises(ValidationError, match="dispute the line of its new revision"):
        reopen_dispute(dispute=dispute, user=personas.provider_editor)


def test_a_new_revisions_line_may_be_disputed_after_the_first_was_resolved(
    personas, statement, dispute, customer_editor
):
    resolve_dispute(
        dispute=dispute,
        user=personas.provider_editor,
        status="accepted",
        resolution="Agreed.",
        remedy="adjustment",
        adjustment_amount=Decimal("5"),
    )

    again = open_dispute(
        line=latest(statement).lines.get(), user=customer_editor, reason="Still short."
    )

    assert again.line.statement.revision == 2


def test_api_reopen_is_the_providers_and_outsiders_get_404(personas, dispute):
    provider = client_for(personas.provider_editor)
    provider.patch(
        url("dispute", dispute.pk), {"status": "rejected", "resolution": "No."}, format="json"
    )

    assert (
        client_for(personas.customer_member).post(url("dispute", dispute.pk, "reopen")).status_code
        == 403
    )
    assert (
        client_for(personas.other_provider_member)
        .post(url("dispute", dispute.pk, "reopen"))
        .status_code
        == 404
    )
    response = provider.post(url("dispute", dispute.pk, "reopen"))
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    twice = provider.post(url("dispute", dispute.pk, "reopen"))
    assert twice.status_code == 400
    assert twice.json() == {"status": ["This dispute is open already."]}


def test_api_accepting_without_a_remedy_is_a_400_naming_it(personas, dispute):
    response = client_for(personas.provider_editor).patch(
        url("dispute", dispute.pk), {"status": "accepted", "resolution": "Yes."}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"remedy"}


def test_browser_the_provider_reopens_from_the_statement_page_and_outsiders_get_404(
    client, personas, statement, dispute
):
    from django.urls import reverse

    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
    )
    path = reverse("dispute-reopen", args=[dispute.pk])

    client.force_login(personas.other_provider_member)
    assert client.post(path).status_code == 404
    client.force_login(personas.customer_member)
    assert client.post(path).status_code == 403
    client.force_login(personas.provider_editor)
    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert f'action="{path}"' in page
    response = client.post(path)

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "open"
