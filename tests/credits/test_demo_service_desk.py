"""The demo's service desk: `loaddemo` builds Fabrikam's contract with Globex in Berlin office
hours, sends a month of tickets through the ticket ingestion and settles the month, whatever
the day it runs on; running it again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contracts.models import (
    CalendarClosure,
    Contract,
    Incident,
    ResponsibilityLapse,
    ServiceCalendar,
    ServiceLevel,
    Ticket,
    TicketClock,
    TicketEvent,
)
from credits.models import Statement, StatementLine
from credits.selectors import line_tickets

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BERLIN = ZoneInfo("Europe/Berlin")
TICKET_INDICATORS = ("response_time", "resolution_time")


def book_counts() -> dict[str, int]:
    models = (
        Contract,
        ServiceCalendar,
        CalendarClosure,
        ServiceLevel,
        Ticket,
        TicketEvent,
        Incident,
        ResponsibilityLapse,
        Statement,
        StatementLine,
        TicketClock,
    )
    return {model.__name__: model.objects.count() for model in models}


def last_closed_month(now: datetime):
    return (now.astimezone(BERLIN).date().replace(day=1) - timedelta(days=1)).replace(day=1)


def load_and_check_the_service_desk(client) -> None:
    now = timezone.now()
    call_command("loaddemo", stdout=StringIO())
    before = book_counts()

    desk = Contract.objects.get(provider__slug="fabrikam", reference="FAB-GLOBEX")
    calendar = ServiceCalendar.objects.get(provider__slug="fabrikam", name="Berlin office hours")
    statement = Statement.objects.get(contract=desk)
    lines = {line.key: line for line in statement.lines.all()}
    ticket_lines = [line for line in lines.values() if line.indicator in TICKET_INDICATORS]
    p1_resolution = lines["p1-resolution"]
    customer = get_user_model().objects.get(username="customer")
    p1_read = line_tickets(customer, p1_resolution.pk)
    assert not p1_read.changed
    p1_tickets = p1_read.tickets

    assert (calendar.timezone, calendar.holiday_country, calendar.holiday_subdivision) == (
        "Europe/Berlin",
        "DE",
        "BE",
    )
    assert calendar.closures.filter(source="manual", day__isnull=False).exists()
    assert set(desk.service_levels.values_list("calendar_id", flat=True)) == {calendar.pk}
    # Only the last closed month is settled; the open month is still running.
    assert statement.period_start == last_closed_month(now) == desk.start_date
    assert len(ticket_lines) == 3
    for line in ticket_lines:
        worst = line.explanation.split("worst: ")[1].split(";")[0].split()[0]
        assert worst.startswith("SD-")
        assert worst in {ticket.reference for ticket in line_tickets(customer, line.pk).tickets}
    assert "8 of 10 P1 tickets resolved within 4 business hours" in p1_resolution.explanation
    assert p1_resolution.amount > 0
    assert statement.credit_total > 0
    # The lapse of remote access and the tickets waiting on the customer stop the clock.
    assert any(ticket.stopped_seconds and ticket.within for ticket in p1_tickets)
    # The Saturday outage is outside service hours; only 45 minutes of the other count.
    assert "45 min of downtime" in lines["desk-availability"].explanation

    client.force_login(customer)
    page = client.get(reverse("line-tickets", args=[p1_resolution.pk]))

    assert page.status_code == 200
    for ticket in p1_tickets:
        assert ticket.reference in page.content.decode()

    call_command("loaddemo", stdout=StringIO())

    assert book_counts() == before


@pytest.mark.parametrize(
    "now",
    [
        # The week the clocks went forward: February settled, March's tickets run across
        # the change.
        datetime(2026, 3, 31, 8, 0, tzinfo=UTC),
        # A year boundary: December settled around Christmas, January just begun.
        datetime(2027, 1, 5, 15, 0, tzinfo=UTC),
    ],
    ids=["dst-week", "new-year"],
)
def test_the_demo_service_desk_settles_its_last_closed_month_of_tickets(client, now):
    with time_machine.travel(now, tick=False):
        load_and_check_the_service_desk(client)


@pytest.mark.dates
def test_the_demo_service_desk_settles_its_last_closed_month_today(client):
    load_and_check_the_service_desk(client)
