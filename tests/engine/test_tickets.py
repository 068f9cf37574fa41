"""Ticket clocks: business minutes less stopped time, and which period a ticket counts in."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from engine import (
    BusinessClock,
    ParameterError,
    ServiceCalendar,
    StatusEvent,
    Ticket,
    TicketClock,
    TicketMeasure,
    explain_tickets,
    format_attainment,
    measure_tickets,
    period_outcome,
    stops_from_events,
    threshold_seconds,
    ticket_clock,
    to_epoch_seconds,
)

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {day: [("09:00", "17:00")] for day in range(5)}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def clock_for(calendar: ServiceCalendar | None = None) -> BusinessClock:
    calendar = calendar or ServiceCalendar("Europe/Berlin", NINE_TO_FIVE)
    return BusinessClock(calendar, berlin(2026, 10, 1), berlin(2026, 12, 1))


def business_minutes(ticket: Ticket, clock: BusinessClock, **kwargs) -> Fraction:
    return ticket_clock(ticket, clock, **kwargs).business_minutes


# --------------------------------------------------------------------------- E8

E8_TICKETS = [
    # A: Fri 16:00 → Mon 11:00
    Ticket("INC-3", "P1", berlin(2026, 11, 6, 16), resolved_at=berlin(2026, 11, 9, 11)),
    # B: Tue 10:00, waiting on the customer 11:00–14:00, resolved 16:30
    Ticket(
        "INC-5",
        "P1",
        berlin(2026, 11, 10, 10),
        resolved_at=berlin(2026, 11, 10, 16, 30),
        stops=((berlin(2026, 11, 10, 11), berlin(2026, 11, 10, 14)),),
    ),
    # C: Wed 09:00 → 14:30
    Ticket("INC-7", "P1", berlin(2026, 11, 11, 9), resolved_at=berlin(2026, 11, 11, 14, 30)),
    # Another priority does not count for a P1 objective.
    Ticket("INC-8", "P2", berlin(2026, 11, 12, 9), resolved_at=berlin(2026, 11, 13, 17)),
]


def test_e8_ticket_clocks_count_business_minutes_less_waiting_time():
    clock = clock_for()
    a, b, c, _ = (ticket_clock(ticket, clock) for ticket in E8_TICKETS)
    assert a == TicketClock(180 * 60, 0, (8 + 48 + 11) * 3600, running=False)
    assert (b.business_minutes, b.stopped_minutes, b.wall_minutes) == (210, 180, 390)
    assert (c.business_minutes, c.stopped_minutes, c.wall_minutes) == (330, 0, 330)


def test_e8_two_of_three_p1_tickets_within_240_minutes_breach_a_target_of_90():
    measure = measure_tickets(
        E8_TICKETS,
        clock_for(),
        period_start=berlin(2026, 11, 1),
        period_end=berlin(2026, 12, 1),
        threshold_minutes=Decimal(240),
        priority="P1",
    )
    assert (measure.within, measure.total) == (2, 3)
    assert measure.attainment == Fraction(200, 3)
    assert format_attainment(measure.attainment) == "66.667"
    assert measure.attainment < Decimal(90)
    assert [outcome.met for outcome in measure.outcomes] == [True, True, False]


def test_e8_explanation_names_the_worst_tickets():
    measure = measure_tickets(
        E8_TICKETS,
        clock_for(),
        period_start=berlin(2026, 11, 1),
        period_end=berlin(2026, 12, 1),
        threshold_minutes=240,
        priority="P1",
    )
    assert explain_tickets(measure, worst=2) == (
        "2 of 3 P1 tickets resolved within 4 business hours (66.667 %); "
        "worst: INC-7 330 business minutes; INC-5 210 (180 stopped)"
    )
    assert explain_tickets(measure).endswith("INC-5 210 (180 stopped); INC-3 180")


def test_without_a_calendar_the_clock_is_the_wall_clock_and_says_so():
    measure = measure_tickets(
        E8_TICKETS,
        BusinessClock(None, berlin(2026, 11, 1), berlin(2026, 12, 1)),
        period_start=berlin(2026, 11, 1),
        period_end=berlin(2026, 12, 1),
        threshold_minutes=30,
        kind="resolution",
    )
    assert explain_tickets(measure, worst=1) == (
        "0 of 4 tickets resolved within 30 minutes (0.000 %); worst: INC-3 4,020 minutes"
    )


def test_no_tickets_is_no_data():
    measure = measure_tickets(
        E8_TICKETS,
        clock_for(),
        period_start=berlin(2026, 10, 1),
        period_end=berlin(2026, 11, 1),
        threshold_minutes=240,
        priority="P1",
    )
    assert measure.total == 0
    assert measure.attainment is None
    assert explain_tickets(measure) == "No P1 tickets resolved in this period: no data"


def test_the_response_clock_ends_at_the_first_response():
    ticket = Ticket(
        "INC-9",
        "P1",
        berlin(2026, 11, 9, 16, 50),
        first_response_at=berlin(2026, 11, 10, 9, 10),
        resolved_at=berlin(2026, 11, 10, 12),
    )
    clock = clock_for()
    assert business_minutes(ticket, clock, kind="response") == 20
    measure = measure_tickets(
        [ticket],
        clock,
        period_start=berlin(2026, 11, 1),
        period_end=berlin(2026, 12, 1),
        threshold_minutes=15,
        kind="response",
    )
    assert explain_tickets(measure) == (
        "0 of 1 tickets answered within 15 business minutes (0.000 %); "
        "worst: INC-9 20 business minutes"
    )


def test_a_threshold_in_part_minutes_is_exact():
    assert threshold_seconds(Decimal("0.5")) == 30
    assert threshold_seconds(Decimal("240")) == 14_400
    assert threshold_seconds(Decimal("0.01")) == 0
    with pytest.raises(TypeError):
        threshold_seconds(0.5)


# --------------------------------------------------------------------------- holidays and DST


def test_a_holiday_inside_a_ticket_does_not_count():
    ticket = Ticket("INC-11", "P1", berlin(2026, 4, 30, 16), resolved_at=berlin(2026, 5, 4, 10))
    plain = ServiceCalendar("Europe/Berlin", NINE_TO_FIVE)
    labour_day = ServiceCalendar(
        "Europe/Berlin", NINE_TO_FIVE, closed_days={date(2026, 5, 1): "Labour Day"}
    )
    assert business_minutes(ticket, BusinessClock(plain, 0, 1)) == 60 + 480 + 60
    assert business_minutes(ticket, BusinessClock(labour_day, 0, 1)) == 60 + 60


def test_a_ticket_over_the_spring_change_counts_business_hours_not_wall_hours():
    new_york = ZoneInfo("America/New_York")
    calendar = ServiceCalendar("America/New_York", {d: [("00:00", "24:00")] for d in range(7)})
    clock = BusinessClock(calendar, 0, 1)
    ticket = Ticket(
        "INC-12",
        "P1",
        datetime(2026, 3, 7, 12, tzinfo=new_york),
        resolved_at=datetime(2026, 3, 8, 12, tzinfo=new_york),
    )
    assert ticket_clock(ticket, clock).business_minutes == 23 * 60


# --------------------------------------------------------------------------- periods


def november(tickets, threshold=240, kind="resolution"):
    return measure_tickets(
        tickets,
        clock_for(),
        period_start=berlin(2026, 11, 1),
        period_end=berlin(2026, 12, 1),
        threshold_minutes=threshold,
        kind=kind,
    )


def october(tickets, threshold=240):
    return measure_tickets(
        tickets,
        clock_for(),
        period_start=berlin(2026, 10, 1),
        period_end=berlin(2026, 11, 1),
        threshold_minutes=threshold,
    )


def december(tickets, threshold=240):
    return measure_tickets(
        tickets,
        clock_for(),
        period_start=berlin(2026, 12, 1),
        period_end=berlin(2027, 1, 1),
        threshold_minutes=threshold,
    )


def test_a_ticket_spanning_the_period_boundary_counts_where_it_was_resolved():
    # Fri 30 Oct 15:00 → Mon 2 Nov 10:00: 120 min by October's end, 180 in all.
    ticket = Ticket("INC-20", "P1", berlin(2026, 10, 30, 15), resolved_at=berlin(2026, 11, 2, 10))
    assert october([ticket]).total == 0
    (outcome,) = november([ticket]).outcomes
    assert (outcome.clock.business_minutes, outcome.met, outcome.clock.running) == (
        180,
        True,
        False,
    )


def test_a_ticket_breached_before_the_period_ended_counts_there_and_not_again():
    # Thu 29 Oct 09:00 → Tue 3 Nov 12:00: 960 min by October's end.
    ticket = Ticket("INC-21", "P1", berlin(2026, 10, 29, 9), resolved_at=berlin(2026, 11, 3, 12))
    (outcome,) = october([ticket]).outcomes
    assert (outcome.clock.business_minutes, outcome.met, outcome.clock.running) == (
        960,
        False,
        True,
    )
    assert november([ticket]).total == 0
    assert explain_tickets(october([ticket])) == (
        "0 of 1 tickets resolved within 4 business hours (0.000 %); "
        "worst: INC-21 960 business minutes (still open)"
    )


def test_a_ticket_never_resolved_counts_as_breached_once():
    # Mon 30 Nov 16:00, never resolved: 60 min at November's end, breached in December.
    late = Ticket("INC-22", "P1", berlin(2026, 11, 30, 16))
    # Mon 2 Nov 09:00, never resolved: long breached by November's end.
    early = Ticket("INC-23", "P1", berlin(2026, 11, 2, 9))
    clock = clock_for()
    assert [o.reference for o in november([late, early]).outcomes] == ["INC-23"]
    (outcome,) = december([late, early]).outcomes
    assert (outcome.reference, outcome.met, outcome.clock.running) == ("INC-22", False, True)
    with pytest.raises(ValueError, match="still open"):
        ticket_clock(late, clock)
    with pytest.raises(ValueError, match="not yet opened"):
        ticket_clock(late, clock, until=berlin(2026, 11, 1))


def test_an_open_ticket_within_the_threshold_waits_for_a_later_period():
    ticket = Ticket("INC-24", "P1", berlin(2026, 11, 30, 16, 30))
    assert november([ticket]).total == 0
    running = ticket_clock(ticket, clock_for(), until=berlin(2026, 12, 1))
    assert (running.business_minutes, running.running) == (30, True)


def test_a_ticket_waiting_on_the_customer_at_the_period_end_is_not_breached_by_waiting():
    ticket = Ticket(
        "INC-25",
        "P1",
        berlin(2026, 11, 27, 9),
        stops=((berlin(2026, 11, 27, 11), None),),
    )
    assert november([ticket]).total == 0
    reading = ticket_clock(ticket, clock_for(), until=berlin(2026, 12, 1))
    assert (reading.business_minutes, reading.stopped_minutes) == (120, 360 + 480)


def test_period_outcome_takes_epoch_seconds():
    ticket = E8_TICKETS[2]
    outcome = period_outcome(
        ticket,
        clock_for(),
        period_start=to_epoch_seconds(berlin(2026, 11, 9)),
        period_end=to_epoch_seconds(berlin(2026, 11, 16)),
        limit_seconds=threshold_seconds(240),
    )
    assert outcome is not None and not outcome.met


# --------------------------------------------------------------------------- reopened tickets


def test_a_reopened_ticket_runs_to_its_final_resolution_less_the_time_it_stood_resolved():
    events = [
        StatusEvent(berlin(2026, 11, 9, 9), "new"),
        StatusEvent(berlin(2026, 11, 9, 10), "resolved"),
        StatusEvent(berlin(2026, 11, 10, 9), "reopened"),
        StatusEvent(berlin(2026, 11, 10, 10), "waiting_on_customer"),
        StatusEvent(berlin(2026, 11, 10, 11), "in_progress"),
        StatusEvent(berlin(2026, 11, 10, 12), "resolved"),
    ]
    stops = stops_from_events(events)
    assert stops == (
        (to_epoch_seconds(berlin(2026, 11, 9, 10)), to_epoch_seconds(berlin(2026, 11, 10, 9))),
        (to_epoch_seconds(berlin(2026, 11, 10, 10)), to_epoch_seconds(berlin(2026, 11, 10, 11))),
        (to_epoch_seconds(berlin(2026, 11, 10, 12)), None),
    )
    ticket = Ticket(
        "INC-30", "P1", berlin(2026, 11, 9, 9), resolved_at=berlin(2026, 11, 10, 12), stops=stops
    )
    reading = ticket_clock(ticket, clock_for())
    assert (reading.business_minutes, reading.stopped_minutes, reading.wall_minutes) == (
        180,
        420 + 60,
        27 * 60,
    )
    # Counted once, in the period of the final resolution.
    assert november([ticket]).total == 1


def test_status_events_out_of_order_are_refused():
    with pytest.raises(ParameterError) as error:
        stops_from_events(
            [
                StatusEvent(berlin(2026, 11, 9, 10), "waiting_on_customer"),
                StatusEvent(berlin(2026, 11, 9, 9), "in_progress"),
            ]
        )
    assert error.value.field == "events"


# --------------------------------------------------------------------------- bad tickets


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reference": " "}, "reference"),
        ({"resolved_at": berlin(2026, 11, 9, 8)}, "resolved_at"),
        ({"first_response_at": berlin(2026, 11, 9, 8)}, "first_response_at"),
        (
            {"first_response_at": berlin(2026, 11, 9, 12), "resolved_at": berlin(2026, 11, 9, 11)},
            "first_response_at",
        ),
        ({"stops": ((berlin(2026, 11, 9, 12), berlin(2026, 11, 9, 11)),)}, "stops"),
        ({"relief": ((berlin(2026, 11, 9, 12), berlin(2026, 11, 9, 11)),)}, "relief"),
        ({"opened_at": datetime(2026, 11, 9, 9)}, "opened_at"),
    ],
)
def test_a_bad_ticket_is_refused_naming_the_field(kwargs, field):
    values = {"reference": "INC-1", "priority": "P1", "opened_at": berlin(2026, 11, 9, 9)} | kwargs
    with pytest.raises(ParameterError) as error:
        Ticket(**values)
    assert error.value.field == field


def test_relief_and_waiting_that_overlap_stop_the_clock_once():
    ticket = Ticket(
        "INC-31",
        "P1",
        berlin(2026, 11, 9, 9),
        resolved_at=berlin(2026, 11, 9, 17),
        stops=((berlin(2026, 11, 9, 10), berlin(2026, 11, 9, 12)),),
        relief=((berlin(2026, 11, 9, 11), berlin(2026, 11, 9, 13)),),
    )
    reading = ticket_clock(ticket, clock_for())
    assert (reading.business_minutes, reading.stopped_minutes) == (300, 180)


def test_ticket_measures_merge_only_alike():
    one = november(E8_TICKETS[:1])
    two = november(E8_TICKETS[1:3])
    merged = one.merge(two)
    assert (merged.within, merged.total) == (2, 3)
    with pytest.raises(ValueError):
        one.merge(november(E8_TICKETS[:1], threshold=30))
    with pytest.raises(ParameterError):
        TicketMeasure("closure", Decimal(1), None)


def test_a_resolution_on_the_period_boundary_belongs_to_the_later_period():
    # Resolved at 1 Dec 00:00: still open at November's end, with 480 business minutes.
    ticket = Ticket("INC-32", "P1", berlin(2026, 11, 30, 9), resolved_at=berlin(2026, 12, 1))
    (breached,) = november([ticket]).outcomes
    assert (breached.met, breached.clock.running, breached.clock.business_minutes) == (
        False,
        True,
        480,
    )
    assert december([ticket]).total == 0
    # Within a threshold of 480 at November's end, so it counts in December, resolved.
    assert november([ticket], threshold=480).total == 0
    (resolved,) = december([ticket], threshold=480).outcomes
    assert (resolved.met, resolved.clock.running) == (True, False)
    just_in = Ticket(
        "INC-33",
        "P1",
        berlin(2026, 11, 30, 9),
        resolved_at=berlin(2026, 12, 1) - timedelta(seconds=1),
    )
    assert november([just_in]).outcomes[0].clock.running is False


def test_a_negative_threshold_is_refused():
    with pytest.raises(ParameterError) as error:
        threshold_seconds(Decimal(-1))
    assert error.value.field == "threshold"
