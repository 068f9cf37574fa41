"""What a client does end to end: settle a period, dispute a line and resolve it, add a
member, read notifications."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from contracts.models import Membership
from credits.models import Dispute, Notification, Statement
from tests.api.conftest import client_for, url
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, ServiceLevelFactory, UserFactory

pytestmark = pytest.mark.django_db

# Mid-November 2026: October has ended, November has not, whatever today's date.
SETTLING_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- settle


@pytest.fixture
def settleable(personas):
    ServiceLevelFactory(
        provider=personas.provider,
        key="availability",
        target=Decimal("99.9"),
        credit_rule={"kind": "flat", "percent": "5"},
    )
    return personas.contract


@pytest.mark.dates
@pytest.mark.time_machine(SETTLING_NOW, tick=False)
def test_settling_a_closed_period_issues_the_statement_then_returns_it(personas, settleable):
    client = client_for(personas.provider_editor)
    path = url("contract", settleable.pk, "settle")

    first = client.post(path, {"period_start": "2026-10-01"})

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["contract"] == settleable.pk
    assert (body["period_start"], body["period_end"], body["revision"]) == (
        "2026-10-01",
        "2026-10-31",
        1,
    )
    (line,) = body["lines"]
    assert line["key"] == "availability"
    assert line["attainment"] == "100.000"
    assert line["met"] is True
    assert line["amount"] == "0.00"
    again = client.post(path, {"period_start": "2026-10-01"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Statement.objects.filter(contract=settleable).count() == 1


@pytest.mark.dates
@pytest.mark.time_machine(SETTLING_NOW, tick=False)
@pytest.mark.parametrize("period_start", ["2026-11-01", "2099-01-01"])
def test_a_period_that_has_not_ended_cannot_be_settled(personas, settleable, period_start):
    response = client_for(personas.provider_editor).post(
        url("contract", settleable.pk, "settle"), {"period_start": period_start}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["period_start"]
    assert response.json()["period_start"][0]
    assert not Statement.objects.exists()


@pytest.mark.parametrize("body", [{}, {"period_start": "October"}, {"period_start": 20261001}])
def test_settle_needs_a_date(personas, settleable, body):
    response = client_for(personas.provider_editor).post(
        url("contract", settleable.pk, "settle"), body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["period_start"]


# --------------------------------------------------------------------------- disputes


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


def test_a_customer_disputes_a_line_and_the_provider_resolves_it(world, customer_editor):
    customer = client_for(customer_editor)
    opened = customer.post(url("dispute"), {"line": world.free_line.pk, "reason": "Data late."})
    assert opened.status_code == 201, opened.content
    dispute = opened.json()
    assert (dispute["line"], dispute["status"], dispute["opened_by"]) == (
        world.free_line.pk,
        "open",
        customer_editor.pk,
    )
    assert dispute["statement"] == world.statement.pk
    assert dispute["contract"] == world.p.contract.pk

    twice = customer.post(url("dispute"), {"line": world.free_line.pk, "reason": "Again."})
    assert twice.status_code == 400
    assert twice.json() == {"line": ["This line already has an open dispute."]}

    refused = customer.patch(
        url("dispute", dispute["id"]), {"status": "accepted", "resolution": "Mine."}
    )
    assert refused.status_code == 403

    provider = client_for(world.p.provider_editor)
    bad = provider.patch(url("dispute", dispute["id"]), {"status": "maybe", "resolution": ""})
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "resolution"}
    resolved = provider.patch(
        url("dispute", dispute["id"]), {"status": "rejected", "resolution": "On time."}
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("rejected", "On time.")
    assert resolved.json()["resolved_by"] == world.p.provider_editor.pk
    late = provider.patch(url("dispute", dispute["id"]), {"status": "accepted", "resolution": "x"})
    assert late.status_code == 400
    assert Dispute.objects.get(pk=dispute["id"]).history.count() == 2


def test_a_customer_viewer_may_read_but_not_dispute(world):
    response = client_for(world.p.customer_member).post(
        url("dispute"), {"line": world.free_line.pk, "reason": "Late."}
    )
    assert response.status_code == 403
    assert "admins and editors" in response.json()["detail"]


def test_disputes_filter_by_contract_and_status(world, customer_editor):
    client = client_for(customer_editor)
    assert client.get(url("dispute"), {"status": "open"}).json()["count"] == 1
    assert client.get(url("dispute"), {"status": "accepted"}).json()["count"] == 0
    mine = client.get(url("dispute"), {"contract": world.p.contract.pk}).json()["results"]
    assert [d["id"] for d in mine] == [world.dispute.pk]
    theirs = client.get(url("dispute"), {"contract": world.p.other_contract.pk}).json()
    assert theirs["count"] == 0


# --------------------------------------------------------------------------- members


def test_an_organisation_admin_adds_a_member_who_can_then_log_in(personas):
    client = client_for(personas.other_customer_member)  # admin of Initech
    response = client.post(
        url("membership"),
        {
            "organization": personas.other_customer.pk,
            "username": "initech-analyst",
            "email": "analyst@initech.test",
            "password": PASSWORD,
            "role": "viewer",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "password" not in body
    assert (body["username"], body["email"], body["role"]) == (
        "initech-analyst",
        "analyst@initech.test",
        "viewer",
    )
    user = get_user_model().objects.get(username="initech-analyst")
    assert user.check_password(PASSWORD)
    assert body["user"] == user.pk
    token = client_for(None).post(
        "/api/v1/auth/token/", {"username": "initech-analyst", "password": PASSWORD}
    )
    assert token.status_code == 200
    contracts = client_for(None)
    contracts.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    listed = contracts.get(url("contract")).json()["results"]
    assert [c["reference"] for c in listed] == ["UMB-1"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"password": "password"}, {"password"}),
        ({"password": "initech-analyst"}, {"password"}),
        ({"password": "12345678901"}, {"password"}),
        ({"username": "other-customer"}, {"username"}),
        ({"username": "no spaces!"}, {"username"}),
        ({"email": "not-an-address"}, {"email"}),
        ({"role": "owner"}, {"role"}),
        ({"organization": 10**6}, {"organization"}),
    ],
)
def test_a_new_member_is_validated_like_a_django_user(personas, fields, errors):
    body = {
        "organization": personas.other_customer.pk,
        "username": "initech-analyst",
        "email": "analyst@initech.test",
        "password": PASSWORD,
        "role": "viewer",
        **fields,
    }
    response = client_for(personas.other_customer_member).post(url("membership"), body)
    assert response.status_code == 400
    assert set(response.json()) == errors
    assert not get_user_model().objects.filter(username=body["username"], email=body["email"])


def test_an_admin_changes_a_role_but_not_who_the_member_is(personas):
    membership = personas.provider_viewer.memberships.get()
    admin = client_for(personas.provider_admin)
    refused = admin.patch(
        url("membership", membership.pk), {"role": "editor", "username": "someone-else"}
    )
    assert refused.status_code == 400
    assert "username" in refused.json()
    assert Membership.objects.get(pk=membership.pk).role == "viewer"

    response = admin.patch(url("membership", membership.pk), {"role": "editor"})
    assert response.status_code == 200
    assert response.json()["username"] == "provider-viewer"
    assert Membership.objects.get(pk=membership.pk).role == "editor"


# --------------------------------------------------------------------------- notifications


def test_notifications_are_read_one_by_one_or_all_at_once(world):
    me = world.p.customer_member
    extra = Notification.objects.create(
        user=me, organization=world.p.customer, event="dispute_opened", title="Dispute"
    )
    client = client_for(me)
    assert client.get(url("notification"), {"read": "false"}).json()["count"] == 2

    read = client.patch(url("notification", extra.pk), {"read": True})
    assert read.status_code == 200
    assert read.json()["read"] is True
    assert read.json()["read_at"]
    assert client.get(url("notification"), {"read": "true"}).json()["count"] == 1
    unread = client.patch(url("notification", extra.pk), {"read": False})
    assert unread.json()["read"] is False

    others = [n.pk for n in world.notifications.values() if n.user_id != me.pk]
    marked = client.post(url("notification", action="mark-read"), {"ids": others}, format="json")
    assert marked.json() == {"updated": 0}
    marked = client.post(url("notification", action="mark-read"), {}, format="json")
    assert marked.json() == {"updated": 2}
    assert not Notification.objects.filter(user=me, read_at__isnull=True).exists()
    assert Notification.objects.filter(read_at__isnull=True).count() == len(others)
