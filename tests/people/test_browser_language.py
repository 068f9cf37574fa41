"""The language a person's browser asks for is kept while they choose none, so that their
e-mails and in-app notifications (sent without a request) are in it too: once per change,
never a write per request; their own choice wins."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from contracts.models import Membership
from credits import notify
from credits.models import Delivery, Notification
from credits.settlement import warn_early
from people.models import Profile
from people.preferences import language_for, languages_of
from tests.credits.test_notify import make_statement
from tests.credits.test_progress import NOW, book
from tests.factories import MembershipFactory, UserFactory
from tests.i18n.test_german import numbers

pytestmark = pytest.mark.django_db

GERMAN_BROWSER = "de-DE,de;q=0.9,en;q=0.5"


def _statement_notice(user) -> tuple[str, str]:
    """The title of the person's in-app notification of the statement, and the subject of
    their e-mail."""
    title = Notification.objects.get(user=user, event="statement_issued").title
    subject = Delivery.objects.get(recipient=user.email, channel=Delivery.Channel.EMAIL)
    return title, subject.email["subject"]


def test_without_a_choice_the_next_statement_is_in_the_language_the_browser_asks(client, personas):
    reader, colleague = personas.customer_member, personas.provider_editor
    client.force_login(reader)
    assert language_for(reader) is None

    page = client.get(reverse("account-preferences"), HTTP_ACCEPT_LANGUAGE=GERMAN_BROWSER)

    assert page["Content-Language"] == "de"
    assert Profile.objects.get(user=reader).browser_language == "de"
    assert language_for(reader) == "de"
    assert languages_of([reader.pk, colleague.pk]) == {reader.pk: "de"}
    # The preferences page says which language is in effect, and why.
    page = client.get(reverse("account-preferences"), HTTP_ACCEPT_LANGUAGE=GERMAN_BROWSER)
    help_text = str(page.context["form"].fields["language"].help_text)
    assert "Deutsch" in help_text and "Browser" in help_text

    notify.statement_issued(statement_id=make_statement(personas.contract).pk)

    title, subject = _statement_notice(reader)
    assert title.startswith("Abrechnung ACME-1") and subject.startswith("Abrechnung ACME-1")
    title, subject = _statement_notice(colleague)
    assert title.startswith("Statement ACME-1") and subject.startswith("Statement ACME-1")
    # Each writes the figures as their language does (the fees of 3,000.00 EUR).
    german = Delivery.objects.get(recipient=reader.email, channel=Delivery.Channel.EMAIL)
    english = Delivery.objects.get(recipient=colleague.email, channel=Delivery.Channel.EMAIL)
    assert "3.000,00 EUR" in german.email["text"] and "3,000.00" not in german.email["text"]
    assert "3,000.00 EUR" in english.email["text"] and "3.000,00" not in english.email["text"]


def test_one_who_chose_english_keeps_english_with_a_german_browser(client, personas):
    reader = personas.customer_member
    Profile.objects.create(user=reader, language="en")
    client.force_login(reader)

    page = client.get(reverse("account-preferences"), HTTP_ACCEPT_LANGUAGE=GERMAN_BROWSER)

    assert page["Content-Language"] == "en"
    assert Profile.objects.get(user=reader).browser_language == ""
    assert "your own choice" in str(page.context["form"].fields["language"].help_text)
    notify.statement_issued(statement_id=make_statement(personas.contract).pk)
    title, subject = _statement_notice(reader)
    assert title.startswith("Statement ACME-1") and subject.startswith("Statement ACME-1")


def test_the_browser_language_is_written_once_per_change_never_per_request(
    client, personas, django_assert_num_queries
):
    reader = personas.customer_member
    client.force_login(reader)
    url = reverse("account-preferences")
    client.get(url, HTTP_ACCEPT_LANGUAGE=GERMAN_BROWSER)
    with CaptureQueriesContext(connection) as without_header:
        client.get(url)

    # Unchanged: as many queries as a request that asks for nothing, none of them a write.
    with django_assert_num_queries(len(without_header)) as asked:
        client.get(url, HTTP_ACCEPT_LANGUAGE=GERMAN_BROWSER)
    assert not [q for q in asked.captured_queries if q["sql"].startswith("UPDATE")]

    # Changed: one update of the profile.
    with CaptureQueriesContext(connection) as changed:
        client.get(url, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    profile_updates = [
        q for q in changed.captured_queries if q["sql"].startswith('UPDATE "people_profile"')
    ]
    assert len(profile_updates) == 1
    assert Profile.objects.get(user=reader).browser_language == "en"


def test_an_early_warning_reaches_a_german_reader_in_german_with_the_same_figures():
    c, _cs = book()
    german_reader, english_reader = UserFactory(), UserFactory()
    for user in (german_reader, english_reader):
        MembershipFactory(user=user, organization=c.provider, role=Membership.Role.VIEWER)
    Profile.objects.create(user=german_reader, browser_language="de")

    warnings = warn_early(contract=c, now=NOW)
    notify.early_warnings(warning_ids=[warning.pk for warning in warnings])

    def told(user, warning) -> tuple[Notification, dict]:
        event_id = notify.event_id_for("early_warning", warning.pk)
        notification = Notification.objects.get(user=user, event_id=event_id)
        email = Delivery.objects.get(
            recipient=user.email, channel=Delivery.Channel.EMAIL, event_id=event_id
        )
        return notification, email.email

    assert warnings
    for warning in warnings:
        german, german_email = told(german_reader, warning)
        english, english_email = told(english_reader, warning)
        assert english.body == warning.message  # the site's text, as kept
        assert german.body != english.body
        assert german.title.startswith("Frühwarnung")
        assert numbers(german.body, "de") == numbers(english.body, "en")
        assert numbers(german.title, "de") == numbers(english.title, "en")
        assert german.body in german_email["text"]
        assert numbers(german_email["text"], "de") == numbers(english_email["text"], "en")


def test_the_contract_page_shows_an_early_warning_in_the_readers_language(client):
    c, _cs = book()
    editor = UserFactory()
    MembershipFactory(user=editor, organization=c.provider, role=Membership.Role.EDITOR)
    Profile.objects.create(user=editor, language="de")
    warnings = warn_early(contract=c, now=NOW)
    assert warnings
    client.force_login(editor)

    page = client.get(reverse("contract-detail", args=[c.pk])).content.decode()

    with translation.override("de"):
        german = [warning.message_text for warning in warnings]
    for warning, text in zip(warnings, german, strict=True):
        assert text != warning.message
        assert escape(text) in page
        assert escape(warning.message) not in page
