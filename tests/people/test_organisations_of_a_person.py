"""A person in several organisations: the header's switcher, the dashboard of the one
chosen; removing a membership ends access at once, in sessions and tokens; tokens are
listed and revoked by their owner."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Membership
from people import services
from people.models import OrganizationChoice
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultant(personas):
    """A consultant of Globex (Acme's customer) and of Initech (Umbrella's)."""
    person = UserFactory(username="consultant")
    MembershipFactory(user=person, organization=personas.customer, role="editor")
    MembershipFactory(user=person, organization=personas.other_customer, role="viewer")
    return person


def test_the_dashboard_shows_the_organisation_chosen_in_the_header(personas, consultant, client):
    client.force_login(consultant)
    first = client.get("/dashboard/").content.decode()
    assert 'id="acting-organization"' in first
    assert "ACME-1" in first and "UMB-1" not in first  # Globex, first by name

    switched = client.post(
        "/account/organization/",
        {"organization": personas.other_customer.pk, "next": "/dashboard/"},
    )
    assert switched.status_code == 302 and switched["Location"] == "/dashboard/"
    second = client.get("/dashboard/").content.decode()
    assert "UMB-1" in second and "ACME-1" not in second
    assert OrganizationChoice.objects.get(user=consultant).organization == personas.other_customer


def test_one_cannot_switch_to_an_organisation_one_does_not_belong_to(personas, consultant, client):
    client.force_login(consultant)
    response = client.post(
        "/account/organization/", {"organization": personas.provider.pk}, follow=True
    )
    assert "You do not belong to that organisation." in response.content.decode()
    assert not OrganizationChoice.objects.exists()
    for junk in ("", "abc", "10000000000000000000000"):
        assert client.post("/account/organization/", {"organization": junk}).status_code == 302
    assert not OrganizationChoice.objects.exists()


def test_removing_a_membership_ends_access_at_once_in_sessions_and_tokens(
    personas, consultant, client
):
    token = Token.objects.create(user=consultant)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.force_login(consultant)
    services.choose_organization(user=consultant, organization=personas.customer)
    contract = personas.contract
    assert api.get(f"/api/v1/contracts/{contract.pk}/").status_code == 200
    assert client.get(f"/contracts/{contract.pk}/").status_code == 200

    # Globex's admin removes the consultant, through the API.
    admin = UserFactory(username="globex-admin")
    MembershipFactory(user=admin, organization=personas.customer, role="admin")
    membership = Membership.objects.get(user=consultant, organization=personas.customer)
    removing = APIClient()
    removing.force_authenticate(admin)
    assert removing.delete(f"/api/v1/members/{membership.pk}/").status_code == 204

    assert api.get(f"/api/v1/contracts/{contract.pk}/").status_code == 404
    assert client.get(f"/contracts/{contract.pk}/").status_code == 404
    assert api.get("/api/v1/contracts/").json()["count"] == 1  # Initech's only
    # The dashboard falls back to the organisation still theirs.
    assert "UMB-1" in client.get("/dashboard/").content.decode()


def test_an_admin_removes_a_member_in_the_browser_and_the_history_says_who(
    personas, consultant, client
):
    admin = UserFactory(username="globex-admin")
    MembershipFactory(user=admin, organization=personas.customer, role="admin")
    membership = Membership.objects.get(user=consultant, organization=personas.customer)
    client.force_login(admin)
    page = client.get("/organizations/globex/members/")
    assert "consultant" in page.content.decode()
    client.post(f"/organizations/globex/members/{membership.pk}/", {"role": "viewer"})
    client.post(f"/organizations/globex/members/{membership.pk}/", {"remove": "1"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    history = Membership.history.filter(id=membership.pk).order_by("history_date")
    assert [(h.history_type, h.role, h.history_user_id) for h in history][-2:] == [
        ("~", "viewer", admin.pk),
        ("-", "viewer", admin.pk),
    ]
    # The members page is its admins' alone.
    client.force_login(consultant)
    assert client.get("/organizations/initech/members/").status_code == 404
    assert client.post(f"/organizations/globex/members/{membership.pk}/").status_code == 404


def test_tokens_are_listed_and_revoked_by_their_owner(personas, client):
    owner = personas.provider_editor
    token = Token.objects.create(user=owner)
    others = Token.objects.create(user=personas.provider_admin)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    listed = api.get("/api/v1/tokens/").json()
    assert listed == [{"id": token.key[:8], "created": listed[0]["created"]}]
    # Another person's token is not found, whatever is sent.
    assert api.delete(f"/api/v1/tokens/{others.key[:8]}/").status_code == 404
    assert api.delete("/api/v1/tokens/0000/").status_code == 404
    assert Token.objects.filter(pk=others.pk).exists()

    assert api.delete(f"/api/v1/tokens/{token.key[:8]}/").status_code == 204
    assert api.get("/api/v1/contracts/").status_code == 401

    second = Token.objects.create(user=owner)
    client.force_login(owner)
    assert second.key[:8] in client.get("/account/tokens/").content.decode()
    client.post("/account/tokens/", {"token": second.key[:8]})
    assert not Token.objects.filter(user=owner).exists()


def test_a_choice_of_an_organisation_left_counts_as_none(personas, consultant):
    from people.selectors import acting_organization

    services.choose_organization(user=consultant, organization=personas.other_customer)
    Membership.objects.filter(user=consultant, organization=personas.other_customer).delete()
    assert acting_organization(consultant) == personas.customer
