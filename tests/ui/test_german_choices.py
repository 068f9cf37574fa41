"""The credits models' choice labels in the reader's language (the audit of #16: "Statement
issued" in the German notification inbox, "Open" in the German claim filter), and a refused
second dispute of a line said in the reader's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from credits.models import Dispute, Notification
from credits.services import open_dispute, resolve_dispute
from tests.factories import MembershipFactory, UserFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def test_the_models_choices_are_labelled_in_the_readers_language(personas, client):
    Notification.objects.create(
        user=personas.customer_member,
        organization=personas.customer,
        event=Notification.Event.STATEMENT_ISSUED,
        title="Abrechnung ACME-1",
        link="/statements/1/",
    )
    client.force_login(personas.customer_member)
    inbox = page_text(client.get(reverse("notification-inbox"), **GERMAN).content.decode())
    assert "Abrechnung erstellt" in inbox and "Statement issued" not in inbox
    claims = client.get(reverse("claim-list"), **GERMAN).content.decode()
    options = re.findall(r'<option value="(?:open|accepted|rejected)"[^>]*>([^<]+)<', claims)
    assert options == ["Offen", "Angenommen", "Abgelehnt"]
    with translation.override("de"):
        assert str(Notification.Event.EARLY_WARNING.label) == "Frühwarnung"
    with translation.override("en"):
        assert str(Notification.Event.EARLY_WARNING.label) == "Early warning"


@time_machine.travel(datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False)
def test_a_refused_second_dispute_says_why_in_the_readers_language(personas, settled):
    _, statement = settled
    line = statement.lines.get()
    editor = UserFactory()
    MembershipFactory(user=editor, organization=personas.customer, role="editor")
    dispute = open_dispute(line=line, user=editor, reason="Late data.")
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
    )
    with translation.override("de"), pytest.raises(ValidationError) as refused:
        open_dispute(line=line, user=editor, reason="Again.")
    (message,) = refused.value.message_dict["line"]
    assert message.startswith("Der Einspruch gegen diese Position wurde am 2026-12-10 abgelehnt")
    assert Dispute.objects.count() == 1
