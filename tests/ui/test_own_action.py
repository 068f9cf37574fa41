"""Nobody is told of their own action: the member who opens a dispute, resolves it, records
or contests a lapse gets no notification, digest item or e-mail of it; everyone else of
both parties still does (regression: the customer was notified of the dispute they
opened)."""

from __future__ import annotations

import pytest

from credits.models import Delivery, Notification
from credits.services import open_dispute, resolve_dispute
from tests.credits.test_notify import make_statement, members_of
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_member_who_acts_is_not_told_of_it(personas, django_capture_on_commit_callbacks):
    opener = UserFactory(username="opener", email="opener@globex.test")
    MembershipFactory(user=opener, organization=personas.customer, role="editor")
    line = make_statement(personas.contract).lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        dispute = open_dispute(line=line, user=opener, reason="Planned outage.")
    opened = Notification.objects.filter(event="dispute_opened")
    everyone = members_of(personas.provider, personas.customer)
    assert {n.user_id for n in opened} == everyone - {opener.pk}
    assert not Delivery.objects.filter(event="dispute_opened", recipient=opener.email).exists()

    with django_capture_on_commit_callbacks(execute=True):
        resolve_dispute(
            dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
        )
    resolved = Notification.objects.filter(event="dispute_resolved")
    assert {n.user_id for n in resolved} == everyone - {personas.provider_editor.pk}
    assert opener.pk in {n.user_id for n in resolved}
