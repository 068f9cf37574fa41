"""Claims in the admin: operators follow them (filters, search, history) and accept open
ones through the same service as the pages and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from contracts.models import Incident
from credits.models import Claim, Notification, Statement
from credits.services import file_claim
from credits.settlement import settle_period
from tests.credits.settlement_book import at, contract, objective, service
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)


@pytest.fixture
def claim(personas, time_machine) -> Claim:
    time_machine.move_to(NOW, tick=False)
    editor = UserFactory(username="customer-editor")
    MembershipFactory(user=editor, organization=personas.customer, role="editor")
    c = contract(provider=personas.provider, customer=personas.customer, reference="WAN-1")
    c.claim_window_days = 30
    c.save()
    cs = service(c, fee="1000.00", name="Managed WAN")
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "per_step", "step": "0.1", "percent": "5"},
    )
    settle_period(contract=c, period_start=date(2026, 11, 1), now=NOW, announce=False)
    return file_claim(
        contract_service=cs,
        user=editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="The WAN was down.",
    )


def test_operators_find_claims_by_status_and_text_and_read_their_history(client, personas, claim):
    client.force_login(personas.operator)
    changelist = reverse("admin:credits_claim_changelist")

    assert client.get(changelist, {"status__exact": "open"}).context["cl"].result_count == 1
    assert client.get(changelist, {"status__exact": "rejected"}).context["cl"].result_count == 0
    assert client.get(changelist, {"q": "WAN-1"}).context["cl"].result_count == 1
    assert client.get(changelist, {"q": "nothing like it"}).context["cl"].result_count == 0
    assert client.get(reverse("admin:credits_claim_change", args=[claim.pk])).status_code == 200
    history = client.get(reverse("admin:credits_claim_history", args=[claim.pk]))
    assert history.status_code == 200
    assert "customer-editor" in history.content.decode()


def test_the_admin_accepts_open_claims_through_the_service(client, personas, claim):
    client.force_login(personas.operator)

    response = client.post(
        reverse("admin:credits_claim_changelist"),
        {"action": "accept_claims", "_selected_action": [claim.pk]},
    )

    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "accepted" and claim.resolved_by == personas.operator
    assert Incident.objects.get().pk == claim.incident_id
    revised = Statement.objects.get(revision=2)
    assert revised.adjustments.get().claim_id == claim.pk
    assert Notification.objects.filter(event="claim_resolved").exists()
    # The admin writes nothing by hand: no add, change or delete.
    page = client.get(reverse("admin:credits_claim_change", args=[claim.pk]))
    assert b'name="_save"' not in page.content
