"""One open dispute per line, held by the database as well as by the service."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from credits.models import Dispute, StatementLine
from credits.services import open_dispute
from tests.credits.test_notify import make_statement
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


@pytest.fixture
def line(personas) -> StatementLine:
    return make_statement(personas.contract).lines.get()


def test_the_database_refuses_a_second_open_dispute_on_a_line(line, customer_editor):
    open_dispute(line=line, user=customer_editor, reason="Planned outage.")

    # Written past the service, as a racing request would: the constraint still holds.
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(line=line, reason="Again.", opened_by=customer_editor)

    assert Dispute.objects.filter(line=line, status="open").count() == 1
