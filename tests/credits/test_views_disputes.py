"""Disputing a statement line and resolving the dispute, in the browser's forms."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.models import Dispute
from tests.credits.test_views_support import (
    LineSpec,
    availability_objective,
    customer_editor,
    make_statement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(personas):
    availability_objective(personas)
    statement = make_statement(
        personas.contract,
        period_start=date(2026, 1, 1),
        lines=[LineSpec(personas.contract.services.get(), Decimal("20.00"))],
    )
    return statement.lines.get()


@pytest.fixture
def editor(personas):
    return customer_editor(personas)


def _open(client, line, reason: str = "The outage on the 3rd was planned maintenance."):
    return client.post(reverse("dispute-open", args=[line.pk]), {"reason": reason})


def test_customer_editor_opens_a_dispute_and_sees_it_open_beside_the_line(
    client, personas, line, editor
):
    client.force_login(editor)
    response = _open(client, line)
    assert response.status_code == 302
    assert response["Location"] == f"/statements/{line.statement_id}/#line-{line.pk}"
    dispute = Dispute.objects.get(line=line)
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.opened_by == editor
    html = client.get(response["Location"]).content.decode()
    body = re.search(rf'id="line-{line.pk}"(.*?)</tbody>', html, re.S).group(1)
    assert '<span class="badge open">dispute open</span>' in body
    assert "planned maintenance" in body
    # One open dispute per line: the form to open another is gone.
    assert reverse("dispute-open", args=[line.pk]) not in body


def test_customer_follows_the_status_of_their_disputes(client, personas, line, editor):
    client.force_login(editor)
    _open(client, line)
    html = client.get(reverse("dispute-list")).content.decode()
    assert 'data-status="open"' in html
    assert "planned maintenance" in html


def test_an_empty_reason_is_refused_beside_the_field_and_nothing_is_stored(
    client, personas, line, editor
):
    client.force_login(editor)
    response = _open(client, line, reason="   ")
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_line{line.pk}_reason_errors"' in html
    assert "Say why you dispute this line." in html
    assert not Dispute.objects.exists()


def test_a_second_dispute_on_an_open_line_is_refused_with_the_reason(
    client, personas, line, editor
):
    client.force_login(editor)
    _open(client, line)
    # The form is hidden once a dispute is open, but a stale page can still post it.
    response = _open(client, line, reason="Again")
    assert response.status_code == 400
    assert "This line already has an open dispute." in response.content.decode()
    assert Dispute.objects.count() == 1


def test_customer_viewer_may_not_dispute(client, personas, line):
    client.force_login(personas.customer_member)
    page = client.get(reverse("statement-detail", args=[line.statement_id])).content.decode()
    assert reverse("dispute-open", args=[line.pk]) not in page
    assert _open(client, line).status_code == 403
    assert not Dispute.objects.exists()


def test_outsiders_get_404_when_disputing_or_resolving(client, personas, line, editor):
    client.force_login(editor)
    _open(client, line)
    dispute = Dispute.objects.get()
    for outsider in (personas.other_customer_member, personas.other_provider_member):
        client.force_login(outsider)
        assert _open(client, line).status_code == 404
        response = client.post(
            reverse("dispute-resolve", args=[dispute.pk]),
            {"status": "accepted", "resolution": "ok"},
        )
        assert response.status_code == 404
        assert "planned maintenance" not in client.get(reverse("dispute-list")).content.decode()
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_provider_editor_accepts_a_dispute_with_a_resolution(client, personas, line, editor):
    client.force_login(editor)
    _open(client, line)
    dispute = Dispute.objects.get()
    client.force_login(personas.provider_editor)
    page = client.get(reverse("statement-detail", args=[line.statement_id])).content.decode()
    assert reverse("dispute-resolve", args=[dispute.pk]) in page
    response = client.post(
        reverse("dispute-resolve", args=[dispute.pk]),
        {
            "status": "accepted",
            "resolution": "Agreed: a credit note follows.",
            "remedy": "adjustment",
            "adjustment_amount": "40.00",
        },
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.ACCEPTED
    assert dispute.resolved_by == personas.provider_editor
    client.force_login(editor)
    html = client.get(reverse("statement-detail", args=[line.statement_id])).content.decode()
    assert '<span class="badge accepted">dispute accepted</span>' in html
    assert "Agreed: a credit note follows." in html


def test_resolving_without_a_resolution_shows_the_error_beside_it(client, personas, line, editor):
    client.force_login(editor)
    _open(client, line)
    dispute = Dispute.objects.get()
    client.force_login(personas.provider_editor)
    response = client.post(
        reverse("dispute-resolve", args=[dispute.pk]), {"status": "rejected", "resolution": ""}
    )
    assert response.status_code == 400
    assert f'id="id_dispute{dispute.pk}_resolution_errors"' in response.content.decode()
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_customers_and_provider_viewers_may_not_resolve(client, personas, line, editor):
    client.force_login(editor)
    _open(client, line)
    dispute = Dispute.objects.get()
    for user in (editor, personas.provider_viewer):
        client.force_login(user)
        response = client.post(
            reverse("dispute-resolve", args=[dispute.pk]),
            {"status": "rejected", "resolution": "No."},
        )
        assert response.status_code == 403
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_a_superseded_revision_offers_no_dispute_form(client, personas, line, editor):
    make_statement(
        personas.contract,
        period_start=date(2026, 1, 1),
        revision=2,
        lines=[LineSpec(personas.contract.services.get(), Decimal("10.00"))],
    )
    client.force_login(editor)
    html = client.get(reverse("statement-detail", args=[line.statement_id])).content.decode()
    assert reverse("dispute-open", args=[line.pk]) not in html
