"""Invitations: signed, single-use, expiring links; accepting creates or attaches the
account; the inviter sees and manages them; every bad link gets a clear page and changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from rest_framework.test import APIClient

from contracts.models import Membership, Organization
from credits.models import Notification
from people import services, tokens
from people.models import Invitation
from tests.conftest import PASSWORD
from tests.people.conftest import link_in

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def invite_new_customer(personas, mailoutbox, on_commit, email="cfo@hooli.test"):
    with on_commit():
        response = api(personas.provider_admin).post(
            "/api/v1/invitations/",
            {"customer_name": "Hooli", "provider": personas.provider.pk, "email": email},
        )
    assert response.status_code == 201, response.json()
    return response.json(), mailoutbox[-1]


def test_a_provider_admin_invites_a_new_customer_who_accepts_with_a_new_account(
    personas, client, mailoutbox, on_commit, clock
):
    body, message = invite_new_customer(personas, mailoutbox, on_commit)

    hooli = Organization.objects.get(name="Hooli")
    assert hooli.kind == "customer" and hooli.introduced_by == personas.provider
    assert body["organization"] == hooli.pk and body["role"] == "admin"
    assert body["state"] == "pending"
    assert body["expires_at"] == "2026-11-09T09:00:00Z"
    assert message.to == ["cfo@hooli.test"]
    assert "Acme Networks invites you to join Hooli as admin" in message.body
    link = link_in(message)

    page = client.get(link)
    assert page.status_code == 200
    assert "Create your account" in page.content.decode()
    with on_commit():
        joined = client.post(
            link, {"username": "gavin", "password": PASSWORD, "password_again": PASSWORD}
        )
    assert joined.status_code == 302 and joined["Location"] == "/dashboard/"
    gavin = get_user_model().objects.get(username="gavin")
    assert gavin.email == "cfo@hooli.test"
    assert Membership.objects.get(user=gavin).organization == hooli
    assert Membership.objects.get(user=gavin).role == "admin"
    invitation = Invitation.objects.get()
    assert invitation.status == "accepted" and invitation.accepted_by == gavin
    # The provider that invited hears that the customer joined.
    assert Notification.objects.filter(event="member_joined", user=personas.provider_admin).exists()
    # The new customer is the provider's to contract with, before any contract.
    assert hooli in Organization.objects.visible_to(personas.provider_editor)
    assert hooli not in Organization.objects.visible_to(personas.other_provider_member)


def test_an_existing_account_is_attached_and_belongs_to_both_organisations(
    personas, client, mailoutbox, on_commit, clock
):
    person = personas.other_customer_member  # an admin of Initech, invited into Acme
    with on_commit():
        services.invite(
            user=personas.provider_admin,
            organization=personas.provider,
            email=person.email.upper(),
            role="viewer",
        )
    link = link_in(mailoutbox[-1])

    anonymous = client.get(link)
    assert "Log in to accept" in anonymous.content.decode()
    client.force_login(person)
    with on_commit():
        assert client.post(link).status_code == 302

    assert set(person.memberships.values_list("organization__slug", "role")) == {
        ("initech", "admin"),
        ("acme", "viewer"),
    }


def test_the_link_is_single_use(personas, client, mailoutbox, on_commit, clock):
    _, message = invite_new_customer(personas, mailoutbox, on_commit)
    link = link_in(message)
    with on_commit():
        client.post(link, {"username": "gavin", "password": PASSWORD, "password_again": PASSWORD})
    client.logout()

    again = client.get(link)
    assert again.status_code == 410
    assert "This invitation was already used" in again.content.decode()
    with on_commit():
        posted = client.post(
            link, {"username": "another", "password": PASSWORD, "password_again": PASSWORD}
        )
    assert posted.status_code == 410
    assert not get_user_model().objects.filter(username="another").exists()
    assert Membership.objects.filter(organization__name="Hooli").count() == 1


def test_a_revoked_link_gets_a_clear_page_and_changes_nothing(
    personas, client, mailoutbox, on_commit, clock
):
    body, message = invite_new_customer(personas, mailoutbox, on_commit)
    revoked = api(personas.provider_admin).post(f"/api/v1/invitations/{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"

    page = client.post(
        link_in(message), {"username": "gavin", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert page.status_code == 410
    assert "This invitation was revoked" in page.content.decode()
    assert not get_user_model().objects.filter(username="gavin").exists()
    again = api(personas.provider_admin).post(f"/api/v1/invitations/{body['id']}/revoke/")
    assert again.status_code == 400
    assert again.json() == {"status": ["This invitation was already revoked."]}


def test_an_expired_link_gets_a_clear_page_and_resending_gives_a_new_week(
    personas, client, mailoutbox, on_commit, clock
):
    body, message = invite_new_customer(personas, mailoutbox, on_commit)
    clock.move_to(NOW + timedelta(days=7, seconds=1), tick=False)

    page = client.get(link_in(message))
    assert page.status_code == 410
    assert "This invitation has expired" in page.content.decode()
    listed = api(personas.provider_admin).get("/api/v1/invitations/").json()["results"]
    assert [row["state"] for row in listed] == ["expired"]

    with on_commit():
        resent = api(personas.provider_admin).post(f"/api/v1/invitations/{body['id']}/resend/")
    assert resent.status_code == 200
    assert resent.json()["state"] == "pending"
    assert resent.json()["expires_at"] == "2026-11-16T09:00:01Z"
    assert client.get(link_in(mailoutbox[-1])).status_code == 200
    # The old link is still older than an invitation lives: refused by its signature.
    assert client.get(link_in(message)).status_code == 410


def test_a_link_for_another_address_is_refused_and_changes_nothing(
    personas, client, mailoutbox, on_commit, clock
):
    _, message = invite_new_customer(personas, mailoutbox, on_commit)
    client.force_login(personas.customer_member)

    page = client.post(link_in(message))
    assert page.status_code == 403
    assert "This invitation is for someone else" in page.content.decode()
    assert not Membership.objects.filter(organization__name="Hooli").exists()
    assert Invitation.objects.get().status == "pending"


def test_a_tampered_link_is_not_valid(personas, client, mailoutbox, on_commit, clock):
    _, message = invite_new_customer(personas, mailoutbox, on_commit)
    link = link_in(message)
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    page = client.get(forged)
    assert page.status_code == 404
    assert "This invitation link is not valid" in page.content.decode()
    made_up = tokens.token_for(Invitation.objects.get().key)[:-1]
    assert client.get(f"/invitations/accept/{made_up}x/").status_code == 404
    other_salt = signing.TimestampSigner(salt="other").sign(str(Invitation.objects.get().key))
    assert client.get(f"/invitations/accept/{other_salt}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"organization": "other_customer", "email": "a@b.test", "role": "viewer"},
            {"organization": ['Invalid pk "{pk}" - object does not exist.']},
        ),
        (
            {"organization": "provider", "email": "a@b.test", "role": "owner"},
            {"role": ["“owner” is not a role: choose one of admin, editor, viewer."]},
        ),
        (
            {"organization": "provider", "email": "not an address", "role": "viewer"},
            {"email": ["Enter a valid e-mail address."]},
        ),
        (
            {"organization": "provider", "email": "provider-viewer@example.test", "role": "admin"},
            {"email": ["provider-viewer@example.test is already a member of Acme Networks."]},
        ),
        (
            {"organization": "provider", "customer_name": "X", "email": "a@b.test"},
            {"organization": ["Give either organization or customer_name."]},
        ),
        (
            {"customer_name": "Hooli", "provider": "customer", "email": "a@b.test"},
            {"provider": ["Only a provider invites a new customer."]},
        ),
    ],
    ids=["outsider-org", "no-such-role", "bad-email", "member", "both", "customer"],
)
def test_bad_invitations_are_a_clear_400_and_change_nothing(
    personas, mailoutbox, on_commit, body, errors
):
    body = {
        key: getattr(personas, value).pk
        if key in ("organization", "provider") and isinstance(value, str)
        else value
        for key, value in body.items()
    }
    organizations = Organization.objects.count()
    with on_commit():
        response = api(personas.provider_admin).post("/api/v1/invitations/", body)

    assert response.status_code == 400
    expected = {
        field: [m.replace("{pk}", str(body.get(field))) for m in messages]
        for field, messages in errors.items()
    }
    assert response.json() == expected
    assert not Invitation.objects.exists()
    assert Organization.objects.count() == organizations
    assert mailoutbox == []


def test_inviting_into_an_organisation_one_belongs_to_but_does_not_administer(
    personas, mailoutbox, on_commit
):
    # A provider viewer sees Acme but administers nothing: the create policy refuses.
    refused = api(personas.provider_viewer).post(
        "/api/v1/invitations/",
        {"organization": personas.provider.pk, "email": "a@b.test", "role": "viewer"},
    )
    assert refused.status_code == 403
    # An admin of Globex (a customer of Acme) sees Acme but does not administer it.
    globex_admin = personas.customer_member
    Membership.objects.filter(user=globex_admin).update(role="admin")
    response = api(globex_admin).post(
        "/api/v1/invitations/",
        {"organization": personas.provider.pk, "email": "a@b.test", "role": "viewer"},
    )
    assert response.status_code == 400
    assert response.json() == {"organization": [services.NOT_ADMIN]}
    assert not Invitation.objects.exists() and mailoutbox == []


def test_a_provider_admin_invites_the_admin_of_a_customer_it_serves(
    personas, mailoutbox, on_commit
):
    with on_commit():
        response = api(personas.provider_admin).post(
            "/api/v1/invitations/",
            {"organization": personas.customer.pk, "email": "boss@globex.test", "role": "admin"},
        )
    assert response.status_code == 201
    invitation = Invitation.objects.get()
    assert invitation.invited_by_organization == personas.provider
    # The customer it does not serve is not even visible.
    response = api(personas.provider_admin).post(
        "/api/v1/invitations/",
        {"organization": personas.other_customer.pk, "email": "x@initech.test", "role": "admin"},
    )
    assert response.status_code == 400


def test_outsiders_get_404_for_every_invitation_id(personas, client, mailoutbox, on_commit):
    invitation = services.invite(
        user=personas.provider_admin,
        organization=personas.provider,
        email="someone@example.test",
        role="viewer",
    )
    missing = invitation.pk + 1000
    for user in (
        personas.provider_editor,
        personas.provider_viewer,
        personas.customer_member,
        personas.other_customer_member,
        personas.other_provider_member,
    ):
        caller = api(user)
        for pk in (invitation.pk, missing):
            assert caller.get(f"/api/v1/invitations/{pk}/").status_code == 404
            assert caller.post(f"/api/v1/invitations/{pk}/revoke/").status_code == 404
            assert caller.post(f"/api/v1/invitations/{pk}/resend/").status_code == 404
        client.force_login(user)
        assert client.post(f"/invitations/{invitation.pk}/revoke/").status_code == 404
        assert client.post(f"/invitations/{invitation.pk}/resend/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_the_inviter_sees_pending_accepted_expired_and_revoked(
    personas, client, mailoutbox, on_commit, clock
):
    admin = personas.provider_admin
    with on_commit():
        accepted = services.invite(
            user=admin, organization=personas.provider, email="a@x.test", role="viewer"
        )
        revoked = services.invite(
            user=admin, organization=personas.provider, email="r@x.test", role="viewer"
        )
    services.revoke(user=admin, invitation=revoked)
    newcomer = get_user_model().objects.create_user("anna", "a@x.test", PASSWORD)
    services.accept(token=tokens.token_for(accepted.key), user=newcomer)
    clock.move_to(NOW + timedelta(days=8), tick=False)
    services.invite(user=admin, organization=personas.provider, email="p@x.test", role="editor")
    expired = Invitation.objects.create(
        organization=personas.provider,
        invited_by_organization=personas.provider,
        email="e@x.test",
        role="viewer",
        sent_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )

    client.force_login(admin)
    page = client.get("/invitations/").content.decode()
    for email, state in (
        ("a@x.test", "accepted"),
        ("r@x.test", "revoked"),
        ("p@x.test", "pending"),
        (expired.email, "expired"),
    ):
        row = Invitation.objects.get(email=email)
        assert f'data-invitation="{row.pk}" data-state="{state}"' in page


def test_every_invitation_and_membership_change_is_in_the_history(
    personas, mailoutbox, on_commit, clock
):
    admin = personas.provider_admin
    invitation = services.invite(
        user=admin, organization=personas.provider, email="h@x.test", role="viewer"
    )
    services.resend(user=admin, invitation=invitation)
    person = get_user_model().objects.create_user("hana", "h@x.test", PASSWORD)
    membership = services.accept(token=tokens.token_for(invitation.key), user=person)
    services.change_role(membership=membership, role="editor", user=admin)
    services.leave_organization(membership=membership, user=admin)

    steps = list(invitation.history.order_by("history_date").values_list("status", "history_user"))
    assert steps == [("pending", admin.pk), ("pending", admin.pk), ("accepted", person.pk)]
    changes = list(
        Membership.history.filter(user=person)
        .order_by("history_date")
        .values_list("history_type", "role", "history_user")
    )
    assert changes == [("+", "viewer", None), ("~", "editor", admin.pk), ("-", "editor", admin.pk)]


def test_invitation_pages_are_for_admins(personas, client):
    client.force_login(personas.provider_viewer)
    assert client.get("/invitations/").status_code == 403
    client.force_login(personas.provider_admin)
    page = client.get("/invitations/")
    assert page.status_code == 200
    assert "Invite a new customer" in page.content.decode()


def test_the_browser_form_shows_a_bad_role_beside_the_field(personas, client):
    client.force_login(personas.provider_admin)
    response = client.post(
        "/invitations/",
        {
            "form": "member",
            "member-organization": personas.provider.pk,
            "member-email": "a@b.test",
            "member-role": "x",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_invitation_list_costs_the_same_queries_for_one_or_many(
    personas, client, django_assert_max_num_queries
):
    admin = personas.provider_admin
    for n in range(12):
        services.invite(
            user=admin, organization=personas.provider, email=f"p{n}@x.test", role="viewer"
        )
    caller = api(admin)
    with django_assert_max_num_queries(4):
        response = caller.get("/api/v1/invitations/")
    assert response.json()["count"] == 12
    client.force_login(admin)
    with django_assert_max_num_queries(14):
        assert client.get("/invitations/").status_code == 200


def test_operators_invite_and_revoke_in_the_admin(personas, client, mailoutbox, on_commit):
    client.force_login(personas.operator)
    add = "/admin/people/invitation/add/"
    bad = client.post(
        add,
        {
            "organization": personas.customer.pk,
            "email": "customer-member@example.test",
            "role": "x",
        },
    )
    assert bad.status_code == 200
    assert "Select a valid choice" in bad.content.decode()
    member = client.post(
        add,
        {
            "organization": personas.customer.pk,
            "email": "customer-member@example.test",
            "role": "viewer",
        },
    )
    assert "customer-member@example.test is already a member of Globex." in member.content.decode()
    assert not Invitation.objects.exists()

    with on_commit():
        added = client.post(
            add,
            {"organization": personas.customer.pk, "email": "new@globex.test", "role": "editor"},
        )
    assert added.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.created_by == personas.operator
    assert mailoutbox[-1].to == ["new@globex.test"]
    client.post(
        "/admin/people/invitation/",
        {"action": "revoke", "_selected_action": [invitation.pk]},
    )
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert client.get(f"/admin/people/invitation/{invitation.pk}/history/").status_code == 200
