"""Who may write for an organisation is one rule (``contracts.querysets``): staff for
every organisation, otherwise its admins and editors; the provider's data only for a
provider. The browser's forms and the API give the same answer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contracts.models import Organization, ServiceLevel
from contracts.querysets import may_edit, organizations_edited_by, organizations_of
from tests.api.conftest import client_for, url
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PROVIDER = Organization.Kind.PROVIDER
PERSONAS = [
    "operator",
    "provider_admin",
    "provider_editor",
    "provider_viewer",
    "customer_member",
    "other_customer_member",
    "other_provider_member",
    "two_hats",
]
# Per persona, the organisations (by slug) it may write for, and the providers among them.
EDITS = {
    "operator": ({"acme", "umbrella", "globex", "initech"}, {"acme", "umbrella"}),
    "provider_admin": ({"acme"}, {"acme"}),
    "provider_editor": ({"acme"}, {"acme"}),
    "provider_viewer": (set(), set()),
    "customer_member": (set(), set()),
    "other_customer_member": ({"initech"}, set()),
    "other_provider_member": ({"umbrella"}, {"umbrella"}),
    "two_hats": ({"acme", "globex"}, {"acme"}),
}


@pytest.fixture
def users(personas):
    """The personas, and one user who edits both for the provider and for its customer
    (a user may belong to several organisations, SPEC §6)."""
    two_hats = UserFactory(username="two-hats")
    MembershipFactory(user=two_hats, organization=personas.provider, role="editor")
    MembershipFactory(user=two_hats, organization=personas.customer, role="editor")
    return {name: two_hats if name == "two_hats" else getattr(personas, name) for name in PERSONAS}


def slugs(organizations) -> set[str]:
    return set(organizations.values_list("slug", flat=True))


@pytest.mark.parametrize("persona", PERSONAS)
def test_staff_write_for_all_admins_and_editors_for_their_own_and_viewers_for_none(users, persona):
    user = users[persona]
    edits, edits_as_provider = EDITS[persona]
    assert slugs(organizations_edited_by(user)) == edits
    assert slugs(organizations_edited_by(user, PROVIDER)) == edits_as_provider
    for organization in Organization.objects.all():
        assert may_edit(user, organization) == (organization.slug in edits)
        assert may_edit(user, organization.pk, kind=PROVIDER) == (
            organization.slug in edits_as_provider
        )


def test_an_anonymous_visitor_writes_for_nobody_and_belongs_nowhere(personas):
    assert not organizations_edited_by(personas.anonymous).exists()
    assert not organizations_of(personas.anonymous).exists()
    assert not may_edit(personas.anonymous, personas.provider)


def test_a_viewer_belongs_to_the_organisation_it_cannot_write_for(personas):
    viewer = personas.provider_viewer
    assert slugs(organizations_of(viewer)) == {"acme"}
    assert slugs(organizations_of(viewer, PROVIDER)) == {"acme"}
    assert slugs(organizations_of(personas.operator, PROVIDER)) == {"acme", "umbrella"}
    assert slugs(organizations_of(personas.customer_member, PROVIDER)) == set()


def corporate_objective(key: str) -> dict[str, str]:
    return {
        "key": key,
        "name": "Availability",
        "indicator": "uptime",
        "comparator": "gte",
        "target": "99.5",
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_browser_and_api_let_the_same_people_set_a_providers_objectives(client, users, persona):
    """A corporate objective is the provider's own: the organisation named as its
    provider must be a provider the user edits for, in both interfaces."""
    user = users[persona]
    client.force_login(user)
    api = client_for(user)
    _, edits_as_provider = EDITS[persona]
    for organization in Organization.objects.order_by("slug"):
        api_response = api.post(
            url("servicelevel"),
            {
                "level": "corporate",
                "provider": organization.pk,
                **corporate_objective(f"api-{organization.slug}"),
            },
        )
        browser_response = client.post(
            reverse("objective-create", args=[organization.slug]),
            {
                "scope": "corporate",
                **corporate_objective(f"web-{organization.slug}"),
                "enabled": "on",
                "rule_kind": "",
                "tiers-TOTAL_FORMS": "0",
                "tiers-INITIAL_FORMS": "0",
            },
        )
        expected = organization.slug in edits_as_provider
        assert (api_response.status_code == 201) == expected, organization.slug
        assert (browser_response.status_code == 302) == expected, organization.slug
        # What was written went where it was asked to, and nowhere else.
        written = ServiceLevel.objects.filter(provider=organization, level="corporate")
        assert written.count() == 2 * expected
