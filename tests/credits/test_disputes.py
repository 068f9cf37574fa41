"""A customer disputes a statement line, the provider accepts or rejects it, both are told,
and the history is kept."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from credits.models import Delivery, Dispute, Notification, StatementLine
from credits.services import open_dispute, resolve_dispute
from tests.credits.test_notify import (
    eager_tasks,  # noqa: F401 - fixture
    make_statement,
    members_of,
)
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


@pytest.fixture
def line(personas) -> StatementLine:
    return make_statement(personas.contract).lines.get()


@pytest.fixture
def dispute(line, customer_editor) -> Dispute:
    return open_dispute(line=line, user=customer_editor, reason="The outage was planned.")


def test_a_customer_editor_opens_a_dispute_and_both_parties_are_told(
    personas, line, customer_editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = open_dispute(
            line=line, user=customer_editor, reason="  The outage was announced maintenance. "
        )

    assert (dispute.status, dispute.opened_by) == ("open", customer_editor)
    assert dispute.reason == "The outage was announced maintenance."
    notified = Notification.objects.filter(event="dispute_opened")
    # Everyone but the person who opened it: they know.
    assert {n.user_id for n in notified} == members_of(personas.provider, personas.customer) - {
        customer_editor.pk
    }
    assert notified[0].title.startswith("Dispute opened: Availability")
    assert notified[0].link == f"/statements/{line.statement_id}/#line-{line.pk}"


@pytest.mark.usefixtures("eager_tasks")
def test_nothing_is_sent_before_the_dispute_is_committed(
    line, customer_editor, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        open_dispute(line=line, user=customer_editor, reason="Planned outage.")

    assert mailoutbox == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == Delivery.objects.filter(channel="email").count() > 0


def test_a_dispute_rolled_back_tells_nobody(line, customer_editor):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        open_dispute(line=line, user=customer_editor, reason="Planned outage.")
        raise Abort

    assert not Dispute.objects.exists()
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_a_second_open_dispute_on_the_same_line_is_refused(line, customer_editor, dispute):
    with pytest.raises(ValidationError) as excinfo:
        open_dispute(line=line, user=customer_editor, reason="Again.")

    assert excinfo.value.message_dict == {"line": ["This line already has an open dispute."]}
    assert Dispute.objects.count() == 1


def test_a_resolved_dispute_is_not_opened_again_on_the_same_line(
    personas, line, customer_editor, dispute
):
    # New grounds are a new revision (its lines can be disputed) or the provider
    # reopening the dispute; the same line cannot be disputed again and again, each time
    # notifying the provider.
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="Not so."
    )
    told = Notification.objects.filter(event="dispute_opened").count()

    for _ in range(2):
        with pytest.raises(ValidationError) as excinfo:
            open_dispute(line=line, user=customer_editor, reason="New evidence.")

    (message,) = excinfo.value.message_dict["line"]
    assert message.startswith("This line's dispute was rejected on ")
    assert "ask the provider to reopen it" in message
    assert Dispute.objects.count() == 1
    assert Notification.objects.filter(event="dispute_opened").count() == told


def test_a_customer_viewer_cannot_open_a_dispute(personas, line):
    with pytest.raises(PermissionDenied):
        open_dispute(line=line, user=personas.customer_member, reason="I disagree.")
    assert not Dispute.objects.exists()


def test_the_provider_cannot_dispute_its_own_statement(personas, line):
    with pytest.raises(PermissionDenied):
        open_dispute(line=line, user=personas.provider_editor, reason="Self-dispute.")


def test_another_customer_cannot_even_find_the_line(personas, line):
    with pytest.raises(StatementLine.DoesNotExist):
        open_dispute(line=line, user=personas.other_customer_member, reason="Not mine.")
    with pytest.raises(StatementLine.DoesNotExist):
        open_dispute(line=line.pk, user=personas.anonymous, reason="Not mine.")
    assert not Dispute.objects.exists()


def test_a_dispute_needs_a_reason(line, customer_editor):
    with pytest.raises(ValidationError) as excinfo:
        open_dispute(line=line, user=customer_editor, reason="   ")
    assert "reason" in excinfo.value.message_dict


def test_an_operator_may_open_a_dispute(personas, line):
    dispute = open_dispute(line=line, user=personas.operator, reason="Raised by phone.")
    assert dispute.opened_by == personas.operator


def test_a_provider_viewer_cannot_resolve_a_dispute(personas, dispute):
    with pytest.raises(PermissionDenied):
        resolve_dispute(
            dispute=dispute, user=personas.provider_viewer, status="accepted", resolution="Yes."
        )
    dispute.refresh_from_db()
    assert dispute.status == "open"


def test_the_customer_cannot_resolve_its_own_dispute(customer_editor, dispute):
    with pytest.raises(PermissionDenied):
        resolve_dispute(dispute=dispute, user=customer_editor, status="accepted", resolution="!")


def test_another_provider_cannot_find_the_dispute(personas, dispute):
    with pytest.raises(Dispute.DoesNotExist):
        resolve_dispute(
            dispute=dispute,
            user=personas.other_provider_member,
            status="accepted",
            resolution="Yes.",
        )


def test_a_provider_editor_accepts_with_a_resolution_and_both_parties_are_told(
    personas, dispute, customer_editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        resolved = resolve_dispute(
            dispute=dispute,
            user=personas.provider_editor,
            status="accepted",
            resolution="  Agreed: a credit note follows. ",
            remedy="correction",
        )

    resolved.refresh_from_db()
    assert resolved.status == "accepted"
    assert resolved.resolution == "Agreed: a credit note follows."
    assert resolved.resolved_by == personas.provider_editor
    assert resolved.resolved_at is not None
    notified = Notification.objects.filter(event="dispute_resolved")
    # Everyone of both parties but the editor who resolved it.
    assert {n.user_id for n in notified} == members_of(personas.provider, personas.customer) - {
        personas.provider_editor.pk
    }
    assert notified[0].title.startswith("Dispute accepted:")
    assert "Agreed: a credit note follows." in notified[0].body


def test_a_resolution_is_required_and_the_status_must_be_accepted_or_rejected(personas, dispute):
    with pytest.raises(ValidationError) as excinfo:
        resolve_dispute(
            dispute=dispute, user=personas.provider_editor, status="open", resolution=""
        )

    assert set(excinfo.value.message_dict) == {"status", "resolution"}
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolved_at) == ("open", None)


def test_a_resolved_dispute_cannot_be_resolved_again(personas, dispute):
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
    )

    with pytest.raises(ValidationError) as excinfo:
        resolve_dispute(
            dispute=dispute, user=personas.provider_admin, status="accepted", resolution="Yes."
        )

    assert "status" in excinfo.value.message_dict
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolution) == ("rejected", "No.")


def test_the_history_of_a_dispute_is_kept_with_who_did_what(personas, dispute, customer_editor):
    resolve_dispute(
        dispute=dispute, user=personas.provider_editor, status="rejected", resolution="No."
    )

    history = list(dispute.history.order_by("history_date"))
    assert [(h.status, h.history_user) for h in history] == [
        ("open", customer_editor),
        ("rejected", personas.provider_editor),
    ]
    assert history[0].reason == "The outage was planned."


@pytest.mark.usefixtures("eager_tasks")
def test_dispute_emails_escape_what_the_customer_wrote(
    line, customer_editor, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_dispute(line=line, user=customer_editor, reason="<script>alert(1)</script> & co")

    message = mailoutbox[0]
    [(html, _)] = message.alternatives
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<script>alert(1)</script> & co" in message.body
