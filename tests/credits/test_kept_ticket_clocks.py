"""Ticket clocks kept at ingestion: settlement builds a service's clocks the first time it
needs them, record_tickets keeps them current, anything else that writes tickets or a
changed calendar makes them be built again, and they always count what the reference
counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.models import CalendarClosure, Ticket, TicketClock, TicketClockSet, TicketEvent
from contracts.services import delete_tickets, record_tickets
from credits.selectors import line_tickets
from credits.settlement import settle_period
from tests.credits.test_settlement_tickets import AFTER_NOVEMBER, NOVEMBER, desk, e8_tickets
from tests.factories import MembershipFactory, UserFactory, ticket_payload

pytestmark = pytest.mark.django_db


def settled_line(c):
    return settle_period(contract=c, period_start=NOVEMBER, now=AFTER_NOVEMBER)


def editor_of(c):
    user = UserFactory()
    MembershipFactory(user=user, organization=c.provider, role="editor")
    return user


def figures(line) -> tuple:
    read = line_tickets(UserFactory(is_staff=True), line.pk)
    return (
        line.measure["within"],
        line.measure["total"],
        line.explanation,
        {t.reference: (t.business_seconds, t.stopped_seconds, t.within) for t in read.tickets},
        read.changed,
    )


def test_settlement_builds_the_clocks_once_and_record_tickets_keeps_them_current():
    c, cs, _level = desk()
    e8_tickets(cs)
    first = settled_line(c).statement
    (clock_set,) = TicketClockSet.objects.filter(contract_service=cs)
    assert clock_set.terms.startswith("resolution:14400:calendar-")
    assert clock_set.terms.endswith(":P1")
    # The P1 objective's clocks: INC-8, a P2, has none.
    assert TicketClock.objects.filter(clock_set=clock_set).count() == 3

    # The ticket system sends INC-9 (new) and INC-3 again, now with an hour's wait.
    record_tickets(
        user=editor_of(c),
        now=AFTER_NOVEMBER,
        items=[
            ticket_payload(cs, "INC-9"),
            ticket_payload(
                cs,
                "INC-3",
                first_response_at=None,
                opened_at="2026-11-06T16:00:00+01:00",
                resolved_at="2026-11-09T11:00:00+01:00",
                events=[
                    {"at": "2026-11-06T16:00:00+01:00", "status": "waiting_on_customer"},
                    {"at": "2026-11-09T09:00:00+01:00", "status": "in_progress"},
                    {"at": "2026-11-09T11:00:00+01:00", "status": "resolved"},
                ],
            ),
        ],
    )
    # Refreshed in place, not dropped: the same set, one more ticket.
    assert list(TicketClockSet.objects.filter(contract_service=cs)) == [clock_set]
    assert TicketClock.objects.filter(clock_set=clock_set).count() == 4
    assert line_tickets(UserFactory(is_staff=True), first.lines.get().pk).changed

    again = settled_line(c)
    assert again.created
    within, total, _explanation, tickets, changed = figures(again.statement.lines.get())
    assert (within, total, changed) == (3, 4, False)
    # INC-3: 17:00 Friday to 11:00 Monday less the wait to 09:00 Monday: 2 business hours.
    assert tickets["INC-3"] == (120 * 60, 60 * 60, True)
    # INC-9: 10:00–16:30 less the 3 hours waiting.
    assert tickets["INC-9"] == (210 * 60, 180 * 60, True)


def test_tickets_written_behind_record_tickets_back_make_the_clocks_be_built_again():
    c, cs, _level = desk()
    e8_tickets(cs)
    settled_line(c)
    assert TicketClockSet.objects.filter(contract_service=cs).exists()

    inc7 = Ticket.objects.get(reference="INC-7")
    TicketEvent.objects.create(ticket=inc7, at=inc7.opened_at, status="waiting_on_customer")

    # The database dropped the service's clocks: they were no longer the tickets'.
    assert not TicketClockSet.objects.filter(contract_service=cs).exists()
    assert not TicketClock.objects.filter(clock_set__contract_service=cs).exists()
    line = settled_line(c).statement.lines.get()
    # Waiting from its opening on, INC-7's clock never ran.
    assert figures(line)[3]["INC-7"] == (0, 330 * 60, True)
    assert TicketClockSet.objects.filter(contract_service=cs).count() == 1


def test_deleting_tickets_through_the_service_keeps_the_other_clocks():
    c, cs, _level = desk()
    e8_tickets(cs)
    settled_line(c)
    (clock_set,) = TicketClockSet.objects.filter(contract_service=cs)

    delete_tickets(tickets=Ticket.objects.filter(reference="INC-7"))

    assert list(TicketClockSet.objects.filter(contract_service=cs)) == [clock_set]
    line = settled_line(c).statement.lines.get()
    assert figures(line)[:2] == (2, 2)


def test_a_changed_calendar_is_a_new_set_of_clocks_and_the_old_one_goes():
    c, cs, level = desk()
    e8_tickets(cs)
    settled_line(c)
    (old,) = TicketClockSet.objects.filter(contract_service=cs)

    # A company day off on Wed 11 Nov: INC-7 (09:00–14:30 that day) never ran.
    CalendarClosure.objects.create(calendar=level.calendar, day=date(2026, 11, 11), name="Off")
    line = settled_line(c).statement.lines.get()

    (new,) = TicketClockSet.objects.filter(contract_service=cs)
    assert new.terms != old.terms
    assert not TicketClock.objects.filter(clock_set=old.pk).exists()
    within, total, explanation, tickets, changed = figures(line)
    assert (within, total, changed) == (3, 3, False)
    assert tickets["INC-7"] == (0, 0, True)
    assert "worst: INC-5 210 business minutes (180 stopped); INC-3 180;" in explanation


def test_the_drill_down_page_says_when_the_tickets_changed_and_pages_long_lines(client):
    c, cs, _level = desk()
    e8_tickets(cs)
    line = settled_line(c).statement.lines.get()
    reader = UserFactory()
    MembershipFactory(user=reader, organization=c.customer)
    client.force_login(reader)
    url = f"/lines/{line.pk}/tickets/"

    page = client.get(url).content.decode()
    assert "changed after the statement was issued" not in page
    Ticket.objects.filter(reference="INC-7").delete()
    page = client.get(url).content.decode()
    assert "These tickets changed after the statement was issued." in page
    assert "INC-7" not in page.split("<tbody>")[1]

    from tests.credits.test_settlement_tickets import berlin, ticket

    for n in range(205):
        opened = berlin(2026, 11, 16, 9) + timedelta(minutes=n)
        ticket(cs, f"BULK-{n:03}", opened, opened + timedelta(minutes=30))
    again = settled_line(c).statement.lines.get()
    first = client.get(f"/lines/{again.pk}/tickets/").content.decode()
    assert "Tickets 1–200 of 207" in first
    last = client.get(f"/lines/{again.pk}/tickets/?page=2").content.decode()
    assert "Tickets 201–207 of 207" in last
