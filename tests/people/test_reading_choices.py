"""A person's reading choices: the preferences page (language, time zone), its errors that
change nothing, and their own zone winning over their organisation's for every time."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from contracts.models import Membership
from people.models import Profile
from people.preferences import language_for, timezone_for
from tests.conftest import PASSWORD
from tests.credits.test_notify import make_statement
from tests.factories import MembershipFactory, UserFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db


def _log_in(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_without_a_profile_the_organisations_zone_and_the_browsers_language(personas):
    personas.customer.timezone = "Europe/Berlin"
    person = personas.customer_member
    assert not Profile.objects.filter(user=person).exists()
    assert timezone_for(person, personas.customer) == "Europe/Berlin"
    assert timezone_for(person, None) == "UTC"
    assert language_for(person) is None
    Profile.objects.create(user=person, language="de", timezone="Asia/Tokyo")
    person.refresh_from_db()
    assert timezone_for(person, personas.customer) == "Asia/Tokyo"
    assert language_for(person) == "de"


def test_the_page_saves_both_choices_and_applies_the_zone_at_once(personas, client):
    person = personas.customer_member
    _log_in(client, person)
    page = client.get(reverse("account-preferences"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="Asia/Tokyo">' in html  # the zones offered to pick from
    assert 'list="zones"' in html

    response = client.post(
        reverse("account-preferences"), {"language": "de", "timezone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=person)
    assert (profile.language, profile.timezone) == ("de", "Asia/Tokyo")
    assert client.session["viewer_timezone"] == "Asia/Tokyo"
    assert response.cookies["django_language"].value == "de"

    # Blank again: the organisation's zone, the browser's language.
    response = client.post(reverse("account-preferences"), {"language": "", "timezone": ""})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.language, profile.timezone) == ("", "")
    assert client.session["viewer_timezone"] == personas.customer.timezone
    assert response.cookies["django_language"].value == ""  # deleted


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"language": "en", "timezone": "Mars/Olympus"}, "timezone", "is not a time zone"),
        ({"language": "en", "timezone": "localtime"}, "timezone", "is not a time zone"),
        ({"language": "fr", "timezone": "Asia/Tokyo"}, "language", "Choose English, Deutsch"),
    ],
)
def test_a_bad_choice_is_a_form_error_beside_its_field_and_changes_nothing(
    personas, client, data, field, message
):
    person = personas.customer_member
    Profile.objects.create(user=person, language="", timezone="Europe/Paris")
    _log_in(client, person)
    session_zone = client.session["viewer_timezone"]

    response = client.post(reverse("account-preferences"), data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    assert f'id="field-{field}"' in html and "field-error" in html
    profile = Profile.objects.get(user=person)
    assert (profile.language, profile.timezone) == ("", "Europe/Paris")
    assert client.session["viewer_timezone"] == session_zone == "Europe/Paris"
    assert "django_language" not in response.cookies


def test_ones_own_zone_labels_the_statements_time_the_colleague_reads_the_organisations(
    personas, client
):
    personas.customer.timezone = "Europe/Berlin"
    personas.customer.save()
    statement = make_statement(personas.contract)  # issued 3 Nov 2026 02:00 UTC
    tokyo_reader = personas.customer_member
    Profile.objects.create(user=tokyo_reader, timezone="Asia/Tokyo")
    colleague = UserFactory(username="customer-colleague")
    MembershipFactory(user=colleague, organization=personas.customer, role=Membership.Role.VIEWER)
    url = reverse("statement-detail", args=[statement.pk])

    _log_in(client, tokyo_reader)
    text = page_text(client.get(url).content.decode())
    assert "3 Nov 2026 11:00 JST" in text
    assert "CET" not in text

    client.logout()
    _log_in(client, colleague)
    text = page_text(client.get(url).content.decode())
    assert "3 Nov 2026 03:00 CET" in text
    assert "JST" not in text


def test_switching_organisations_keeps_ones_own_zone(personas, client):
    person = personas.provider_editor
    MembershipFactory(user=person, organization=personas.customer, role=Membership.Role.VIEWER)
    Profile.objects.create(user=person, timezone="Asia/Tokyo")
    _log_in(client, person)
    assert client.session["viewer_timezone"] == "Asia/Tokyo"
    client.post(reverse("organization-switch"), {"organization": personas.customer.pk})
    assert client.session["viewer_timezone"] == "Asia/Tokyo"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_reads_and_changes_ones_choices_field_by_field(personas):
    person = personas.customer_member
    client = _api(person)
    url = "/api/v1/me/preferences/"
    assert client.get(url).json() == {"language": "", "timezone": ""}
    response = client.patch(url, {"timezone": "Asia/Tokyo"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"language": "", "timezone": "Asia/Tokyo"}
    response = client.patch(url, {"language": "de"}, format="json")
    assert response.json() == {"language": "de", "timezone": "Asia/Tokyo"}  # zone kept
    assert language_for(person) == "de"
    assert APIClient().get(url).status_code == 401


def test_bad_choices_through_the_api_are_a_400_per_field_and_change_nothing(personas):
    person = personas.customer_member
    Profile.objects.create(user=person, language="en", timezone="Europe/Paris")
    response = _api(person).patch(
        "/api/v1/me/preferences/", {"language": "fr", "timezone": "Mars/Olympus"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"language", "timezone"}
    assert "Mars/Olympus" in str(body["timezone"])
    profile = Profile.objects.get(user=person)
    assert (profile.language, profile.timezone) == ("en", "Europe/Paris")
