"""An organisation cannot lose its last admin: demoting, removing or deactivating them is
refused with a clear message, in the browser, the API and the admin, and nothing changes
(not even the history). With a second admin, each of those works."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from contracts.models import Membership
from people import services
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSAL = "Acme Networks must keep an admin: make another member an admin first"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def state() -> tuple:
    """Memberships, active users and the membership history: what a refusal leaves alone."""
    return (
        sorted(Membership.objects.values_list("pk", "role")),
        sorted(get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)),
        Membership.history.count(),
    )


@pytest.fixture
def sole_admin(personas):
    return Membership.objects.get(user=personas.provider_admin, organization=personas.provider)


def test_the_last_admin_cannot_demote_or_remove_themselves_in_the_browser(
    personas, sole_admin, client
):
    client.force_login(personas.provider_admin)
    page = f"/organizations/acme/members/{sole_admin.pk}/"
    before = state()

    demoted = client.post(page, {"role": "viewer"}, follow=True)
    assert REFUSAL in demoted.content.decode()
    removed = client.post(page, {"remove": "1"}, follow=True)
    assert REFUSAL in removed.content.decode()

    assert state() == before


def test_with_a_second_admin_the_first_may_step_down(personas, sole_admin, client):
    second = UserFactory(username="second-admin")
    MembershipFactory(user=second, organization=personas.provider, role="admin")
    client.force_login(personas.provider_admin)

    response = client.post(f"/organizations/acme/members/{sole_admin.pk}/", {"role": "editor"})

    assert response.status_code == 302
    sole_admin.refresh_from_db()
    assert sole_admin.role == "editor"
    # And now the second is the last one.
    last = Membership.objects.get(user=second)
    with pytest.raises(Exception, match="must keep an admin"):
        services.change_role(membership=last, role="viewer", user=second)


def test_an_inactive_admin_does_not_count(personas, sole_admin):
    dormant = UserFactory(username="dormant-admin", is_active=False)
    MembershipFactory(user=dormant, organization=personas.provider, role="admin")

    with pytest.raises(Exception, match="must keep an admin"):
        services.leave_organization(membership=sole_admin, user=personas.provider_admin)
    # Removing the inactive one takes nothing away.
    services.leave_organization(
        membership=Membership.objects.get(user=dormant), user=personas.provider_admin
    )


def test_the_api_refuses_to_demote_or_remove_the_last_admin(personas, sole_admin):
    client = api(personas.provider_admin)
    before = state()

    demoted = client.patch(f"/api/v1/members/{sole_admin.pk}/", {"role": "editor"}, format="json")
    removed = client.delete(f"/api/v1/members/{sole_admin.pk}/")

    assert demoted.status_code == 400
    assert list(demoted.json()) == ["role"]
    assert demoted.json()["role"][0].startswith(REFUSAL)
    assert removed.status_code == 400
    assert removed.json()["non_field_errors"][0].startswith(REFUSAL)
    assert state() == before
    # Another member's role still changes, and is kept in the history.
    viewer = Membership.objects.get(user=personas.provider_viewer)
    assert (
        client.patch(f"/api/v1/members/{viewer.pk}/", {"role": "editor"}, format="json").status_code
        == 200
    )
    assert viewer.history.latest().history_user == personas.provider_admin


def test_the_admin_refuses_to_demote_delete_or_deactivate_the_last_admin(
    personas, sole_admin, client
):
    client.force_login(personas.operator)
    before = state()

    demoted = client.post(
        f"/admin/contracts/membership/{sole_admin.pk}/change/",
        {
            "user": personas.provider_admin.pk,
            "organization": personas.provider.pk,
            "role": "viewer",
        },
    )
    assert demoted.status_code == 200
    assert REFUSAL in demoted.content.decode()

    confirm = client.get(f"/admin/contracts/membership/{sole_admin.pk}/delete/")
    assert REFUSAL in confirm.content.decode()
    client.post(f"/admin/contracts/membership/{sole_admin.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/contracts/membership/",
        {"action": "delete_selected", "_selected_action": [sole_admin.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)

    user_page = f"/admin/auth/user/{personas.provider_admin.pk}/change/"
    form = client.get(user_page).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        {
            "username": personas.provider_admin.username,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "is_active": "",
            "groups": [],
            "user_permissions": [],
        }
    )
    data = {k: v for k, v in data.items() if k not in ("last_login", "is_active")}
    deactivated = client.post(user_page, data)
    assert deactivated.status_code == 200
    assert REFUSAL in deactivated.content.decode()
    confirm_user = client.get(f"/admin/auth/user/{personas.provider_admin.pk}/delete/")
    assert REFUSAL in confirm_user.content.decode()
    client.post(f"/admin/auth/user/{personas.provider_admin.pk}/delete/", {"post": "yes"})

    assert state() == before


def test_the_organisation_page_in_the_admin_refuses_removing_its_last_admin(
    personas, sole_admin, client
):
    client.force_login(personas.operator)
    page = f"/admin/contracts/organization/{personas.provider.pk}/change/"
    members = list(Membership.objects.filter(organization=personas.provider).order_by("pk"))
    data = {
        "name": personas.provider.name,
        "slug": personas.provider.slug,
        "kind": personas.provider.kind,
        "introduced_by": "",
        "memberships-TOTAL_FORMS": str(len(members)),
        "memberships-INITIAL_FORMS": str(len(members)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for n, m in enumerate(members):
        data.update(
            {
                f"memberships-{n}-id": str(m.pk),
                f"memberships-{n}-organization": str(personas.provider.pk),
                f"memberships-{n}-user": str(m.user_id),
                f"memberships-{n}-role": m.role,
            }
        )
        if m.pk == sole_admin.pk:
            data[f"memberships-{n}-DELETE"] = "on"
    before = state()

    response = client.post(page, data)

    assert response.status_code == 200
    assert REFUSAL in response.content.decode()
    assert state() == before


def test_with_another_admin_the_admin_deletes_a_membership_and_the_history_says_who(
    personas, sole_admin, client
):
    MembershipFactory(
        user=UserFactory(username="second-admin"), organization=personas.provider, role="admin"
    )
    client.force_login(personas.operator)

    client.post(f"/admin/contracts/membership/{sole_admin.pk}/delete/", {"post": "yes"})

    assert not Membership.objects.filter(pk=sole_admin.pk).exists()
    removal = Membership.history.filter(id=sole_admin.pk).latest()
    assert (removal.history_type, removal.history_user) == ("-", personas.operator)
