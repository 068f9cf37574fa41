"""A statement line drills down to the samples, incidents, tickets and lapses behind it:
paged (samples by keyset), filtered by a time range inside the period and by what weighs
against the provider, and downloadable as CSV of exactly the filtered rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.models import Incident
from credits.models import Statement, StatementLine, StatementLineTicket
from credits.settlement import settle_period
from credits.views import records as records_views
from tests.credits.settlement_book import at, contract, objective, samples, service
from tests.factories import ResponsibilityFactory, ResponsibilityLapseFactory

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
SETTLED = datetime(2026, 12, 3, 12, tzinfo=UTC)
# 2 November 00:00 UTC, 01:00 in Berlin: the contract reads times in its zone.
FIRST = at(2026, 11, 2)
OKS = [True, False, True, True, False, True, True, False, True, True]


@pytest.fixture
def book(personas):
    """RPT-1 (Europe/Berlin): reports on time (ratio ≥ 99 %) with ten samples five minutes
    apart from 2 November 00:00 UTC, three of them late (the 2nd, 5th and 8th), and one
    sample in October that the November line does not count; availability (uptime) with a
    provider incident and a customer one, and a lapse of a responsibility linked to it."""
    c = contract(
        provider=personas.provider,
        customer=personas.customer,
        reference="RPT-1",
        tz="Europe/Berlin",
    )
    cs = service(c, fee="2000.00", name="Reporting")
    objective(
        c,
        key="reports-on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "per_step", "step": "0.5", "percent": "1"},
    )
    availability = objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "flat", "percent": "5"},
    )
    samples(cs, "reports-on-time", FIRST, oks=OKS)
    samples(cs, "reports-on-time", at(2026, 10, 20), oks=[False])
    Incident.objects.create(
        contract_service=cs,
        started_at=at(2026, 11, 10, 8),
        ended_at=at(2026, 11, 10, 9, 30),
        cause="provider",
        description="=HYPERLINK() core switch",
    )
    Incident.objects.create(
        contract_service=cs,
        started_at=at(2026, 11, 20, 8),
        ended_at=at(2026, 11, 20, 9),
        cause="customer",
    )
    responsibility = ResponsibilityFactory(contract=c, title="Name a representative")
    responsibility.service_levels.add(availability)
    ResponsibilityLapseFactory(
        responsibility=responsibility, start=at(2026, 11, 15, 10), end=at(2026, 11, 15, 12)
    )
    ResponsibilityLapseFactory(
        responsibility=responsibility,
        start=at(2026, 11, 25, 10),
        end=at(2026, 11, 25, 11),
        status="withdrawn",
        contest_reason="Our representative was there.",
        contested_at=at(2026, 11, 26),
        resolution="Withdrawn: the representative answered.",
        resolved_at=at(2026, 11, 27),
    )
    statement = settle_period(
        contract=c, period_start=NOVEMBER, now=SETTLED, announce=False
    ).statement
    lines = {line.key: line for line in statement.lines.all()}
    return {
        "statement": statement,
        "ratio": lines["reports-on-time"],
        "uptime": lines["availability"],
    }


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def url(line, kind: str, csv_file: bool = False, **query) -> str:
    name = "line-records-csv" if csv_file else "line-records"
    path = reverse(name, args=[line.pk, kind])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_statement_line_links_to_its_drill_down(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-detail", args=[book["statement"].pk])).content.decode()
    assert f'href="{url(book["ratio"], "samples")}"' in html
    assert f'href="{url(book["uptime"], "incidents")}"' in html


def test_samples_page_by_keyset_in_the_contracts_zone(client, personas, book, monkeypatch):
    monkeypatch.setattr(records_views, "SAMPLES_PER_PAGE", 4)
    client.force_login(personas.customer_member)
    first = client.get(url(book["ratio"], "samples"))
    assert first.status_code == 200
    page = first.context["rows"]
    # Oldest first, November's only (October's sample is another period's).
    assert [s.observed_at for s in page] == [FIRST + timedelta(minutes=5 * n) for n in range(4)]
    assert "2 Nov 2026 01:00:00 CET" in first.content.decode()
    cursor = first.context["next_cursor"]
    second = client.get(url(book["ratio"], "samples"), {"after": cursor})
    assert [s.observed_at for s in second.context["rows"]] == [
        FIRST + timedelta(minutes=5 * n) for n in range(4, 8)
    ]
    third = client.get(url(book["ratio"], "samples"), {"after": second.context["next_cursor"]})
    assert len(third.context["rows"]) == 2
    assert third.context["next_cursor"] is None


def test_samples_filtered_to_failing_and_a_time_range(client, personas, book):
    client.force_login(personas.provider_viewer)
    failing = client.get(url(book["ratio"], "samples", only="on"))
    assert [s.observed_at for s in failing.context["rows"]] == [
        FIRST + timedelta(minutes=5 * n) for n in (1, 4, 7)
    ]
    assert {s.result for s in failing.context["rows"]} == {"fails"}
    # 01:10 to 01:30 Berlin time is 00:10 to 00:30 UTC: samples 2 to 5.
    ranged = client.get(
        url(book["ratio"], "samples", since="2026-11-02T01:10", until="2026-11-02T01:30", only="on")
    )
    assert [s.observed_at for s in ranged.context["rows"]] == [FIRST + timedelta(minutes=20)]


def test_samples_csv_holds_exactly_the_filtered_rows(client, personas, book):
    client.force_login(personas.customer_member)
    response = client.get(url(book["ratio"], "samples", csv_file=True, only="on"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response.streaming
    assert rows_of(response) == [
        ["observed_at", "value", "ok", "result"],
        ["2026-11-02T00:05:00+00:00", "", "false", "fails"],
        ["2026-11-02T00:20:00+00:00", "", "false", "fails"],
        ["2026-11-02T00:35:00+00:00", "", "false", "fails"],
    ]
    everything = rows_of(client.get(url(book["ratio"], "samples", csv_file=True)))
    assert len(everything) == 1 + len(OKS)


def test_incidents_filtered_to_those_that_count_and_downloaded(client, personas, book):
    client.force_login(personas.customer_member)
    page = client.get(url(book["uptime"], "incidents"))
    assert [i.cause for i in page.context["rows"]] == ["provider", "customer"]
    counted = client.get(url(book["uptime"], "incidents", only="on"))
    assert [i.cause for i in counted.context["rows"]] == ["provider"]
    rows = rows_of(client.get(url(book["uptime"], "incidents", csv_file=True, only="on")))
    assert rows == [
        ["started_at", "ended_at", "minutes", "cause", "counts", "description"],
        [
            "2026-11-10T08:00:00+00:00",
            "2026-11-10T09:30:00+00:00",
            "90",
            "provider",
            "true",
            "'=HYPERLINK() core switch",
        ],
    ]


def test_lapses_of_the_linked_responsibility(client, personas, book):
    client.force_login(personas.provider_viewer)
    page = client.get(url(book["uptime"], "lapses"))
    assert [lapse.status for lapse in page.context["rows"]] == ["recorded", "withdrawn"]
    relieving = rows_of(client.get(url(book["uptime"], "lapses", csv_file=True, only="on")))
    assert relieving == [
        ["responsibility", "start", "end", "status", "relieves", "note"],
        [
            "Name a representative",
            "2026-11-15T10:00:00+00:00",
            "2026-11-15T12:00:00+00:00",
            "recorded",
            "true",
            "",
        ],
    ]
    # A ratio line of the same contract is not linked to it.
    assert list(client.get(url(book["ratio"], "lapses")).context["rows"]) == []


def test_a_filter_outside_the_period_is_a_400_beside_the_field(client, personas, book):
    client.force_login(personas.customer_member)
    response = client.get(url(book["ratio"], "samples", since="2026-10-20T00:00"))
    assert response.status_code == 400
    message = response.context["form"].errors["since"][0]
    # The period's bounds with their zone named (the contract's, Europe/Berlin).
    assert message == (
        "Choose a moment inside the period (1 Nov 2026 00:00 CET to 1 Dec 2026 00:00 CET)."
    )
    assert response.context["rows"] == []
    backwards = client.get(
        url(book["ratio"], "samples", since="2026-11-10T00:00", until="2026-11-09T00:00")
    )
    assert backwards.status_code == 400
    assert backwards.context["form"].errors["until"] == ["The end must be after the start."]
    assert client.get(url(book["ratio"], "samples", csv_file=True, until="x")).status_code == 400
    assert client.get(url(book["ratio"], "samples"), {"after": "nonsense"}).status_code == 400


def test_outsiders_and_kinds_a_line_has_not_are_404(client, personas, book):
    client.force_login(personas.other_customer_member)
    for kind in ("samples", "lapses"):
        assert client.get(url(book["ratio"], kind)).status_code == 404
        assert client.get(url(book["ratio"], kind, csv_file=True)).status_code == 404
    client.force_login(personas.customer_member)
    assert client.get(url(book["ratio"], "incidents")).status_code == 404
    assert client.get(url(book["uptime"], "samples")).status_code == 404
    assert client.get(url(book["ratio"], "everything")).status_code == 404


def test_query_counts_do_not_grow_with_the_samples(
    client, personas, book, django_assert_max_num_queries
):
    client.force_login(personas.customer_member)
    # Session, user, the line with its statement and parties, one page of samples, the
    # memberships the navigation shows: however many samples the period has.
    with django_assert_max_num_queries(7):
        assert client.get(url(book["ratio"], "samples", only="on")).status_code == 200
    samples(book["ratio"].contract_service, "reports-on-time", at(2026, 11, 3), oks=[False] * 500)
    with django_assert_max_num_queries(7):
        response = client.get(url(book["ratio"], "samples", only="on"))
    assert len(response.context["rows"]) == records_views.SAMPLES_PER_PAGE
    with django_assert_max_num_queries(8):
        assert client.get(url(book["uptime"], "incidents")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(url(book["uptime"], "lapses")).status_code == 200


@pytest.fixture
def ticket_line(personas):
    """A response-time line of ACME-1 for November 2026 that kept its three tickets: one
    opened in October and still counted, one breached on 10 November, one within on the
    20th."""
    statement = Statement.objects.create(
        contract=personas.contract,
        period_start=NOVEMBER,
        period_end=date(2026, 11, 30),
        currency="EUR",
        fees_total=Decimal("1000.00"),
        credit_total=Decimal("0.00"),
        fingerprint="tickets",
        issued_at=SETTLED,
    )
    line = StatementLine.objects.create(
        statement=statement,
        contract_service=personas.contract.services.get(),
        key="p1-response",
        name="P1 response",
        source_level="customer",
        indicator="response_time",
        comparator="gte",
        target=Decimal("90"),
        attainment=Decimal("66.6666666667"),
        met=False,
        fee=Decimal("1000.00"),
        explanation="2 of 3 tickets answered within 4 hours.",
    )
    for reference, opened, within in [
        ("INC-OCT", at(2026, 10, 31, 23), True),
        ("INC-LATE", at(2026, 11, 10, 8), False),
        ("INC-OK", at(2026, 11, 20, 8), True),
    ]:
        StatementLineTicket.objects.create(
            line=line,
            reference=reference,
            priority="P1",
            opened_at=opened,
            done_at=opened + timedelta(hours=2),
            business_seconds=7200 if within else 36000,
            stopped_seconds=0,
            wall_seconds=7200 if within else 36000,
            within=within,
        )
    return line


def test_tickets_filtered_to_breached_and_a_range_and_downloaded(client, personas, ticket_line):
    client.force_login(personas.customer_member)
    page = reverse("line-tickets", args=[ticket_line.pk])
    every = client.get(page)
    # With no range chosen, every ticket the line counts, the one opened in October too.
    assert {t.reference for t in every.context["tickets"]} == {"INC-OCT", "INC-LATE", "INC-OK"}
    breached = client.get(page, {"only": "on"})
    assert [t.reference for t in breached.context["tickets"]] == ["INC-LATE"]
    ranged = client.get(page, {"since": "2026-11-15T00:00"})
    assert [t.reference for t in ranged.context["tickets"]] == ["INC-OK"]
    rows = rows_of(client.get(url(ticket_line, "tickets", csv_file=True, only="on")))
    assert rows[1:] == [
        [
            "INC-LATE",
            "P1",
            "2026-11-10T08:00:00+00:00",
            "2026-11-10T10:00:00+00:00",
            "36000",
            "0",
            "36000",
            "false",
        ]
    ]
    assert client.get(page, {"until": "2027-01-01T00:00"}).status_code == 400
    client.force_login(personas.other_provider_member)
    assert client.get(url(ticket_line, "tickets", csv_file=True)).status_code == 404
