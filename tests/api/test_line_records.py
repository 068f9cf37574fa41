"""A statement line's drill-down in the API: the samples (keyset pages), incidents, lapses
and tickets behind it, with the pages' filters (a time range, clamped to the period, only
what weighs against the provider); a line outside the caller's scope is a 404."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import client_for
from tests.credits.settlement_book import at, samples
from tests.credits.test_line_records import FIRST, book, ticket_line  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def path(line, kind: str) -> str:
    return f"/api/v1/statement-lines/{line.pk}/{kind}/"


def _moments(rows) -> list[str]:
    return [row["observed_at"] for row in rows]


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_samples_come_a_page_at_a_time_by_cursor(personas, book):  # noqa: F811
    client = client_for(personas.customer_member)
    first = client.get(path(book["ratio"], "samples"), {"page_size": 4})
    assert first.status_code == 200
    body = first.json()
    # Oldest first, November's only (the October sample is another period's).
    assert _moments(body["results"]) == [_iso(FIRST + timedelta(minutes=5 * n)) for n in range(4)]
    assert [row["result"] for row in body["results"]] == ["meets", "fails", "meets", "meets"]
    assert set(body) == {"next", "results"}
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["page_size"] == ["4"]
    second = client.get(path(book["ratio"], "samples"), {k: v[0] for k, v in query.items()})
    assert _moments(second.json()["results"]) == [
        _iso(FIRST + timedelta(minutes=5 * n)) for n in range(4, 8)
    ]
    third = client.get(second.json()["next"])
    assert len(third.json()["results"]) == 2
    assert third.json()["next"] is None


def test_samples_filtered_to_those_that_fail_in_a_range(personas, book):  # noqa: F811
    client = client_for(personas.provider_viewer)
    failing = client.get(path(book["ratio"], "samples"), {"only": "true"}).json()
    assert _moments(failing["results"]) == [
        _iso(FIRST + timedelta(minutes=5 * n)) for n in (1, 4, 7)
    ]
    # 01:10 in Berlin is 00:10 UTC: an instant without an offset is the contract's time.
    ranged = client.get(
        path(book["ratio"], "samples"),
        {"since": "2026-11-02T01:10:00", "until": "2026-11-02T00:30:00Z", "only": "false"},
    ).json()
    assert _moments(ranged["results"]) == [
        _iso(FIRST + timedelta(minutes=5 * n)) for n in range(2, 6)
    ]


def test_incidents_and_lapses_filtered_to_what_counts(personas, book):  # noqa: F811
    client = client_for(personas.customer_member)
    incidents = client.get(path(book["uptime"], "incidents")).json()
    assert incidents["count"] == 2
    assert [i["cause"] for i in incidents["results"]] == ["provider", "customer"]
    counted = client.get(path(book["uptime"], "incidents"), {"only": "1"}).json()
    assert [(i["cause"], i["started_at"]) for i in counted["results"]] == [
        ("provider", "2026-11-10T08:00:00Z")
    ]
    lapses = client.get(path(book["uptime"], "lapses")).json()
    assert [lapse["status"] for lapse in lapses["results"]] == ["recorded", "withdrawn"]
    relieving = client.get(path(book["uptime"], "lapses"), {"only": "true"}).json()
    assert [lapse["start"] for lapse in relieving["results"]] == ["2026-11-15T10:00:00Z"]
    later = client.get(path(book["uptime"], "incidents"), {"since": "2026-11-15T00:00:00Z"}).json()
    assert [i["cause"] for i in later["results"]] == ["customer"]


def test_tickets_filtered_to_the_breached_and_a_range(personas, ticket_line):  # noqa: F811
    client = client_for(personas.customer_member)
    every = client.get(path(ticket_line, "tickets")).json()
    # No range: every ticket the line counts, the one opened in October too.
    assert [t["reference"] for t in every["results"]] == ["INC-LATE", "INC-OCT", "INC-OK"]
    assert every["results"][0] == {
        "reference": "INC-LATE",
        "priority": "P1",
        "opened_at": "2026-11-10T08:00:00Z",
        "done_at": "2026-11-10T10:00:00Z",
        "business_seconds": 36000,
        "stopped_seconds": 0,
        "wall_seconds": 36000,
        "within": False,
    }
    breached = client.get(path(ticket_line, "tickets"), {"only": "true"}).json()
    assert [t["reference"] for t in breached["results"]] == ["INC-LATE"]
    ranged = client.get(path(ticket_line, "tickets"), {"since": "2026-11-15T00:00:00Z"}).json()
    assert [t["reference"] for t in ranged["results"]] == ["INC-OK"]


def test_a_range_is_clamped_to_the_lines_period(personas, book):  # noqa: F811
    client = client_for(personas.customer_member)
    samples_path = path(book["ratio"], "samples")
    november = _moments(client.get(samples_path).json()["results"])
    assert november == [_iso(FIRST + timedelta(minutes=5 * n)) for n in range(10)]
    # From October (whose sample is another period's) to December: November's samples.
    wider = {"since": "2026-10-01T00:00:00Z", "until": "2026-12-15T00:00:00Z"}
    assert _moments(client.get(samples_path, wider).json()["results"]) == november
    after_it = client.get(samples_path, {"since": "2026-12-05T00:00:00Z"})
    assert after_it.status_code == 200
    assert after_it.json() == {"next": None, "results": []}


def test_a_range_ending_before_it_starts_has_no_records(personas, book):  # noqa: F811
    client = client_for(personas.customer_member)
    # The provider's incident ran 08:00 to 09:30 and overlaps both ends: still none.
    around = {"since": "2026-11-10T08:30:00Z", "until": "2026-11-10T09:00:00Z"}
    assert client.get(path(book["uptime"], "incidents"), around).json()["count"] == 1
    inverted = {"since": "2026-11-10T09:00:00Z", "until": "2026-11-10T08:30:00Z"}
    incidents = client.get(path(book["uptime"], "incidents"), inverted)
    assert incidents.status_code == 200
    assert incidents.json()["count"] == 0
    # The recorded lapse ran 10:00 to 12:00 on the 15th.
    lapse_inverted = {"since": "2026-11-15T11:30:00Z", "until": "2026-11-15T10:30:00Z"}
    assert client.get(path(book["uptime"], "lapses"), lapse_inverted).json()["count"] == 0
    samples_inverted = {"since": "2026-11-02T00:30:00Z", "until": "2026-11-02T00:10:00Z"}
    assert client.get(path(book["ratio"], "samples"), samples_inverted).json()["results"] == []


def test_bad_filters_are_a_400_per_parameter(personas, book):  # noqa: F811
    client = client_for(personas.customer_member)
    response = client.get(
        path(book["ratio"], "samples"),
        {"since": "2026-11-02T00:00:00+24:00", "until": "tomorrow", "only": "perhaps"},
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"since", "until", "only"}
    assert errors["only"] == ["Enter true or false."]
    empty = client.get(path(book["uptime"], "lapses"), {"since": ""})
    assert empty.status_code == 400
    assert list(empty.json()) == ["since"]
    for cursor in ("nonsense", "2026-11-02T00:00:00~x", "2026-11-02T00:00:00~1", "9999~1"):
        refused = client.get(path(book["ratio"], "samples"), {"after": cursor})
        # A cursor names a page, as on /measurements/: one that names none is a 404.
        assert refused.status_code == 404, cursor
        assert refused.json() == {"detail": "Not found."}


def test_another_organisations_line_is_a_404(personas, book, ticket_line):  # noqa: F811
    for kind, line in [
        ("samples", book["ratio"]),
        ("incidents", book["uptime"]),
        ("lapses", book["uptime"]),
        ("tickets", ticket_line),
    ]:
        mine = client_for(personas.customer_member).get(path(line, kind))
        assert mine.status_code == 200, kind
        for outsider in (personas.other_customer_member, personas.other_provider_member):
            response = client_for(outsider).get(path(line, kind), {"only": "perhaps"})
            assert response.status_code == 404, kind
            assert response.json() == {"detail": "Not found."}
    # A kind of record the line is not measured from, and ids that are no line.
    client = client_for(personas.customer_member)
    assert client.get(path(book["ratio"], "incidents")).status_code == 404
    assert client.get(path(book["uptime"], "samples")).status_code == 404
    assert client.get("/api/v1/statement-lines/0/samples/").status_code == 404
    assert client.get(f"/api/v1/statement-lines/{10**30}/lapses/").status_code == 404


def test_drill_down_queries_do_not_grow_with_the_records(
    personas,
    book,  # noqa: F811
    ticket_line,  # noqa: F811
    django_assert_num_queries,
):
    client = client_for(personas.customer_member)
    ratio = path(book["ratio"], "samples")
    # The line with its statement, contract and parties; one page of samples.
    with django_assert_num_queries(2):
        assert client.get(ratio, {"only": "true"}).status_code == 200
    samples(book["ratio"].contract_service, "reports-on-time", at(2026, 11, 3), oks=[False] * 300)
    with django_assert_num_queries(2):
        response = client.get(ratio, {"only": "true", "page_size": 100})
    assert len(response.json()["results"]) == 100
    # The line, the count and the page.
    with django_assert_num_queries(3):
        assert client.get(path(book["uptime"], "incidents")).status_code == 200
    with django_assert_num_queries(3):
        assert client.get(path(book["uptime"], "lapses")).status_code == 200
    # The line and the tickets it kept.
    with django_assert_num_queries(2):
        assert client.get(path(ticket_line, "tickets")).status_code == 200
