"""The notification inbox: own notifications only, an unread count, mark read."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from credits.models import Notification

pytestmark = pytest.mark.django_db


def _notify(user, organization, title: str) -> Notification:
    return Notification.objects.create(
        user=user,
        organization=organization,
        event=Notification.Event.STATEMENT_ISSUED,
        title=title,
        body="Credit total 20.00 EUR.",
        link="/statements/1/",
    )


@pytest.fixture
def inbox(personas):
    return {
        "first": _notify(personas.customer_member, personas.customer, "Statement for January"),
        "second": _notify(personas.customer_member, personas.customer, "Statement for February"),
        "theirs": _notify(
            personas.other_customer_member, personas.other_customer, "Initech statement"
        ),
    }


def _unread(html: str) -> str:
    return re.search(r'id="unread-count">([^<]+)<', html).group(1)


def test_inbox_lists_own_notifications_with_the_unread_count(client, personas, inbox):
    client.force_login(personas.customer_member)
    html = client.get(reverse("notification-inbox")).content.decode()
    assert "Statement for January" in html
    assert "Statement for February" in html
    assert "Initech statement" not in html
    assert _unread(html) == "2 unread"


def test_marking_one_read_lowers_the_count(client, personas, inbox):
    client.force_login(personas.customer_member)
    response = client.post(reverse("notification-read", args=[inbox["first"].pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notification-inbox")
    inbox["first"].refresh_from_db()
    assert inbox["first"].read_at is not None
    html = client.get(reverse("notification-inbox")).content.decode()
    assert _unread(html) == "1 unread"
    unread_only = client.get(reverse("notification-inbox"), {"unread": "1"}).content.decode()
    assert "Statement for February" in unread_only
    assert "Statement for January" not in unread_only


def test_mark_all_read_marks_only_the_users_own(client, personas, inbox):
    client.force_login(personas.customer_member)
    client.post(reverse("notification-read-all"))
    assert not Notification.objects.filter(user=personas.customer_member, read_at=None).exists()
    assert Notification.objects.get(pk=inbox["theirs"].pk).read_at is None


def test_someone_elses_notification_is_404(client, personas, inbox):
    client.force_login(personas.customer_member)
    response = client.post(reverse("notification-read", args=[inbox["theirs"].pk]))
    assert response.status_code == 404
    assert Notification.objects.get(pk=inbox["theirs"].pk).read_at is None


def test_mark_read_never_redirects_off_site(client, personas, inbox):
    client.force_login(personas.customer_member)
    response = client.post(
        reverse("notification-read", args=[inbox["first"].pk]),
        {"next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("notification-inbox")


def test_inbox_query_count_does_not_grow_with_notifications(
    client, personas, inbox, django_assert_max_num_queries
):
    client.force_login(personas.customer_member)
    for index in range(60):
        _notify(personas.customer_member, personas.customer, f"Statement {index}")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("notification-inbox")).status_code == 200


def test_the_navigation_badge_counts_the_unread_notifications(client, personas, inbox):
    client.force_login(personas.customer_member)
    for name in ("dashboard", "notification-inbox", "statement-list"):
        html = client.get(reverse(name)).content.decode()
        badge = 'Notifications <span class="badge">2<span class="visually-hidden"> unread</span>'
        assert badge in html, name
