"""Accepting an invitation through the API, with the browser's checks: the signed-in
addressee joins; someone without an account creates it; an expired, revoked, used, tampered
link or one for another address is a 400 (404 for a link that is no invitation's) saying so,
and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from contracts.models import Membership
from people import services, tokens
from people.models import Invitation
from tests.conftest import PASSWORD
from tests.people.conftest import link_in

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACCEPT = "/api/v1/invitations/accept/"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def token_in(message) -> str:
    """The signed token of the link an invitation e-mail carries."""
    return link_in(message).rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def invited(personas, mailoutbox, on_commit, clock):
    """A new customer, Hooli, invited by the provider's admin: (invitation, token)."""
    with on_commit():
        invitation = services.invite_customer(
            user=personas.provider_admin,
            provider=personas.provider,
            name="Hooli",
            email="cfo@hooli.test",
        )
    return invitation, token_in(mailoutbox[-1])


def snapshot() -> tuple:
    """What a refused acceptance must leave as it was."""
    return (
        get_user_model().objects.count(),
        sorted(Membership.objects.values_list("user_id", "organization_id", "role")),
        sorted(Invitation.objects.values_list("pk", "status", "accepted_at")),
    )


def test_someone_without_an_account_accepts_through_the_api_and_can_then_get_a_token(
    invited, clock
):
    invitation, token = invited

    response = api().post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 201, response.json()
    gavin = get_user_model().objects.get(username="gavin")
    assert response.json() == {
        "organization": invitation.organization_id,
        "organization_name": "Hooli",
        "role": "admin",
        "user": gavin.pk,
        "username": "gavin",
    }
    assert gavin.email == "cfo@hooli.test"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by) == ("accepted", gavin)
    issued = api().post(
        "/api/v1/auth/token/", {"username": "gavin", "password": PASSWORD}, format="json"
    )
    assert issued.status_code == 200 and issued.json()["token"]


def test_the_signed_in_addressee_accepts_and_belongs_to_both_organisations(
    personas, invited, mailoutbox, on_commit
):
    member = personas.customer_member
    with on_commit():
        invitation = services.invite(
            user=personas.provider_admin,
            organization=personas.provider,
            email=member.email,
            role="viewer",
        )
    token = token_in(mailoutbox[-1])

    response = api(member).post(ACCEPT, {"token": token}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["role"] == "viewer"
    assert set(member.memberships.values_list("organization_id", flat=True)) == {
        personas.customer.pk,
        personas.provider.pk,
    }
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    steps = list(invitation.history.order_by("history_date").values_list("status", "history_user"))
    assert steps[-1] == ("accepted", member.pk)


def test_a_link_used_twice_is_a_400_and_changes_nothing(invited):
    _, token = invited
    first = api().post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )
    assert first.status_code == 201
    before = snapshot()

    again = api().post(
        ACCEPT, {"token": token, "username": "another", "password": PASSWORD}, format="json"
    )

    assert again.status_code == 400
    assert again.json() == {"token": [services.REFUSALS["accepted"]]}
    assert snapshot() == before


def test_a_revoked_link_is_a_400_and_changes_nothing(personas, invited):
    invitation, token = invited
    services.revoke(user=personas.provider_admin, invitation=invitation)
    before = snapshot()

    response = api().post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"token": [services.REFUSALS["revoked"]]}
    assert snapshot() == before


def test_an_expired_link_is_a_400_and_changes_nothing(invited, clock):
    _, token = invited
    clock.move_to(NOW + timedelta(days=7, seconds=1), tick=False)
    before = snapshot()

    response = api().post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"token": [services.REFUSALS["expired"]]}
    assert snapshot() == before


def test_an_invitation_past_its_time_names_when_it_expired(personas, invited, settings):
    # Signed a moment ago, but the invitation's own time is over (its expiry was shortened).
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=NOW - timedelta(minutes=1))
    before = snapshot()

    response = api().post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    (message,) = response.json()["token"]
    assert message.startswith("This invitation expired on 2026-11-02 08:59 UTC: ask Acme")
    assert snapshot() == before


def test_a_link_for_another_address_is_a_400_and_changes_nothing(personas, invited):
    _, token = invited
    before = snapshot()

    response = api(personas.customer_member).post(ACCEPT, {"token": token}, format="json")

    assert response.status_code == 400
    assert response.json() == {"token": [services.REFUSALS["other_email"]]}
    assert snapshot() == before


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        # A key the portal never signed: the right shape, the wrong signature.
        "0b0f6a34-3c4b-4bb3-8f5e-0a3b7a0c2f11:1tAbCd:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ],
)
def test_a_link_that_is_no_invitations_is_a_404_saying_so(personas, invited, token):
    before = snapshot()

    response = api(personas.customer_member).post(ACCEPT, {"token": token}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": services.REFUSALS["invalid"]}
    assert snapshot() == before


def test_a_signed_link_to_a_deleted_invitation_is_a_404(invited):
    invitation, _ = invited
    stray = tokens.token_for(invitation.key.__class__(int=invitation.key.int ^ 1))
    response = api().post(ACCEPT, {"token": stray, "username": "x", "password": PASSWORD})
    assert response.status_code == 404


def test_an_address_with_an_account_must_authenticate_to_accept(
    personas, invited, mailoutbox, on_commit
):
    with on_commit():
        services.invite(
            user=personas.provider_admin,
            organization=personas.provider,
            email=personas.customer_member.email,
            role="viewer",
        )
    token = token_in(mailoutbox[-1])
    before = snapshot()

    response = api().post(
        ACCEPT, {"token": token, "username": "impostor", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"token": [services.REFUSALS["has_account"]]}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"token": ["This field is required."]}),
        (
            {"username": "gavin"},
            {"token": ["This field is required."]},
        ),
        (
            {"password": PASSWORD},
            {"username": ["Required to create the account (or authenticate to accept)."]},
        ),
        ({"username": "gavin", "password": "123"}, "password"),
        (
            {"username": "gavin", "password": PASSWORD, "role": "admin"},
            {"role": ["Unknown field."]},
        ),
    ],
)
def test_bad_bodies_are_a_400_per_field_and_change_nothing(invited, body, errors):
    _, token = invited
    if "token" not in str(errors):
        body = {"token": token, **body}
    before = snapshot()

    response = api().post(ACCEPT, body, format="json")

    assert response.status_code == 400
    if isinstance(errors, str):
        assert list(response.json()) == [errors]
    else:
        assert response.json() == errors
    assert snapshot() == before


def test_an_authenticated_caller_does_not_name_another_account(personas, invited):
    _, token = invited
    before = snapshot()

    response = api(personas.customer_member).post(
        ACCEPT, {"token": token, "username": "gavin", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}
    assert snapshot() == before


def test_anonymous_callers_reach_only_the_accept_action(invited):
    assert api().get("/api/v1/invitations/").status_code == 401
    assert api().post("/api/v1/invitations/", {}, format="json").status_code == 401
    assert api().post(ACCEPT, {}, format="json").status_code == 400
