"""The layout around every page: error pages with a way back, one main navigation, the
favicon, the logout message, and a 403 logged once without a traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from contracts.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_403_is_the_portal_page_with_a_way_back(personas, client):
    client.force_login(personas.customer_member)
    response = client.get(reverse("contract-edit", args=[personas.contract.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert '<header class="site">' in html
    assert "<h1>You may not do this</h1>" in html
    assert "Only the provider&#x27;s editors change a contract." in html
    assert f'href="{reverse("home")}"' in html and "Back to the start page" in html


def test_a_404_is_the_portal_page_with_a_way_back(personas, client):
    client.force_login(personas.customer_member)
    response = client.get(reverse("contract-detail", args=[personas.other_contract.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert '<header class="site">' in html
    assert "<h1>Page not found</h1>" in html
    assert "Back to the start page" in html


def test_the_api_still_answers_its_errors_in_json(personas, client):
    client.force_login(personas.customer_member)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_403_is_logged_once_without_a_traceback(personas, client, caplog):
    client.force_login(personas.customer_member)
    with caplog.at_level(logging.INFO):
        client.get(reverse("contract-edit", args=[personas.contract.pk]))
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert len(forbidden) == 1
    assert forbidden[0].exc_info is None
    assert not any(r.exc_info for r in caplog.records)


def test_every_page_links_the_favicon_and_favicon_ico_finds_it(personas, client):
    client.force_login(personas.customer_member)
    html = client.get(reverse("contract-list")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"


def test_logging_out_says_so(personas, client):
    client.force_login(personas.customer_member)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You are logged out." in response.content.decode()


def test_one_main_navigation_without_the_sections_own_tabs(personas, client):
    client.force_login(personas.provider_editor)
    html = client.get(reverse("statement-list")).content.decode()
    main_nav = html.split('<nav aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    # The credits section's tabs (Statements, Disputes…) are not repeated in the main bar.
    assert "Statements" not in main_nav and "Disputes" not in main_nav
    assert "Contracts" in main_nav and "Credits" in main_nav


def test_people_pages_offer_invitations_only_to_admins(personas, client):
    viewer = UserFactory(username="plain-viewer")
    MembershipFactory(user=viewer, organization=personas.customer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    html = client.get(reverse("token-list")).content.decode()
    assert reverse("invitation-list") not in html
    client.force_login(personas.provider_admin)
    html = client.get(reverse("token-list")).content.decode()
    assert reverse("invitation-list") in html
