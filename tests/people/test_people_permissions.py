"""The permission matrix of what is a person's own (notification choices, API tokens) and
of the open accept action: every persona reads and changes only their own; anonymous
callers are refused (the accept action answers them about the link, nothing else)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from people.models import NotificationPreference

pytestmark = pytest.mark.django_db

PERSONAS = [
    "provider_admin",
    "provider_editor",
    "provider_viewer",
    "customer_member",
    "other_customer_member",
    "other_provider_member",
    "operator",
]


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_anonymous_callers_reach_no_ones_choices_nor_tokens(personas):
    client = api()
    assert client.get("/api/v1/notification-preferences/").status_code == 401
    assert (
        client.patch(
            "/api/v1/notification-preferences/change/",
            [{"topic": "dispute", "email": False}],
            format="json",
        ).status_code
        == 401
    )
    assert client.get("/api/v1/tokens/").status_code == 401
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_changes_only_their_own_choices(personas, persona):
    user = getattr(personas, persona)
    changed = api(user).patch(
        "/api/v1/notification-preferences/change/",
        [{"topic": "lapse", "digest": True}],
        format="json",
    )
    assert changed.status_code == 200
    assert list(NotificationPreference.objects.values_list("user_id", "topic", "digest")) == [
        (user.pk, "lapse", True)
    ]
    for other in PERSONAS:
        if other == persona:
            continue
        rows = api(getattr(personas, other)).get("/api/v1/notification-preferences/").json()
        assert next(r for r in rows if r["topic"] == "lapse")["digest"] is False


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_lists_and_revokes_only_their_own_token(personas, persona):
    tokens = {name: Token.objects.create(user=getattr(personas, name)) for name in PERSONAS}
    client = api(getattr(personas, persona))
    listed = client.get("/api/v1/tokens/").json()
    assert [row["id"] for row in listed] == [tokens[persona].key[:8]]
    someone_else = next(name for name in PERSONAS if name != persona)
    assert client.delete(f"/api/v1/tokens/{tokens[someone_else].key[:8]}/").status_code == 404
    assert Token.objects.count() == len(PERSONAS)
    assert client.delete(f"/api/v1/tokens/{tokens[persona].key[:8]}/").status_code == 204
    assert not Token.objects.filter(user=getattr(personas, persona)).exists()
