"""The 403 and 404 pages in German for a German reader, the 403's reason included: the
refusal is translated when it is raised, in the language of the request."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from contracts.models import ServiceCalendar
from people.models import Profile
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
# Every English sentence the error pages and their layout show.
ENGLISH = (
    "You may not do this",
    "Not allowed",
    "Ask an administrator",
    "Your role in this organisation",
    "Page not found",
    "There is nothing here",
    "Check the address",
    "Back to the start page",
    "Your contracts",
    "Skip to content",
    "Log out",
    "Only the provider",
)


def _german_reader(user) -> Client:
    Profile.objects.create(user=user, language="de")
    client = Client()
    client.force_login(user)
    return client


def _assert_german(html: str) -> str:
    """The page's main text; the whole page, header and all, holds no English sentence."""
    assert '<html lang="de">' in html
    everything = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'")
    assert [sentence for sentence in ENGLISH if sentence in everything] == []
    text = page_text(html)
    assert "Zurück zur Startseite" in text
    return text


def test_a_german_reader_is_refused_in_german_with_the_reason_in_german(personas):
    client = _german_reader(personas.customer_member)
    response = client.get(reverse("contract-edit", args=[personas.contract.pk]))
    assert response.status_code == 403
    text = _assert_german(response.content.decode())
    assert "Das dürfen Sie nicht" in text
    assert "Nur die Bearbeiter des Anbieters ändern einen Vertrag." in text
    assert ">Abmelden</button>" in response.content.decode()


def test_a_german_browser_is_refused_in_german_too(personas):
    calendar = ServiceCalendar.objects.create(provider=personas.provider, name="Office hours")
    client = Client(**GERMAN_BROWSER)
    client.force_login(personas.provider_viewer)
    url = reverse("calendar-delete", args=[personas.provider.slug, calendar.pk])
    response = client.get(url)
    assert response.status_code == 403
    text = _assert_german(response.content.decode())
    assert "Nur die Bearbeiter des Anbieters ändern seine Servicekalender." in text


def test_the_same_refusal_stays_english_for_an_english_reader(personas):
    client = Client()
    client.force_login(personas.customer_member)
    response = client.get(reverse("contract-edit", args=[personas.contract.pk]))
    assert response.status_code == 403
    assert "Only the provider&#x27;s editors change a contract." in response.content.decode()


def test_a_german_reader_gets_the_404_page_in_german(personas):
    client = _german_reader(personas.customer_member)
    response = client.get(reverse("contract-detail", args=[personas.other_contract.pk]))
    assert response.status_code == 404
    text = _assert_german(response.content.decode())
    assert "Seite nicht gefunden" in text
