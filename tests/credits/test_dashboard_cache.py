"""The dashboard's content is cached under a stamp of what it shows: a second view of an
unchanged dashboard reads only the stamp, and any change shows on the very next view."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credits import notify, services
from credits.models import Notification, OpenPeriodProgress, Statement, StatementLine
from credits.settlement import warn_early
from tests.credits import test_views
from tests.credits.settlement_book import ratio
from tests.credits.test_views_support import LineSpec, make_statement
from tests.factories import MembershipFactory, UserFactory

NOW = test_views.NOW
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
# The credits pages' book and clock (15 April 2026, 12:00 UTC), frozen by the mark above.
book = test_views.book

SECOND = timedelta(seconds=1)
CACHED_QUERIES = 4  # session, user, memberships (organisations and navigation), the stamp


def view(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def ytd(html: str) -> str:
    figure = r'class="figure ytd" data-currency="EUR">.*?class="value">([^<]+)<'
    return re.search(figure, html, re.S)[1]


def unread(html: str) -> str:
    return re.search(r"Unread notifications</span>.*?<a [^>]*>(\d+)</a>", html, re.S)[1]


@pytest.fixture
def customer(client, personas, book):
    client.force_login(personas.customer_member)
    html, _ = view(client)
    cached, queries = view(client)
    assert queries == CACHED_QUERIES  # cached from here on
    assert "· Globex (viewer)" in cached  # the navigation's memberships, read once
    return html


def test_a_new_statement_shows_at_once(client, personas, book, customer):
    assert ytd(customer) == "50.00 EUR"
    make_statement(
        personas.contract,
        period_start=date(2025, 12, 1),
        lines=[LineSpec(book["cs"], Decimal("5.00"))],
    )
    make_statement(
        personas.contract,
        period_start=date(2026, 2, 1),
        revision=2,
        lines=[LineSpec(book["cs"], Decimal("7.00"))],
    )
    html, queries = view(client)
    assert queries > CACHED_QUERIES
    assert ytd(html) == "57.00 EUR"  # February's revision 2 replaces its 0.00


def test_a_new_notification_and_a_read_mark_show_at_once(client, personas, customer):
    assert unread(customer) == "0"
    Notification.objects.create(
        user=personas.customer_member,
        organization=personas.customer,
        event=Notification.Event.STATEMENT_ISSUED,
        title="Statement ACME-1 April 2026 issued",
    )
    html, _ = view(client)
    assert "Statement ACME-1 April 2026 issued" in html
    assert unread(html) == "1"
    assert view(client)[1] == CACHED_QUERIES

    services.mark_notifications_read(user=personas.customer_member)
    html, _ = view(client)
    assert unread(html) == "0"
    assert '<li class="notification unread">' not in html


def test_new_progress_shows_at_once(client, personas, book, customer, monkeypatch):
    monkeypatch.setattr(notify, "early_warnings", lambda *, warning_ids: None)
    assert '<tr data-state="no_data"' in customer
    ratio(book["cs"], "availability", NOW - timedelta(hours=3), 100, 100, every=SECOND)
    warn_early(contract=personas.contract, now=NOW - timedelta(hours=1))
    html, _ = view(client)
    assert '<tr data-state="on_track"' in html
    assert "100.000 %" in html
    assert view(client)[1] == CACHED_QUERIES

    # A later run rewrites the same row: the stamp moves with its measured time.
    ratio(book["cs"], "availability", NOW - timedelta(minutes=50), 0, 100, every=SECOND)
    warn_early(contract=personas.contract, now=NOW - timedelta(minutes=30))
    assert OpenPeriodProgress.objects.count() == 1
    html, _ = view(client)
    assert '<tr data-state="breached"' in html
    assert "50.000 %" in html


def test_an_edited_contract_shows_at_once(client, personas, customer):
    personas.contract.title = "Renamed agreement"
    personas.contract.save()
    html, _ = view(client)
    assert "Renamed agreement" in html


def test_each_user_sees_their_own_notifications(client, personas, customer):
    colleague = UserFactory(username="globex-colleague")
    MembershipFactory(user=colleague, organization=personas.customer, role="viewer")
    Notification.objects.create(
        user=colleague,
        organization=personas.customer,
        event=Notification.Event.STATEMENT_ISSUED,
        title="For the colleague only",
    )
    assert "For the colleague only" not in view(client)[0]
    client.force_login(colleague)
    assert "For the colleague only" in view(client)[0]


def test_the_open_period_moves_on_with_the_clock(client, personas, customer):
    assert "<td>April 2026</td>" in customer
    with time_machine.travel(NOW.replace(day=30, hour=23, minute=59), tick=False):
        client.force_login(personas.customer_member)  # days on, the session expired
        assert "<td>April 2026</td>" in view(client)[0]
    with time_machine.travel(NOW.replace(month=5, day=1, hour=0, minute=0), tick=False):
        client.force_login(personas.customer_member)
        html, _ = view(client)
    assert "<td>May 2026</td>" in html


def test_a_statement_committed_after_one_with_a_higher_id_shows_at_once(
    client, personas, book, customer
):
    # Two settling chunks take their ids in one order and may commit in the other: the
    # chunk holding the lower id commits last, after a view already saw the higher one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('credits_statement', 'id'))")
        lower_id = cursor.fetchone()[0]
    make_statement(personas.other_contract, period_start=date(2026, 1, 1), lines=[])
    view(client)

    late = Statement.objects.create(
        id=lower_id,
        contract=personas.contract,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
        revision=2,
        currency="EUR",
        fees_total=Decimal("100.00"),
        credit_total=Decimal("5.00"),
        cap_adjustment=Decimal("0"),
        fingerprint="late",
        issued_at=NOW,
    )
    StatementLine.objects.create(
        statement=late,
        contract_service=book["cs"],
        key="availability",
        name="Availability",
        source_level="customer",
        indicator="uptime",
        comparator="gte",
        target=Decimal("99.9"),
        measure={},
        fee=Decimal("100.00"),
        amount=Decimal("5.00"),
        explanation="Late.",
    )

    html, queries = view(client)
    assert queries > CACHED_QUERIES
    assert ytd(html) == "55.00 EUR"  # February's revision 2 replaces its 0.00
