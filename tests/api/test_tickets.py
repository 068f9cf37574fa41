"""Tickets through the API: one object, a JSON list or CSV, upserted by reference and
stored whole or refused whole with every bad item named; read back by the parties."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contracts.models import Ticket, TicketEvent
from tests.api.conftest import at, client_for
from tests.factories import ContractServiceFactory
from tests.factories import ticket_payload as ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/"


def detail(pk) -> str:
    return f"{URL}{pk}/"


@pytest.fixture
def cs(personas):
    return personas.contract.services.get()


def post_json(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def post_csv(client, body):
    return client.post(URL, body, content_type="text/csv")


def stored(cs, reference, priority="P1", opened="2026-11-02T09:00:00+00:00", resolved=None):
    return Ticket.objects.create(
        contract_service=cs,
        reference=reference,
        priority=priority,
        opened_at=at(opened),
        resolved_at=at(resolved) if resolved else None,
    )


def test_one_ticket_is_created_and_read_back_with_its_events(personas, cs):
    response = post_json(client_for(personas.provider_editor), ticket(cs))
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    pk = Ticket.objects.get().pk
    body = client_for(personas.customer_member).get(detail(pk)).json()
    updated_at = body.pop("updated_at")
    assert updated_at
    assert body == {
        "id": pk,
        "contract": personas.contract.pk,
        "contract_service": cs.pk,
        "reference": "INC-1",
        "priority": "P1",
        "title": "Mail is down",
        "opened_at": "2026-11-03T09:00:00Z",
        "first_response_at": "2026-11-03T09:10:00Z",
        "resolved_at": "2026-11-03T15:30:00Z",
        "events": [
            {"at": "2026-11-03T09:00:00Z", "status": "open"},
            {"at": "2026-11-03T10:00:00Z", "status": "waiting_on_customer"},
            {"at": "2026-11-03T13:00:00Z", "status": "in_progress"},
            {"at": "2026-11-03T15:30:00Z", "status": "resolved"},
        ],
    }


def test_the_same_list_sent_again_is_unchanged(personas, cs):
    client = client_for(personas.provider_editor)
    items = [ticket(cs, f"INC-{i}") for i in range(3)]
    assert post_json(client, items).json() == {"created": 3, "updated": 0, "unchanged": 0}
    again = post_json(client, items)
    assert again.status_code == 200
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3}
    assert Ticket.objects.count() == 3
    assert TicketEvent.objects.count() == 12


def test_a_changed_ticket_is_updated_and_its_events_replaced(personas, cs):
    client = client_for(personas.provider_editor)
    post_json(client, [ticket(cs), ticket(cs, "INC-2")])
    reopened = ticket(
        cs,
        resolved_at="2026-11-04T12:00:00+01:00",
        events=[
            {"at": "2026-11-03T10:00:00+01:00", "status": "open"},
            {"at": "2026-11-03T16:30:00+01:00", "status": "resolved"},
            {"at": "2026-11-04T09:00:00+01:00", "status": "reopened"},
            {"at": "2026-11-04T12:00:00+01:00", "status": "resolved"},
        ],
    )
    response = post_json(client, [reopened, ticket(cs, "INC-2")])
    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 1}
    body = client.get(detail(Ticket.objects.get(reference="INC-1").pk)).json()
    assert body["resolved_at"] == "2026-11-04T11:00:00Z"
    assert [e["status"] for e in body["events"]] == ["open", "resolved", "reopened", "resolved"]


def test_one_bad_item_stores_nothing_and_is_named(personas, cs):
    client = client_for(personas.provider_editor)
    post_json(client, [ticket(cs)])
    items = [ticket(cs, title="Changed"), ticket(cs, "INC-2"), ticket(cs, "INC-3", priority="P9")]
    response = post_json(client, items)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "index": 2,
                "field": "priority",
                "message": "unknown priority 'P9'; this contract knows P1, P2, P3, P4",
            }
        ]
    }
    assert list(Ticket.objects.values_list("reference", "title")) == [("INC-1", "Mail is down")]
    assert TicketEvent.objects.count() == 4


BAD = [
    ({"priority": "P9"}, "priority", "unknown priority 'P9'"),
    ({"resolved_at": "2026-11-03T09:00:00+01:00"}, "resolved_at", "before the ticket was opened"),
    (
        {"first_response_at": "2026-11-03T09:00:00+01:00"},
        "first_response_at",
        "before the ticket was opened",
    ),
    ({"opened_at": "2026-11-03T10:00:00"}, "opened_at", "needs a UTC offset"),
    ({"opened_at": "soon"}, "opened_at", "ISO 8601"),
    (
        {
            "events": [
                {"at": "2026-11-03T12:00:00+01:00", "status": "open"},
                {"at": "2026-11-03T11:00:00+01:00", "status": "resolved"},
            ]
        },
        "events[1].at",
        "earlier than the event before it",
    ),
    (
        {"events": [{"at": "2026-11-03T09:00:00+01:00", "status": "open"}]},
        "events[0].at",
        "before the ticket was opened",
    ),
    (
        {"events": [{"at": "2026-11-03T10:00:00+01:00", "status": "paused"}]},
        "events[0].status",
        "unknown status 'paused'",
    ),
    (
        {"events": [{"at": "2026-11-03T10:00:00", "status": "open"}]},
        "events[0].at",
        "needs a UTC offset",
    ),
    (
        {
            "events": [
                {"at": "2026-11-03T10:00:00+01:00", "status": "open"},
                {"at": "2026-11-03T16:30:00+01:00", "status": "resolved"},
                {"at": "2026-11-03T17:00:00+01:00", "status": "reopened"},
            ]
        },
        "events[2].at",
        "after the final resolution (resolved_at)",
    ),
    ({"reference": "INC-0"}, "reference", "also item 0 of this batch"),
    ({"contract_service": "five"}, "contract_service", "must be a contract service id"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=[f for _, f, _ in BAD])
def test_each_bad_input_is_a_400_naming_the_item_and_field(personas, cs, change, field, message):
    items = [ticket(cs, "INC-0"), ticket(cs, **change)]
    response = post_json(client_for(personas.provider_editor), items)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert message in error["message"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"INC-1"', "expected a list of tickets"),
        ("[]", "the batch is empty"),
        ("7", "expected a list of tickets"),
    ],
)
def test_a_body_that_is_not_tickets_is_a_400(personas, body, message):
    client = client_for(personas.provider_editor)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message


def test_more_than_ten_thousand_tickets_are_refused(personas, cs):
    items = [ticket(cs, f"INC-{i}", events=[]) for i in range(10_001)]
    response = post_json(client_for(personas.provider_editor), items)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"index": 0, "field": "non_field_errors", "message": "at most 10,000 tickets per batch"}
        ]
    }
    assert not Ticket.objects.exists()


def test_ten_thousand_tickets_with_their_histories_are_recorded_in_one_batch(personas, cs):
    items = [ticket(cs, f"INC-{i}") for i in range(10_000)]
    body = json.dumps(items)
    assert len(body) > 2_621_440  # more than Django's default limit on a body read whole

    response = client_for(personas.provider_editor).post(URL, body, content_type="application/json")

    assert response.status_code == 201, response.content[:500]
    assert response.json() == {"created": 10_000, "updated": 0, "unchanged": 0}
    assert TicketEvent.objects.count() == 40_000


def test_a_body_larger_than_the_api_reads_is_a_400_saying_so(personas, cs, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    items = [ticket(cs, f"INC-{i}") for i in range(3_000)]

    response = post_json(client_for(personas.provider_editor), items)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The body is larger than the 1 MB the API reads at once; "
        "send the items in smaller batches."
    }
    assert not Ticket.objects.exists()


def test_a_provider_sets_a_contracts_own_priority_codes_and_tickets_follow_them(personas, cs):
    client = client_for(personas.provider_editor)
    contract_url = f"/api/v1/contracts/{personas.contract.pk}/"

    changed = client.patch(contract_url, {"ticket_priorities": ["Critical", "High"]})
    critical = post_json(client, [ticket(cs, "INC-1", priority="Critical")])
    p1 = post_json(client, [ticket(cs, "INC-2", priority="P1")])
    bad = client.patch(contract_url, {"ticket_priorities": ["High", "High"]})

    assert changed.status_code == 200, changed.json()
    assert changed.json()["ticket_priorities"] == ["Critical", "High"]
    assert critical.status_code == 201, critical.json()
    assert p1.status_code == 400
    assert p1.json()["errors"][0]["field"] == "priority"
    assert bad.status_code == 400
    assert list(bad.json()) == ["ticket_priorities"]
    personas.contract.refresh_from_db()
    assert personas.contract.ticket_priorities == ["Critical", "High"]
    assert list(Ticket.objects.values_list("reference", flat=True)) == ["INC-1"]


CSV_HEADER = (
    "contract_service,reference,priority,title,opened_at,first_response_at,resolved_at,events\r\n"
)


def test_a_csv_body_holds_one_ticket_a_row_with_its_events_in_one_cell(personas, cs):
    body = (
        CSV_HEADER
        + f"{cs.pk},INC-1,P1,Mail is down,2026-11-03T10:00:00+01:00,2026-11-03T10:10:00+01:00,"
        "2026-11-03T16:30:00+01:00,open@2026-11-03T10:00:00+01:00;"
        "waiting_on_customer@2026-11-03T11:00:00+01:00;in_progress@2026-11-03T14:00:00+01:00;"
        "resolved@2026-11-03T16:30:00+01:00\r\n"
        f'{cs.pk},INC-2,P2,"Slow, but working",2026-11-05T08:00:00+00:00,,,\r\n'
    )
    client = client_for(personas.provider_editor)
    response = post_csv(client, body)
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    second = Ticket.objects.get(reference="INC-2")
    assert (second.title, second.resolved_at, second.events.count()) == (
        "Slow, but working",
        None,
        0,
    )
    # The same ticket sent as JSON is the one the CSV row stored.
    assert post_json(client, ticket(cs)).json()["unchanged"] == 1


def test_a_csv_may_leave_out_the_optional_columns(personas, cs):
    body = f"reference,contract_service,opened_at,priority\n INC-9 ,{cs.pk},2026-11-05T08:00Z,P3\n"
    response = post_csv(client_for(personas.provider_editor), body)
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().reference == "INC-9"


def test_a_csv_with_bad_rows_names_their_index_field_and_line(personas, cs):
    body = (
        CSV_HEADER
        + f"{cs.pk},INC-1,P1,,2026-11-03T10:00:00+01:00,,,open@2026-11-03T10:00:00+01:00\r\n"
        "\r\n"
        f"{cs.pk},INC-2,P1,,2026-11-03T10:00:00+01:00,,,"
        "open@2026-11-03T10:00:00+01:00;paused@2026-11-03T11:00:00+01:00\r\n"
        f"{cs.pk},INC-3,P1,,2026-11-03T10:00:00+01:00,,,open 2026-11-03T10:00:00+01:00\r\n"
    )
    response = post_csv(client_for(personas.provider_editor), body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["line"], e["field"]) for e in errors] == [
        (1, 4, "events[1].status"),
        (2, 5, "events[0]"),
    ]
    assert errors[1]["message"] == "write each event as status@date-time"
    assert not Ticket.objects.exists()


def test_a_csv_without_a_header_is_refused(personas, cs):
    body = f"{cs.pk},INC-1,P1,,2026-11-03T10:00:00+01:00,,,\n"
    response = post_csv(client_for(personas.provider_editor), body)
    assert response.status_code == 400
    assert "contract_service,reference,priority" in response.json()["detail"]


def test_another_providers_contract_service_reads_as_missing(personas, cs):
    other = personas.other_contract.services.get()
    response = post_json(client_for(personas.provider_editor), [ticket(cs), ticket(other)])
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "contract_service",
            "message": f"contract service {other.pk} does not exist",
        }
    ]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("provider_viewer", 403),
        ("customer_member", 403),
        ("other_customer_member", 403),
        ("anonymous", 401),
    ],
)
def test_only_the_providers_editors_send_tickets(personas, cs, persona, expected):
    response = post_json(client_for(getattr(personas, persona)), [ticket(cs)])
    assert response.status_code == expected
    assert not Ticket.objects.exists()


def test_the_parties_read_their_tickets_and_outsiders_get_404(personas, cs):
    mine = stored(cs, "INC-1")
    draft = stored(ContractServiceFactory(contract=personas.draft_contract), "INC-D")
    other = stored(personas.other_contract.services.get(), "UMB-1")

    def listed(user):
        return {t["reference"] for t in client_for(user).get(URL).json()["results"]}

    assert listed(personas.provider_viewer) == {"INC-1", "INC-D"}
    assert listed(personas.customer_member) == {"INC-1"}
    assert listed(personas.other_customer_member) == {"UMB-1"}
    assert listed(personas.operator) == {"INC-1", "INC-D", "UMB-1"}
    customer = client_for(personas.customer_member)
    assert customer.get(detail(mine.pk)).status_code == 200
    assert customer.get(detail(draft.pk)).status_code == 404
    assert customer.get(detail(other.pk)).status_code == 404
    outsider = client_for(personas.other_provider_member).get(detail(mine.pk))
    missing = client_for(personas.other_provider_member).get(detail(10**6))
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json()
    assert client_for(None).get(URL).status_code == 401


def test_tickets_are_never_changed_or_deleted_one_by_one(personas, cs):
    mine = stored(cs, "INC-1")
    client = client_for(personas.provider_editor)
    assert client.patch(detail(mine.pk), {"title": "x"}, format="json").status_code == 405
    assert client.delete(detail(mine.pk)).status_code == 405


def test_the_list_filters_by_contract_service_priority_opening_and_open(personas, cs):
    second = ContractServiceFactory(contract=personas.contract)
    stored(cs, "A", "P1", "2026-11-01T09:00:00+00:00", resolved="2026-11-01T10:00:00+00:00")
    stored(cs, "B", "P2", "2026-11-02T09:00:00+00:00")
    stored(second, "C", "P1", "2026-11-03T09:00:00+00:00")
    stored(personas.other_contract.services.get(), "X", "P1", "2026-11-02T09:00:00+00:00")
    client = client_for(personas.customer_member)

    def listed(**filters):
        response = client.get(URL, filters)
        assert response.status_code == 200, response.content
        return [t["reference"] for t in response.json()["results"]]

    assert listed() == ["C", "B", "A"]  # newest opened first
    assert listed(contract=personas.contract.pk) == ["C", "B", "A"]
    assert listed(contract=personas.other_contract.pk) == []
    assert listed(contract_service=second.pk) == ["C"]
    assert listed(priority="P1") == ["C", "A"]
    assert listed(opened_after="2026-11-02T09:00:00Z") == ["C", "B"]
    assert listed(opened_before="2026-11-02T09:00:00Z") == ["A"]
    assert listed(open="true") == ["C", "B"]
    assert listed(open="false") == ["A"]


def test_the_list_takes_the_same_queries_for_many_tickets(
    personas, cs, django_assert_max_num_queries
):
    client = client_for(personas.customer_member)
    items = [
        ticket(cs, f"INC-{i}", opened_at=f"2026-11-{1 + i % 28:02d}T10:00:00+01:00", events=[])
        for i in range(60)
    ]
    for item in items:
        opened = item["opened_at"]
        item["first_response_at"] = item["resolved_at"] = None
        item["events"] = [{"at": opened, "status": "open"}, {"at": opened, "status": "resolved"}]
    assert post_json(client_for(personas.provider_editor), items).status_code == 201
    # count, page, events
    with django_assert_max_num_queries(3):
        response = client.get(URL, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 60
    assert all(len(t["events"]) == 2 for t in response.json()["results"])


def test_a_thousand_tickets_take_the_queries_of_one(personas, cs):
    client = client_for(personas.provider_editor)
    other = ContractServiceFactory(contract=personas.contract)

    def queries(items):
        with CaptureQueriesContext(connection) as captured:
            response = post_json(client, items)
        assert response.status_code in (200, 201), response.content
        return len(captured.captured_queries)

    one = queries([ticket(other)])
    thousand = queries([ticket(cs, f"INC-{i}") for i in range(1000)])
    assert one == thousand
    assert Ticket.objects.count() == 1001
    assert TicketEvent.objects.count() == 4004
    again = queries([ticket(cs, f"INC-{i}", title="Changed") for i in range(1000)])
    assert again <= thousand
    assert TicketEvent.objects.count() == 4004


def test_instants_in_the_future_are_refused(personas, cs):
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    response = post_json(client_for(personas.provider_editor), [ticket(cs, resolved_at=soon)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "resolved_at"


def test_the_schema_documents_json_and_csv_bodies_and_the_csv_events_cell():
    schema = client_for(None).get("/api/v1/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/tickets/"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert "status@date-time" in post["description"]
    assert post["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TicketsRejected"
    }
    assert set(post["responses"]) >= {"200", "201", "400", "401", "403"}
    get = schema["paths"]["/api/v1/tickets/"]["get"]
    assert {p["name"] for p in get["parameters"]} >= {
        "contract",
        "contract_service",
        "priority",
        "opened_after",
        "opened_before",
        "open",
    }
    assert "/api/v1/tickets/{id}/" in schema["paths"]


def test_an_offset_postgresql_refuses_is_still_a_filter_not_a_500(personas, cs):
    stored(cs, "A", opened="2026-11-01T09:00:00+00:00")
    client = client_for(personas.customer_member)
    # Python takes offsets up to ±23:59, PostgreSQL only up to ±15:59.
    far = client.get(URL, {"opened_before": "2026-11-01T00:00:00-21:49"})
    assert far.status_code == 200
    assert [t["reference"] for t in far.json()["results"]] == ["A"]
    overflow = client.get(URL, {"opened_after": "0001-01-01T00:00:00+05:00"})
    assert overflow.status_code == 400
    assert "opened_after" in overflow.json()
