"""A statement opens with its summary (payable credit, status, what changed since the
previous revision, open disputes); a revision shows its difference to the previous one line
by line, on its own page and in the API. Figures by hand from SPEC §3's uptime arithmetic:
a 30-day month is 43,200 minutes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.models import Incident
from credits.models import Statement
from credits.selectors.statement_changes import compare_lines
from credits.services import open_dispute, resolve_claim
from credits.settlement import settle_period
from tests.credits.settlement_book import at, service
from tests.terms.test_claims import FILED, NOVEMBER, SETTLED, claim_of, customer_editor, wan

__all__ = ["customer_editor", "wan"]  # fixtures, for the tests here and the browser's

pytestmark = pytest.mark.django_db


def text_of(html: bytes) -> str:
    """The page's words, tags dropped and spaces folded, to read sentences from."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


@pytest.fixture
def revised(personas, wan, customer_editor):
    """The claims' WAN-1 (1,000.00 EUR a month; availability ≥ 99.9 %, 5 % per started
    0.1 point short; a 120-minute provider incident on 5 November 10:00–12:00 UTC) with a
    second service, settled; then the customer's claim of 11:00–14:00, accepted, issues
    revision 2.

    By hand: r1: 120 of 43,200 min down → 99.7222 %, 0.1778 short → 2 steps → 10 % →
    100.00 EUR. r2: the union 10:00–14:00 is 240 min → 42,960 / 43,200 = 99.4444 %,
    0.4556 short → 5 steps → 25 % → 250.00 EUR. The backup link's line (no incident:
    100 %, 0.00) is unchanged."""
    service(wan.contract, fee="500.00", name="Backup link")
    first = settle_period(
        contract=wan.contract, period_start=NOVEMBER, now=SETTLED, announce=False
    ).statement
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))
    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)
    second = Statement.objects.get(contract=wan.contract, period_start=NOVEMBER, revision=2)
    return {"first": first, "second": second, "wan": wan, "claim": claim, "editor": customer_editor}


def test_the_revision_opens_with_its_summary_before_the_lines(client, personas, revised):
    second = revised["second"]
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-detail", args=[second.pk])).content
    words = text_of(html)

    assert words.index("Summary") < words.index("Lines")
    assert "Payable credit 250.00 EUR" in words
    assert "Status issued revised latest" in words
    assert "Open disputes none" in words
    assert "Changed since revision 1" in words
    assert "Credit total 100.00 EUR → 250.00 EUR." in words
    assert (
        "Availability (Managed WAN): attainment 99.722 % → 99.444 %, credit 100.00 EUR → "
        "250.00 EUR." in words
    )
    # The unchanged line of the backup link is not said to have changed.
    assert "(Backup link): attainment" not in words
    assert f"Added below the lines: Claim #{revised['claim'].pk}" in words
    assert f'href="{reverse("statement-diff", args=[second.pk])}"'.encode() in html


def test_the_first_revision_has_nothing_to_compare_and_is_superseded(client, personas, revised):
    client.force_login(personas.provider_viewer)
    words = text_of(client.get(reverse("statement-detail", args=[revised["first"].pk])).content)
    assert "Payable credit 100.00 EUR" in words
    assert "Status issued superseded" in words
    assert "The first revision of this period." in words
    diff = text_of(client.get(reverse("statement-diff", args=[revised["first"].pk])).content)
    assert "nothing to compare it with" in diff


def test_the_summary_counts_and_links_the_open_disputes(client, personas, revised):
    second = revised["second"]
    line = second.lines.get(contract_service=revised["wan"])
    dispute = open_dispute(line=line, user=revised["editor"], reason="Still too low.")
    client.force_login(personas.provider_viewer)
    html = client.get(reverse("statement-detail", args=[second.pk])).content
    words = text_of(html)
    assert "Status issued revised latest disputed" in words
    assert f"Open disputes 1 open dispute: dispute #{dispute.pk}" in words
    assert f'href="#dispute-{dispute.pk}"'.encode() in html
    assert f'id="dispute-{dispute.pk}"'.encode() in html


def test_the_diff_page_shows_each_line_before_and_after_in_a_table(client, personas, revised):
    second = revised["second"]
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-diff", args=[second.pk])).content.decode()
    assert '<table class="diff"' in html and "<caption>" in html
    assert '<th scope="colgroup" colspan="2">Attainment</th>' in html
    rows = [
        text_of(row.encode()) for row in re.findall(r'<tr class="diff-[a-z]+".*?</tr>', html, re.S)
    ]
    # The line that changed and the one that did not; the change said in words.
    assert sorted(rows) == [
        "Availability (Backup link) unchanged 100.000 % 100.000 % 0 % 0 % 0.00 EUR 0.00 EUR",
        "Availability (Managed WAN) changed 99.722 % 99.444 % 10 % 25 % 100.00 EUR 250.00 EUR",
    ]
    assert "Credit total 100.00 EUR 250.00 EUR" in text_of(html.encode())


def test_lines_added_and_removed_are_marked_in_words(revised):
    first, second = revised["first"], revised["second"]
    before = list(first.lines.select_related("contract_service__service"))
    after = list(second.lines.select_related("contract_service__service"))
    backup = next(line for line in after if line.contract_service.service.name == "Backup link")
    changes = compare_lines(before, [line for line in after if line is not backup])
    assert [(c.service, c.change) for c in changes] == [
        ("Managed WAN", "changed"),
        ("Backup link", "removed"),
    ]
    changes = compare_lines([line for line in before if line.key != "availability"], after)
    assert {c.change for c in changes} == {"added"}


def test_the_api_gives_the_diff_line_by_line(client, personas, revised):
    second = revised["second"]
    client.force_login(personas.customer_member)
    body = client.get(f"/api/v1/statements/{second.pk}/diff/").json()
    assert (body["revision"], body["previous_revision"]) == (2, 1)
    assert (body["credit_total_before"], body["credit_total_after"]) == ("100.00", "250.00")
    wan = next(line for line in body["lines"] if line["service"] == "Managed WAN")
    assert wan["change"] == "changed"
    assert (wan["before"]["attainment"], wan["after"]["attainment"]) == ("99.722", "99.444")
    assert (wan["before"]["credit_percent"], wan["after"]["credit_percent"]) == ("10", "25")
    assert (wan["before"]["amount"], wan["after"]["amount"]) == ("100.00", "250.00")
    first = client.get(f"/api/v1/statements/{revised['first'].pk}/diff/").json()
    assert (first["previous"], first["credit_total_before"], first["lines"]) == (None, None, [])


def test_the_diff_is_documented_in_the_schema(client, personas):
    client.force_login(personas.operator)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/statements/{id}/diff/"]["get"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/StatementDiff"
    fields = schema["components"]["schemas"]["StatementDiff"]["properties"]
    assert {"lines", "sentences", "credit_total_before", "credit_total_after"} <= set(fields)


@pytest.mark.parametrize("name", ["statement-detail", "statement-diff"])
def test_outsiders_get_404(client, personas, revised, name):
    client.force_login(personas.other_customer_member)
    assert client.get(reverse(name, args=[revised["second"].pk])).status_code == 404
    assert client.get(f"/api/v1/statements/{revised['second'].pk}/diff/").status_code == 404


def test_query_counts_of_the_statement_page_and_the_diff_are_pinned(
    client, personas, revised, django_assert_max_num_queries
):
    client.force_login(personas.customer_member)
    second = revised["second"]
    # Session, user, statement, lines, their disputes, revisions, rows below the lines,
    # the previous revision's lines and rows, memberships for the nav: whatever the lines.
    with django_assert_max_num_queries(14):
        assert client.get(reverse("statement-detail", args=[second.pk])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("statement-diff", args=[second.pk])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/api/v1/statements/{second.pk}/diff/").status_code == 200


def test_the_summary_on_a_revision_after_a_late_incident(client, personas, revised):
    """A provider incident recorded late (after revision 2) and the period settled again:
    revision 3 says what changed against revision 2 only. By hand: 10:00–14:00 and
    20:00–21:00 → 300 min → 42,900 / 43,200 = 99.3056 %, 0.5944 short → 6 steps → 30 % →
    300.00 EUR."""
    wan = revised["wan"]
    Incident.objects.create(
        contract_service=wan,
        started_at=at(2026, 11, 20, 20),
        ended_at=at(2026, 11, 20, 21),
        cause="provider",
    )
    third = settle_period(
        contract=wan.contract, period_start=NOVEMBER, now=FILED, announce=False
    ).statement
    assert third.revision == 3
    client.force_login(personas.customer_member)
    words = text_of(client.get(reverse("statement-detail", args=[third.pk])).content)
    assert "Changed since revision 2" in words
    assert "Credit total 250.00 EUR → 300.00 EUR." in words
    assert "attainment 99.444 % → 99.306 %, credit 250.00 EUR → 300.00 EUR." in words
    assert third.credit_total == Decimal("300.00")
