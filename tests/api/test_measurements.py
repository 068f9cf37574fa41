"""Measurements through the API: one object, a JSON list, CSV; stored whole or refused
whole with every bad item named; read back by cursor without counting the big table."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.models import Measurement
from tests.api.conftest import client_for, url
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

URL = url("measurement")


@pytest.fixture
def monitored(personas):
    provider = personas.provider
    ServiceLevelFactory(provider=provider, key="reports", indicator="ratio", target=99)
    ServiceLevelFactory(
        provider=provider, key="failed-reports", indicator="count", comparator="lte", target=2
    )
    ServiceLevelFactory(
        provider=provider,
        key="speed",
        indicator="threshold",
        target=95,
        threshold=Decimal("100"),
        threshold_comparator="gte",
    )
    ServiceLevelFactory(provider=provider, key="availability", indicator="uptime", target=99)
    ServiceLevelFactory(provider=personas.other_provider, key="reports", indicator="ratio")
    return personas.contract.services.get()


def sample(cs, **fields):
    return {
        "contract_service": cs.pk,
        "key": "reports",
        "observed_at": "2026-10-05T09:00:00+02:00",
        "ok": True,
        **fields,
    }


def post_json(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_a_json_list_is_stored_whole(personas, monitored):
    items = [sample(monitored) for _ in range(50)]
    items.append(sample(monitored, key="speed", ok=None, value="123.5"))
    items.append(sample(monitored, key="failed-reports", ok=None, value=2))
    response = post_json(client_for(personas.provider_editor), items)
    assert response.status_code == 201
    assert response.json() == {"created": 52}
    assert Measurement.objects.count() == 52
    assert Measurement.objects.get(key="speed").value == Decimal("123.5")


def test_a_single_object_is_one_sample(personas, monitored):
    response = post_json(client_for(personas.provider_admin), sample(monitored))
    assert response.status_code == 201
    assert response.json() == {"created": 1}
    stored = Measurement.objects.get()
    assert stored.observed_at.isoformat() == "2026-10-05T07:00:00+00:00"


def test_a_csv_body_is_accepted(personas, monitored):
    body = (
        "contract_service,key,observed_at,value,ok\r\n"
        f"{monitored.pk},reports,2026-10-05T09:00:00+00:00,,true\r\n"
        f"{monitored.pk},reports,2026-10-05T10:00:00+00:00,,false\r\n"
        f"{monitored.pk},speed,2026-10-05T11:00:00+00:00,99.5,\r\n"
    )
    response = client_for(personas.provider_editor).post(URL, body, content_type="text/csv")
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 3}
    assert sorted(Measurement.objects.values_list("ok", flat=True), key=str) == [
        False,
        None,
        True,
    ]


def test_a_csv_with_bad_rows_names_their_index_and_file_line(personas, monitored):
    body = (
        "key,contract_service,observed_at,ok\n"  # any column order
        f"reports,{monitored.pk},2026-10-05T09:00:00+00:00,true\n"
        "\n"  # blank lines are skipped but still counted as lines of the file
        f"reports,{monitored.pk},yesterday,true\n"
        f"reports,{monitored.pk},2026-10-05T09:00:00+00:00,true,surplus\n"
    )
    response = client_for(personas.provider_editor).post(URL, body, content_type="text/csv")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "index": 1,
                "line": 4,
                "field": "observed_at",
                "message": "must be an ISO 8601 date-time with offset",
            },
            {
                "index": 2,
                "line": 5,
                "field": "non_field_errors",
                "message": "unknown field(s): column 5",
            },
        ]
    }
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("reports,1,2026-10-05T09:00:00+00:00\n", "The first line must name the columns"),
        (b"contract_service,key\n\xff\xfe,x\n", "UTF-8"),
    ],
)
def test_an_unreadable_csv_is_a_400(personas, monitored, body, detail):
    response = client_for(personas.provider_editor).post(URL, body, content_type="text/csv")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_a_rejected_batch_names_every_bad_item_and_stores_nothing(personas, monitored):
    items = [
        sample(monitored),
        sample(monitored, observed_at="2026-10-05T09:00:00"),
        sample(monitored, key="unknown-metric"),
        sample(monitored, ok=None),
        sample(monitored, key="availability"),
        sample(monitored, value="NaN", key="speed"),
        sample(monitored, contract_service="five"),
        "not an object",
        sample(monitored, colour="blue"),
    ]
    response = post_json(client_for(personas.provider_editor), items)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted({(e["index"], e["field"]) for e in errors}) == [
        (1, "observed_at"),
        (2, "key"),
        (3, "ok"),
        (4, "key"),
        (5, "value"),
        (6, "contract_service"),
        (7, "non_field_errors"),
        (8, "non_field_errors"),
    ]
    assert all(e["message"] for e in errors)
    assert "line" not in errors[0]  # JSON items have no file line
    assert not Measurement.objects.exists()


def test_more_than_ten_thousand_items_are_refused(personas, monitored):
    items = [sample(monitored)] * 10_001
    response = post_json(client_for(personas.provider_editor), items)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"index": 0, "field": "non_field_errors", "message": "at most 10,000 samples per batch"}
        ]
    }
    assert not Measurement.objects.exists()


def test_an_out_of_scope_contract_service_reads_as_missing(personas, monitored):
    other = personas.other_contract.services.get()
    client = client_for(personas.provider_editor)
    foreign = post_json(client, [sample(other)]).json()["errors"]
    missing = post_json(client, [sample(other, contract_service=10**6)]).json()["errors"]
    huge = post_json(client, [sample(other, contract_service=10**30)]).json()["errors"]
    assert foreign == [
        {
            "index": 0,
            "field": "contract_service",
            "message": f"contract service {other.pk} does not exist",
        }
    ]
    assert missing[0]["message"] == f"contract service {10**6} does not exist"
    assert huge[0]["field"] == "contract_service"
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("provider_viewer", 403), ("customer_member", 403), ("anonymous", 401)],
)
def test_only_editors_record_samples(personas, monitored, persona, expected):
    response = post_json(client_for(getattr(personas, persona)), [sample(monitored)])
    assert response.status_code == expected
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("[{]", "application/json"), ("contract_service=1", "application/x-www-form-urlencoded")],
)
def test_an_unparsable_or_unsupported_body_is_refused_cleanly(
    personas, monitored, body, content_type
):
    response = client_for(personas.provider_editor).post(URL, body, content_type=content_type)
    assert response.status_code in (400, 415)
    assert "detail" in response.json()


def test_samples_read_back_newest_first_by_cursor_without_a_count(personas, monitored):
    client = client_for(personas.provider_editor)
    items = [
        sample(monitored, observed_at=f"2026-10-{day:02d}T09:00:00+00:00") for day in range(1, 8)
    ]
    items.append(sample(monitored, key="speed", value="120", ok=None))
    assert post_json(client, items).status_code == 201
    reader = client_for(personas.customer_member)

    with CaptureQueriesContext(connection) as queries:
        first = reader.get(URL, {"page_size": 3, "key": "reports"})
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"next", "previous", "results"}
    assert [m["observed_at"] for m in page["results"]] == [
        "2026-10-07T09:00:00Z",
        "2026-10-06T09:00:00Z",
        "2026-10-05T09:00:00Z",
    ]
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    second = reader.get(page["next"]).json()
    assert [m["observed_at"][:10] for m in second["results"]] == [
        "2026-10-04",
        "2026-10-03",
        "2026-10-02",
    ]
    window = reader.get(
        URL,
        {
            "contract_service": monitored.pk,
            "observed_after": "2026-10-02T00:00:00Z",
            "observed_before": "2026-10-04T00:00:00Z",
        },
    ).json()
    assert [m["observed_at"][:10] for m in window["results"]] == ["2026-10-03", "2026-10-02"]
    speed = reader.get(URL, {"key": "speed"}).json()["results"]
    assert speed[0]["value"] == "120"
    assert speed[0]["ok"] is None
    outsider = client_for(personas.other_customer_member).get(URL).json()
    assert outsider["results"] == []
