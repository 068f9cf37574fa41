"""Objectives measured in service hours and ticket objectives: what evaluate says and
how the sentence reads, and the early warning of one open ticket."""

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from engine import (
    ALWAYS,
    NO_DATA_EXPLANATION,
    BusinessClock,
    ClosedDay,
    CountMeasure,
    Objective,
    ObjectiveError,
    RatioMeasure,
    ServiceCalendar,
    ThresholdMeasure,
    Ticket,
    TicketMeasure,
    UptimeMeasure,
    describe_objective,
    evaluate,
    measure_tickets,
    parse_rule,
    project_breach,
    project_ticket_breach,
    projected_credit_amount,
    ticket_clock,
)

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = ServiceCalendar("Europe/Berlin", {day: [("09:00", "17:00")] for day in range(5)})
EIGHT_TO_SIX = ServiceCalendar(
    "Europe/Berlin",
    {day: [("08:00", "18:00")] for day in range(5)},
    closed_days=[ClosedDay(datetime(2026, 12, 25).date(), "Christmas Day")],
)
PER_STEP = parse_rule({"kind": "per_step", "step": "5", "percent": "2"})


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def resolution(**kwargs) -> Objective:
    fields = {
        "key": "resolution-p1",
        "name": "Resolution P1",
        "indicator": "resolution_time",
        "comparator": "gte",
        "target": Decimal(90),
        "rule": PER_STEP,
        "threshold": Decimal(240),
        "calendar": NINE_TO_FIVE,
        "priority": "P1",
    }
    return Objective(**(fields | kwargs))


E8_TICKETS = [
    Ticket("INC-3", "P1", berlin(2026, 11, 6, 16), resolved_at=berlin(2026, 11, 9, 11)),
    Ticket(
        "INC-5",
        "P1",
        berlin(2026, 11, 10, 10),
        resolved_at=berlin(2026, 11, 10, 16, 30),
        stops=((berlin(2026, 11, 10, 11), berlin(2026, 11, 10, 14)),),
    ),
    Ticket("INC-7", "P1", berlin(2026, 11, 11, 9), resolved_at=berlin(2026, 11, 11, 14, 30)),
    Ticket("INC-8", "P2", berlin(2026, 11, 12, 9), resolved_at=berlin(2026, 11, 13, 17)),
]


def e8_measure(until: datetime | None = None, tickets=E8_TICKETS) -> TicketMeasure:
    until = until or berlin(2026, 12, 1)
    return measure_tickets(
        tickets,
        BusinessClock(NINE_TO_FIVE, berlin(2026, 11, 1), berlin(2026, 12, 1)),
        period_start=berlin(2026, 11, 1),
        period_end=until,
        threshold_minutes=Decimal(240),
        priority="P1",
    )


# --------------------------------------------------------------------------- E8


def test_e8_two_of_three_p1_tickets_within_4_business_hours_breach_90_and_earn_a_credit():
    result = evaluate(resolution(), e8_measure(), fee=Decimal(3000), currency="EUR", at_risk=None)

    assert result.attainment == Fraction(200, 3)
    assert result.met is False
    # 23.333 points short: 5 started steps of 5 points at 2 % each.
    assert result.credit_percent == Decimal(10)
    assert result.amount == Decimal("300.00")
    assert result.explanation == (
        "Resolution P1: 2 of 3 P1 tickets resolved within 4 business hours (66.667 %); "
        "worst: INC-7 330 business minutes; INC-5 210 (180 stopped); "
        "against a target of at least 90 %, 23.333 points short; "
        "5 started steps of 5 at 2 % each = 10 % of 3,000.00 EUR = 300.00 EUR."
    )


def test_a_ticket_objective_on_target_says_so_with_its_tickets():
    met = resolution(target=Decimal(60))

    result = evaluate(
        met, e8_measure(), fee=Decimal(3000), currency="EUR", at_risk=None, period_label="Desk"
    )

    assert result.met is True
    assert result.amount == Decimal("0.00")
    assert result.explanation.startswith("Resolution P1 (Desk): 2 of 3 P1 tickets resolved")
    assert result.explanation.endswith("against a target of at least 60 %: target met, no credit.")


def test_a_period_without_tickets_is_no_data_and_says_which_tickets():
    result = evaluate(
        resolution(), e8_measure(tickets=[]), fee=Decimal(3000), currency="EUR", at_risk=None
    )

    assert (result.attainment, result.met, result.amount) == (None, None, Decimal("0.00"))
    assert result.explanation == "No P1 tickets resolved in this period: no data, no credit."


def test_a_ticket_objective_needs_a_ticket_measure():
    with pytest.raises(TypeError, match="needs a TicketMeasure"):
        evaluate(resolution(), RatioMeasure(2, 3), fee=Decimal(1), currency="EUR", at_risk=None)


@pytest.mark.parametrize("threshold", [None, Decimal(0), Decimal(-5)])
def test_a_ticket_objective_needs_a_threshold_of_minutes_above_zero(threshold):
    with pytest.raises(ObjectiveError) as error:
        resolution(threshold=threshold)
    assert error.value.field == "threshold"


def test_a_blank_priority_means_every_priority():
    assert resolution(priority="").priority is None


def test_a_calendar_must_be_an_engine_calendar():
    with pytest.raises(ObjectiveError) as error:
        resolution(calendar="Mon-Fri")
    assert error.value.field == "calendar"


# --------------------------------------------------------------------------- E9


def uptime(**kwargs) -> Objective:
    return Objective(
        **{
            "key": "availability",
            "name": "Availability",
            "indicator": "uptime",
            "comparator": "gte",
            "target": Decimal("99.5"),
            "rule": PER_STEP,
        }
        | kwargs
    )


def test_e9_uptime_in_service_hours_is_met_and_says_service_hours():
    # Measured by settlement: 12,600 scheduled minutes, 60 of them down.
    measure = UptimeMeasure(12_600 * 60, 60 * 60)

    result = evaluate(
        uptime(calendar=EIGHT_TO_SIX), measure, fee=Decimal(1000), currency="EUR", at_risk=None
    )

    assert result.met is True
    assert result.explanation == (
        "Availability: 99.524 % against a target of at least 99.5 % "
        "(60 min of downtime in 12,600 min of service hours): target met, no credit."
    )


def test_without_a_calendar_the_explanation_is_the_one_it_always_was():
    measure = UptimeMeasure(43_200 * 60, 360 * 60)
    plain = evaluate(uptime(), measure, fee=Decimal(1000), currency="EUR", at_risk=None)
    always = evaluate(
        uptime(calendar=ALWAYS), measure, fee=Decimal(1000), currency="EUR", at_risk=None
    )

    assert plain.explanation == (
        "Availability: 99.167 % against a target of at least 99.5 % (360 min of downtime in "
        "43,200 min scheduled), 0.333 points short; 1 started step of 5 at 2 % each = 2 % of "
        "1,000.00 EUR = 20.00 EUR."
    )
    assert always == plain


@pytest.mark.parametrize(
    ("indicator", "measure", "figures"),
    [
        ("ratio", RatioMeasure(9, 10), "(9 of 10 samples in service hours ok)"),
        ("threshold", ThresholdMeasure(9, 10), "(9 of 10 samples in service hours ≤ 200)"),
        ("count", CountMeasure(Decimal(3), 3), "3 against a target of at most 5 (samples in"),
    ],
)
def test_sample_objectives_in_service_hours_say_which_samples_counted(indicator, measure, figures):
    objective = Objective(
        key="k",
        name="K",
        indicator=indicator,
        comparator="lte" if indicator == "count" else "gte",
        target=Decimal(5) if indicator == "count" else Decimal(80),
        rule=None,
        threshold=Decimal(200) if indicator == "threshold" else None,
        threshold_comparator="lte" if indicator == "threshold" else None,
        calendar=NINE_TO_FIVE,
    )

    result = evaluate(objective, measure, fee=Decimal(100), currency="EUR", at_risk=None)

    assert figures in result.explanation
    assert result.met is True


def test_no_data_in_service_hours_is_the_usual_no_data():
    result = evaluate(
        uptime(calendar=NINE_TO_FIVE),
        UptimeMeasure(0, 0),
        fee=Decimal(1),
        currency="EUR",
        at_risk=None,
    )
    assert result.explanation == NO_DATA_EXPLANATION


# --------------------------------------------------------------------------- sentences


def test_the_sentence_says_the_service_hours_and_where_the_holidays_come_from():
    text = describe_objective(
        uptime(calendar=EIGHT_TO_SIX),
        service_name="Internet 1G",
        period_name="month",
        closed_days_text="public holidays in Germany (BE)",
    )

    assert text == (
        "Availability of Internet 1G is at least 99.5 % of each month during service hours "
        "Mon–Fri 08:00–18:00 Europe/Berlin, public holidays in Germany (BE) excluded; below it "
        "the customer is credited 2 % of that month's fee for every started step of 5 points."
    )


def test_a_calendar_with_closed_days_of_unknown_origin_says_closed_days():
    text = describe_objective(
        uptime(calendar=EIGHT_TO_SIX), service_name="Internet 1G", period_name="month"
    )
    assert "Europe/Berlin, closed days excluded; below it" in text


def test_the_sentence_without_a_calendar_or_around_the_clock_is_unchanged():
    plain = describe_objective(uptime(), service_name="Internet 1G", period_name="month")
    assert plain == describe_objective(
        uptime(calendar=ALWAYS), service_name="Internet 1G", period_name="month"
    )
    assert plain == (
        "Availability of Internet 1G is at least 99.5 % of each month; below it the customer "
        "is credited 2 % of that month's fee for every started step of 5 points."
    )


def test_a_ticket_objective_reads_as_tickets_within_business_hours():
    assert describe_objective(resolution(), service_name="Service desk", period_name="month") == (
        "Resolution P1: at least 90 % of P1 tickets of Service desk are resolved within "
        "4 business hours each month during service hours Mon–Fri 09:00–17:00 Europe/Berlin; "
        "below it the customer is credited 2 % of that month's fee for every started step of "
        "5 points."
    )
    answered = resolution(
        indicator="response_time", threshold=Decimal(15), calendar=None, priority=None
    )
    assert describe_objective(answered, service_name="Desk", period_name="week").startswith(
        "Resolution P1: at least 90 % of tickets of Desk are answered within 15 minutes each week;"
    )


# --------------------------------------------------------------------------- early warning


def test_a_ticket_objective_is_projected_like_a_ratio_of_tickets():
    tickets = [
        Ticket(f"INC-{n}", "P1", berlin(2026, 11, 2, 9), resolved_at=berlin(2026, 11, 2, 10))
        for n in range(10)
    ] + [
        Ticket(f"LATE-{n}", "P1", berlin(2026, 11, 3, 9), resolved_at=berlin(2026, 11, 4, 16))
        for n in range(2)
    ]
    measure = e8_measure(until=berlin(2026, 11, 16), tickets=tickets)
    assert (measure.within, measure.total) == (10, 12)

    warning = project_breach(resolution(), measure, Fraction(1, 2))

    assert warning is not None
    # 10 of 12 now; at best 22 of the 24 expected by the end, so not yet lost.
    assert warning.state == "at_risk"
    assert warning.attainment_so_far == Fraction(250, 3)
    assert project_breach(resolution(target=Decimal(80)), measure, Fraction(1, 2)) is None


def test_an_open_ticket_about_to_pass_its_threshold_projects_the_credit():
    open_ticket = Ticket("INC-9", "P1", berlin(2026, 11, 12, 9))
    now = berlin(2026, 11, 12, 12, 40)  # 220 business minutes so far
    clock = ticket_clock(
        open_ticket, BusinessClock(NINE_TO_FIVE, berlin(2026, 11, 1), berlin(2026, 12, 1)), now
    )
    so_far = e8_measure(until=now)
    assert (so_far.within, so_far.total) == (2, 3)

    warning = project_ticket_breach(resolution(), so_far, reference="INC-9", clock=clock)

    assert warning.state == "at_risk"
    assert warning.projected_attainment == Fraction(50)
    # 40 points short: 8 steps of 2 %.
    assert warning.projected_credit_percent == Decimal(16)
    assert warning.explanation == (
        "Resolution P1: ticket INC-9 passes 4 business hours in 20 business minutes "
        "(220 used); counted as breached, 2 of 4 tickets within (50.000 %) against at least "
        "90 %; projected credit 16 % of the fee."
    )
    amount = projected_credit_amount(
        resolution(), warning, fee=Decimal(3000), currency="EUR", at_risk=None
    )
    assert amount == Decimal("480.00")


def test_a_ticket_already_past_its_threshold_is_breached_and_counted_once():
    late = Ticket("INC-9", "P1", berlin(2026, 11, 12, 9))
    now = berlin(2026, 11, 13, 9)  # 480 business minutes: counted already at ``now``
    so_far = e8_measure(until=now, tickets=[*E8_TICKETS, late])
    assert so_far.total == 4
    clock = ticket_clock(
        late, BusinessClock(NINE_TO_FIVE, berlin(2026, 11, 1), berlin(2026, 12, 1)), now
    )

    warning = project_ticket_breach(
        resolution(target=Decimal(40)), so_far, reference="INC-9", clock=clock
    )

    assert warning.state == "breached"
    assert warning.projected_attainment == Fraction(50)
    assert warning.explanation.endswith(
        "ticket INC-9 has passed 4 business hours (480 business minutes); counted as breached, "
        "2 of 4 tickets within (50.000 %) against at least 40 %, still on target."
    )
