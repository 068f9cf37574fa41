"""Pages speak German when the browser asks for it (``Accept-Language``) or the person
chose it (``Profile.language``, which wins over the browser); the login page offers a
language switch to people not signed in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from people.models import Profile
from tests.conftest import PASSWORD
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def _log_in(client, user, **headers) -> None:
    response = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}, **headers
    )
    assert response.status_code == 302


def test_the_login_page_in_german_for_a_german_browser(client):
    html = client.get(reverse("login"), **GERMAN).content.decode()
    assert '<html lang="de">' in html
    assert "<h1>Anmelden</h1>" in html
    assert "Passwort vergessen?" in html
    english = client.get(reverse("login"), **ENGLISH).content.decode()
    assert "<h1>Log in</h1>" in english and '<html lang="en">' in english


def test_the_dashboard_and_contract_list_in_german(personas, client):
    _log_in(client, personas.customer_member, **GERMAN)
    for url in (reverse("dashboard"), reverse("contract-list")):
        response = client.get(url, **GERMAN)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="de">' in html, url
        # The header's navigation and its button.
        assert ">Verträge</a>" in html and ">Abmelden</button>" in html, url
        assert "Log out" not in html, url
    text = page_text(client.get(reverse("contract-list"), **GERMAN).content.decode())
    assert "\nVerträge\n" in text  # the page's heading
    assert "Jeder Status" in text and "Any status" not in text  # the filter's choices


@pytest.mark.parametrize(
    ("chosen", "browser", "expected", "absent"),
    [
        ("en", GERMAN, "Log out", "Abmelden"),
        ("de", ENGLISH, "Abmelden", "Log out"),
        ("", GERMAN, "Abmelden", "Log out"),
    ],
)
def test_the_persons_own_language_wins_over_the_browsers(
    personas, client, chosen, browser, expected, absent
):
    person = personas.provider_editor
    Profile.objects.create(user=person, language=chosen)
    _log_in(client, person, **browser)
    html = client.get(reverse("contract-list"), **browser).content.decode()
    assert f">{expected}</button>" in html
    assert absent not in html


def test_choosing_german_on_the_preferences_page_applies_to_the_next_page(personas, client):
    person = personas.customer_member
    _log_in(client, person, **ENGLISH)
    response = client.post(
        reverse("account-preferences"), {"language": "de", "timezone": ""}, **ENGLISH
    )
    assert response.status_code == 302
    page = client.get(response["Location"], **ENGLISH)
    text = page_text(page.content.decode())
    assert "Ihre Sprache und Zeitzone sind gespeichert." in text
    assert "Meine Sprache und Zeitzone" in text


def test_the_login_pages_language_switch(client):
    login = reverse("login")
    response = client.post(reverse("set_language"), {"language": "de", "next": login}, **ENGLISH)
    assert response.status_code == 302 and response["Location"] == login
    assert "<h1>Anmelden</h1>" in client.get(login, **ENGLISH).content.decode()
    # A language the portal does not speak changes nothing.
    client.post(reverse("set_language"), {"language": "xx", "next": login}, **ENGLISH)
    assert "<h1>Anmelden</h1>" in client.get(login, **ENGLISH).content.decode()
