"""Tickets in bulk: upserted by (contract service, reference), stored whole or rejected
whole with every bad item named, in a fixed number of queries whatever the batch size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import Ticket, TicketClock, TicketEvent
from contracts.services import MAX_BATCH, BatchRejected, record_tickets
from contracts.services.ticket_clocks import ClockTerms, build_clock_set
from tests.factories import ContractServiceFactory
from tests.factories import ticket_payload as ticket

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def cs(personas):
    return personas.contract.services.get()


def record(user, items):
    return record_tickets(user=user, items=items, now=NOW).as_dict()


def history(reference="INC-1"):
    return [
        (e.at.isoformat(), e.status)
        for e in TicketEvent.objects.filter(ticket__reference=reference).order_by("at", "pk")
    ]


def rejected(user, items) -> set[tuple[int, str]]:
    with pytest.raises(BatchRejected) as caught:
        record_tickets(user=user, items=items, now=NOW)
    assert all(error.message for error in caught.value.errors)
    return {(error.index, error.field) for error in caught.value.errors}


def test_new_tickets_are_created_with_their_history(personas, cs):
    result = record(personas.provider_editor, [ticket(cs), ticket(cs, "INC-2", events=[])])
    assert result == {"created": 2, "updated": 0, "unchanged": 0}
    stored = Ticket.objects.get(reference="INC-1")
    assert stored.contract_service == cs
    assert stored.opened_at.isoformat() == "2026-11-03T09:00:00+00:00"
    assert stored.title == "Mail is down"
    assert history() == [
        ("2026-11-03T09:00:00+00:00", "open"),
        ("2026-11-03T10:00:00+00:00", "waiting_on_customer"),
        ("2026-11-03T13:00:00+00:00", "in_progress"),
        ("2026-11-03T15:30:00+00:00", "resolved"),
    ]
    assert history("INC-2") == []


def test_the_same_ticket_sent_again_changes_nothing(personas, cs):
    record(personas.provider_editor, [ticket(cs)])
    before = list(Ticket.objects.values())
    events = list(TicketEvent.objects.values())
    # The same instants written with another offset are the same ticket.
    again = ticket(cs, opened_at="2026-11-03T09:00:00+00:00")
    assert record(personas.provider_editor, [again]) == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
    }
    assert list(Ticket.objects.values()) == before
    assert list(TicketEvent.objects.values()) == events


def test_a_changed_ticket_replaces_its_fields_and_its_history(personas, cs):
    record(personas.provider_editor, [ticket(cs), ticket(cs, "INC-2")])
    reopened = ticket(
        cs,
        priority="P2",
        title="",
        resolved_at="2026-11-04T12:00:00+01:00",
        events=[
            {"at": "2026-11-03T10:00:00+01:00", "status": "open"},
            {"at": "2026-11-03T16:30:00+01:00", "status": "resolved"},
            {"at": "2026-11-04T09:00:00+01:00", "status": "reopened"},
            {"at": "2026-11-04T12:00:00+01:00", "status": "resolved"},
        ],
    )
    result = record(personas.provider_editor, [reopened, ticket(cs, "INC-2"), ticket(cs, "INC-3")])
    assert result == {"created": 1, "updated": 1, "unchanged": 1}
    stored = Ticket.objects.get(reference="INC-1")
    assert (stored.priority, stored.title) == ("P2", "")
    assert stored.resolved_at.isoformat() == "2026-11-04T11:00:00+00:00"
    assert [status for _, status in history()] == ["open", "resolved", "reopened", "resolved"]
    assert len(history("INC-2")) == 4
    assert Ticket.objects.count() == 3


def test_a_changed_history_alone_updates_the_ticket(personas, cs):
    record(personas.provider_editor, [ticket(cs)])
    shorter = ticket(cs, events=[{"at": "2026-11-03T10:00:00+01:00", "status": "open"}])
    assert record(personas.provider_editor, [shorter])["updated"] == 1
    assert history() == [("2026-11-03T09:00:00+00:00", "open")]
    assert record(personas.provider_editor, [ticket(cs, events=[])])["updated"] == 1
    assert history() == []


def test_the_same_reference_on_two_services_is_two_tickets(personas, cs):
    second = ContractServiceFactory(contract=personas.contract)
    result = record(personas.provider_editor, [ticket(cs), ticket(second)])
    assert result == {"created": 2, "updated": 0, "unchanged": 0}


def test_events_may_come_as_the_csv_cell(personas, cs):
    cell = (
        "open@2026-11-03T10:00:00+01:00; waiting_on_customer@2026-11-03T11:00:00+01:00;"
        "in_progress@2026-11-03T14:00:00+01:00;resolved@2026-11-03T16:30:00+01:00;"
    )
    record(personas.provider_editor, [ticket(cs, events=cell, first_response_at="")])
    assert [status for _, status in history()] == [
        "open",
        "waiting_on_customer",
        "in_progress",
        "resolved",
    ]
    assert Ticket.objects.get().first_response_at is None
    # The JSON list of the same history is the same ticket.
    assert record(personas.provider_editor, [ticket(cs, first_response_at=None)]) == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
    }


def test_one_bad_item_stores_nothing_of_the_batch(personas, cs):
    record(personas.provider_editor, [ticket(cs)])
    items = [ticket(cs, title="Changed"), ticket(cs, "INC-2"), ticket(cs, "INC-3", priority="P9")]
    assert rejected(personas.provider_editor, items) == {(2, "priority")}
    assert list(Ticket.objects.values_list("reference", "title")) == [("INC-1", "Mail is down")]
    assert len(history()) == 4


WRONG = [
    ({"contract_service": 10**6}, "contract_service"),
    ({"contract_service": "five"}, "contract_service"),
    ({"reference": ""}, "reference"),
    ({"reference": "x" * 101}, "reference"),
    ({"priority": "P9"}, "priority"),
    ({"priority": None}, "priority"),
    ({"title": 7}, "title"),
    ({"title": "a\x00b"}, "title"),
    ({"opened_at": "2026-11-03T10:00:00"}, "opened_at"),
    ({"opened_at": "2026-11-03"}, "opened_at"),
    ({"opened_at": "yesterday"}, "opened_at"),
    ({"opened_at": None}, "opened_at"),
    ({"first_response_at": "2026-11-03T09:59:00+01:00"}, "first_response_at"),
    ({"first_response_at": "2026-11-03T17:00:00+01:00"}, "first_response_at"),
    ({"resolved_at": "2026-11-03T09:00:00+01:00"}, "resolved_at"),
    ({"resolved_at": "2026-11-03T16:30:00"}, "resolved_at"),
    ({"resolved_at": "2026-12-03T16:30:00+01:00"}, "resolved_at"),
    ({"events": "open"}, "events[0]"),
    ({"events": {"at": "2026-11-03T10:00:00+01:00"}}, "events"),
    ({"events": [{"at": "2026-11-03T10:00:00+01:00", "status": "paused"}]}, "events[0].status"),
    ({"events": [{"at": "2026-11-03T10:00:00", "status": "open"}]}, "events[0].at"),
    ({"events": [{"at": "2026-11-03T09:00:00+01:00", "status": "open"}]}, "events[0].at"),
    ({"events": [{"at": "2026-12-03T09:00:00+01:00", "status": "open"}]}, "events[0].at"),
    ({"events": [{"at": "2026-11-03T10:00:00+01:00", "status": "open", "by": 1}]}, "events[0]"),
    ({"events": ["open"]}, "events[0]"),
    ({"colour": "blue"}, "non_field_errors"),
]


@pytest.mark.parametrize(("change", "field"), WRONG, ids=[str(c) for c, _ in WRONG])
def test_a_bad_field_names_the_item_and_the_field(personas, cs, change, field):
    items = [ticket(cs, "GOOD"), ticket(cs, **change)]
    assert rejected(personas.provider_editor, items) == {(1, field)}
    assert not Ticket.objects.exists()


def test_events_out_of_order_name_the_event(personas, cs):
    events = [
        {"at": "2026-11-03T10:00:00+01:00", "status": "open"},
        {"at": "2026-11-03T12:00:00+01:00", "status": "waiting_on_customer"},
        {"at": "2026-11-03T12:00:00+01:00", "status": "in_progress"},  # same instant: fine
        {"at": "2026-11-03T11:00:00+01:00", "status": "resolved"},
    ]
    with pytest.raises(BatchRejected) as caught:
        record_tickets(user=personas.provider_editor, items=[ticket(cs, events=events)], now=NOW)
    [error] = caught.value.errors
    assert (error.index, error.field) == (0, "events[3].at")
    assert "earlier than the event before it" in error.message


def test_an_unknown_priority_names_the_contracts_codes(personas, cs):
    personas.contract.ticket_priorities = ["P1", "P2", "P3", "P4"]
    personas.contract.save()
    with pytest.raises(BatchRejected) as caught:
        record_tickets(user=personas.provider_editor, items=[ticket(cs, priority="P9")], now=NOW)
    assert [e.as_dict() for e in caught.value.errors] == [
        {
            "index": 0,
            "field": "priority",
            "message": "unknown priority 'P9'; this contract knows P1, P2, P3, P4",
        }
    ]


def test_a_contract_with_its_own_priorities_refuses_the_defaults(personas, cs):
    personas.contract.ticket_priorities = ["critical", "normal"]
    personas.contract.save()
    assert rejected(personas.provider_editor, [ticket(cs)]) == {(0, "priority")}
    assert record(personas.provider_editor, [ticket(cs, priority="critical")])["created"] == 1


def test_a_reference_twice_in_one_batch_is_refused(personas, cs):
    items = [ticket(cs), ticket(cs, "INC-2"), ticket(cs, title="Again")]
    with pytest.raises(BatchRejected) as caught:
        record_tickets(user=personas.provider_editor, items=items, now=NOW)
    [error] = caught.value.errors
    assert (error.index, error.field) == (2, "reference")
    assert "also item 0" in error.message
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"reference": "INC-1"}, "expected a list of tickets"),
        ("INC-1", "expected a list of tickets"),
        ([], "the batch is empty"),
        ([{}] * (MAX_BATCH + 1), "at most 10,000 tickets per batch"),
    ],
    ids=["object", "text", "empty", "too-many"],
)
def test_a_batch_that_is_not_a_list_of_at_most_ten_thousand_is_refused(personas, items, message):
    with pytest.raises(BatchRejected) as caught:
        record_tickets(user=personas.provider_editor, items=items, now=NOW)
    assert [e.as_dict() for e in caught.value.errors] == [
        {"index": 0, "field": "non_field_errors", "message": message}
    ]


def test_a_contract_service_outside_the_users_scope_reads_as_missing(personas, cs):
    other = personas.other_contract.services.get()
    for user, contract_service in [
        (personas.provider_editor, other),
        (personas.other_provider_member, cs),
        (personas.customer_member, cs),
        (personas.provider_viewer, cs),
    ]:
        with pytest.raises(BatchRejected) as caught:
            record_tickets(user=user, items=[ticket(contract_service)], now=NOW)
        assert [e.as_dict() for e in caught.value.errors] == [
            {
                "index": 0,
                "field": "contract_service",
                "message": f"contract service {contract_service.pk} does not exist",
            }
        ]
    assert not Ticket.objects.exists()


def test_a_draft_contract_takes_tickets_from_its_provider(personas):
    draft_cs = ContractServiceFactory(contract=personas.draft_contract)
    assert record(personas.provider_editor, [ticket(draft_cs)])["created"] == 1


def _batch(cs, size, title="Mail is down"):
    return [ticket(cs, f"INC-{i}", title=title) for i in range(size)]


def _queries(user, items) -> int:
    with CaptureQueriesContext(connection) as captured:
        record_tickets(user=user, items=items, now=NOW)
    return len(captured.captured_queries)


def test_a_batch_takes_the_same_queries_whatever_its_size(personas, cs):
    editor = personas.provider_editor
    other = ContractServiceFactory(contract=personas.contract)
    one = _queries(editor, _batch(other, 1))
    thousand = _queries(editor, _batch(cs, 1000))
    # Savepoint, services, the contracts locked against settlement, their kept clock
    # sets (none), stored tickets, upsert, old events, release (the events' COPY is not
    # counted).
    assert one == thousand <= 8
    assert TicketEvent.objects.count() == 4004
    # Sending it all again reads the tickets and their histories, and writes nothing.
    unchanged = _queries(editor, _batch(cs, 1000))
    assert unchanged <= 7
    changed = _queries(editor, _batch(cs, 1000, title="Mail is back"))
    assert changed <= thousand
    assert Ticket.objects.filter(title="Mail is back").count() == 1000
    assert TicketEvent.objects.count() == 4004


def test_a_batch_keeps_the_kept_clocks_in_the_same_queries_whatever_its_size(personas, cs):
    editor = personas.provider_editor
    other = ContractServiceFactory(contract=personas.contract)
    for service in (cs, other):
        build_clock_set(service.pk, ClockTerms("resolution", 14_400, None, "P1"), now=NOW)

    one = _queries(editor, _batch(other, 1))
    thousand = _queries(editor, _batch(cs, 1000))

    # As without kept clocks, and: keeping them said to the database (twice), the
    # tickets and events read back, the old clocks deleted (the new ones' COPY is not
    # counted).
    assert one == thousand <= 13
    assert TicketClock.objects.filter(clock_set__contract_service=cs).count() == 1000


def test_operators_read_tickets_in_the_admin_and_delete_them_with_their_events(
    personas, cs, client
):
    record(personas.provider_editor, [ticket(cs), ticket(cs, "INC-2")])
    client.force_login(personas.operator)
    first = Ticket.objects.get(reference="INC-1")
    changelist = client.get(reverse("admin:contracts_ticket_changelist"))
    assert changelist.status_code == 200
    assert b"INC-2" in changelist.content
    page = client.get(reverse("admin:contracts_ticket_change", args=[first.pk]))
    assert page.status_code == 200
    assert b"waiting_on_customer" in page.content or b"Waiting on the customer" in page.content
    assert b'name="_save"' not in page.content  # read only: tickets enter through the API
    assert client.get(reverse("admin:contracts_ticket_add")).status_code == 403
    deleted = client.post(
        reverse("admin:contracts_ticket_delete", args=[first.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert list(Ticket.objects.values_list("reference", flat=True)) == ["INC-2"]
    assert TicketEvent.objects.count() == 4
