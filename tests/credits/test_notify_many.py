"""Announcing many statements at once (a sweep's chunk): the rows go by COPY
(slaportal.db.insert_new) and say exactly what the small path's bulk insert writes; a second
publication adds nothing; the queries do not grow with the statements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contracts.models import Membership
from credits import notify
from credits.models import Delivery, EmailContent, Notification
from slaportal.db import insert_new
from tests.credits.test_notify import make_statement
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rows(model: Any) -> list[tuple]:
    """Every row but its id and times (of its own writing), in a stable order."""
    fields = [
        f.attname
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in ("created_at", "next_attempt_at")
    ]
    return sorted(
        (tuple(str(value) for value in row) for row in model.objects.values_list(*fields)),
    )


def _announce(personas: Any, count: int, first_revision: int) -> list[int]:
    statements = [
        make_statement(personas.contract, revision=revision)
        for revision in range(first_revision, first_revision + count)
    ]
    notify.statements_issued([statement.pk for statement in statements])
    return [statement.pk for statement in statements]


@pytest.fixture
def members(personas):
    for n in range(8):
        MembershipFactory(
            user=UserFactory(username=f"globex-{n}"),
            organization=personas.customer,
            role=Membership.Role.VIEWER,
        )


@pytest.mark.usefixtures("members")
def test_a_large_announcement_writes_what_small_ones_write(personas, monkeypatch):
    # Twelve statements to about a dozen people: well over the 100 rows from which COPY
    # is used; then the same statements' rows written one statement at a time.
    statement_ids = _announce(personas, 12, first_revision=1)
    assert Delivery.objects.count() >= 100
    copied = (_rows(Notification), _rows(Delivery))
    times = set(Delivery.objects.values_list("created_at", "next_attempt_at"))

    Notification.objects.all().delete()
    Delivery.objects.all().delete()
    for statement_id in statement_ids:
        notify.statements_issued([statement_id])
    # Each of these wrote fewer than 100 rows: the bulk insert.
    assert Delivery.objects.count() / len(statement_ids) < 100

    assert (_rows(Notification), _rows(Delivery)) == copied
    assert all(None not in moments for moments in times)


@pytest.mark.usefixtures("members")
def test_a_large_announcement_published_again_adds_nothing(personas):
    statement_ids = _announce(personas, 12, first_revision=1)
    before = (Notification.objects.count(), Delivery.objects.count())

    notify.statements_issued(statement_ids)

    assert (Notification.objects.count(), Delivery.objects.count()) == before


@pytest.mark.usefixtures("members")
def test_announcing_more_statements_takes_no_more_queries(personas):
    def queries(count: int, first_revision: int) -> int:
        statements = [
            make_statement(personas.contract, revision=revision)
            for revision in range(first_revision, first_revision + count)
        ]
        with CaptureQueriesContext(connection) as captured:
            notify.statements_issued([statement.pk for statement in statements])
        return len(captured)

    # Both over the COPY threshold: 12 and 24 statements, ~130 and ~260 deliveries.
    assert queries(12, first_revision=1) == queries(24, first_revision=20)


def test_insert_new_twice_in_one_transaction_copies_each_time(personas):
    def notification(user: Any, event_id: uuid.UUID) -> Notification:
        return Notification(
            event_id=event_id,
            user=user,
            organization=personas.provider,
            event="statement_issued",
            title="Statement issued",
            body="Tab\there, a new line\nand a back\\slash",
            link="/statements/1/",
        )

    users = [UserFactory(username=f"reader-{n}") for n in range(3)]
    first, second = uuid.uuid4(), uuid.uuid4()
    with transaction.atomic():
        insert_new([notification(user, first) for user in users], copy_from=1)
        insert_new([notification(user, first) for user in users[:2]], copy_from=1)
        insert_new([notification(user, second) for user in users[:2]], copy_from=1)

    assert Notification.objects.filter(event_id=first).count() == 3
    assert Notification.objects.filter(event_id=second).count() == 2
    assert set(Notification.objects.values_list("body", flat=True)) == {
        "Tab\there, a new line\nand a back\\slash"
    }
    assert not Notification.objects.filter(created_at__isnull=True).exists()


def test_rows_copied_are_stored_as_a_bulk_insert_stores_them(personas):
    """COPY writes most values as the instance holds them (slaportal.db._value_for_copy):
    a choice, a foreign key, JSON, a timestamp and an automatic one come out as Django's
    own INSERT writes them."""
    at = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)

    def delivery(event_id: uuid.UUID) -> Delivery:
        return Delivery(
            event_id=event_id,
            event="statement_issued",
            channel=Delivery.Channel.EMAIL,
            organization=personas.provider,
            recipient="ann@example.com",
            payload={"subject": "Ünicode ✓", "text": "a\tb\nc\\d", "html": "<p>€</p>"},
            next_attempt_at=at,
        )

    copied, inserted = uuid.uuid4(), uuid.uuid4()
    insert_new([delivery(copied)], copy_from=1)
    insert_new([delivery(inserted)], copy_from=2)

    fields = [f.attname for f in Delivery._meta.concrete_fields if f.attname not in ("id",)]
    rows = {row.pop("event_id"): row for row in Delivery.objects.values(*fields).order_by("pk")}
    assert rows[copied].pop("created_at") and rows[inserted].pop("created_at")
    assert rows[copied] == rows[inserted]
    assert rows[copied]["channel"] == "email" and rows[copied]["next_attempt_at"] == at


@pytest.mark.usefixtures("members")
def test_the_members_of_an_organisation_reading_alike_share_one_stored_email(personas):
    statement = make_statement(personas.contract)
    notify.statement_issued(statement_id=statement.pk)
    notify.statement_issued(statement_id=statement.pk)

    emails = list(Delivery.objects.filter(channel="email").select_related("content"))
    by_organisation: dict[int, set[uuid.UUID]] = {}
    for email in emails:
        by_organisation.setdefault(email.organization_id, set()).add(email.content_id)
        assert email.payload == {}
    # One stored e-mail per organisation, however many of its members receive it, and
    # none more for the same event published again.
    assert {pk: len(ids) for pk, ids in by_organisation.items()} == {
        personas.provider.pk: 1,
        personas.customer.pk: 1,
    }
    assert EmailContent.objects.count() == 2
    assert len([e for e in emails if e.organization_id == personas.customer.pk]) >= 9
    customer = next(e for e in emails if e.organization_id == personas.customer.pk)
    assert f"a member of {personas.customer.name}" in customer.email["text"]


@pytest.mark.parametrize("copy_from", [1, 100], ids=["copied", "inserted"])
def test_an_emails_long_parts_are_stored_as_their_columns_compress(copy_from):
    # credits 0025 sets lz4 on the parts where the server has it; a COPY goes through a
    # scratch table, which must compress as the table does (values move on as they are).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = 'credits_emailcontent'::regclass AND attname = 'html'"
        )
        expected = {"l": "lz4", "p": "pglz", "": "pglz"}[cursor.fetchone()[0]]
    long = "<p>Availability 99.95 % against 99.9 %</p>\n" * 300
    insert_new(
        [EmailContent(id=uuid.uuid4(), subject="s", text=long, html=long) for _ in range(3)],
        copy_from=copy_from,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT pg_column_compression(text), pg_column_compression(html)"
            " FROM credits_emailcontent"
        )
        assert cursor.fetchall() == [(expected, expected)]
    assert EmailContent.objects.filter(html=long).count() == 3
