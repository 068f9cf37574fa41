"""The credit engine: the pure arithmetic of service levels and service credits.

It takes plain values (periods, aggregated measurements, intervals, objectives, credit
rules and fees) and returns attainment, credits and the plain-language explanation of
every figure. It never touches the database, the clock or the network: settlement, the
API, the browser and the early warning all call the same functions, so they cannot
disagree, and every rule can be checked exhaustively with property tests.

Exactness. Attainment is a ``Fraction`` and is compared exactly (969 of 1,000 samples
against a target of 96.9 is met). Money is ``Decimal`` and is rounded in exactly one
place, :func:`quantize_money` (the currency's minor unit, ROUND_HALF_UP). Every figure
becomes text through :mod:`engine.text`, on every surface. ``float`` is
never used; a float that arrives in a rule is read through its shortest decimal text.

Instants. Intervals are ``(start, end)`` pairs of timezone-aware datetimes or integer
POSIX seconds; internally they become whole seconds since the epoch (sub-second parts
are truncated), so a DST change can never stretch or shrink a duration. An ``end`` of
``None`` means "still open" and runs to the end of the window being measured.
"""

from engine.calendars import (
    ALWAYS,
    BusinessClock,
    ClosedDay,
    ServiceCalendar,
    describe_calendar,
    service_intervals,
)
from engine.cap import CapResult, apply_cap
from engine.errors import ObjectiveError, ParameterError, RuleError
from engine.evaluation import LineResult, Objective, ObjectiveMeasure, credit_percent_for, evaluate
from engine.intervals import Instant, Interval, to_epoch_seconds, union_length, uptime_attainment
from engine.measures import CountMeasure, Measure, RatioMeasure, ThresholdMeasure, UptimeMeasure
from engine.money import at_risk_amount, is_currency, minor_units, quantize_money
from engine.numbers import stored_attainment, threshold_met
from engine.periods import (
    Period,
    active_fraction,
    active_interval,
    elapsed_fraction,
    next_period,
    period_containing,
    periods_between,
    previous_period,
    prorate,
)
from engine.projection import (
    MIN_SAMPLES,
    BreachWarning,
    describe_too_few,
    project_breach,
    project_ticket_breach,
    projected_credit_amount,
    too_few_samples,
)
from engine.rules import (
    CreditRule,
    FlatRule,
    LinearRule,
    PerStepRule,
    PoolRule,
    Tier,
    TieredRule,
    parse_rule,
    validate_rule_for,
)
from engine.sentences import describe_objective, describe_rule
from engine.text import format_attainment, format_money
from engine.tickets import (
    TICKET_CLOCK_KINDS,
    StatusEvent,
    Ticket,
    TicketClock,
    TicketMeasure,
    TicketOutcome,
    clock_deadline,
    explain_tickets,
    measure_tickets,
    period_outcome,
    stops_from_events,
    stops_while_open,
    threshold_seconds,
    ticket_clock,
    ticket_fingerprint,
    tickets_digest,
)
from engine.vocabulary import (
    COMPARATORS,
    INDICATORS,
    NO_DATA_EXPLANATION,
    PERIOD_KINDS,
    RULE_KINDS,
    TICKET_INDICATORS,
)

# Grouped by job, as a reader looks for them; alphabetical within a group.
__all__ = [  # noqa: RUF022
    # Errors: each names the field it is about.
    "ObjectiveError",
    "ParameterError",
    "RuleError",
    # The names the engine accepts.
    "COMPARATORS",
    "INDICATORS",
    "NO_DATA_EXPLANATION",
    "PERIOD_KINDS",
    "RULE_KINDS",
    "TICKET_INDICATORS",
    # Numbers and money.
    "at_risk_amount",
    "is_currency",
    "minor_units",
    "quantize_money",
    "stored_attainment",
    "threshold_met",
    # Periods and proration.
    "Period",
    "active_fraction",
    "active_interval",
    "elapsed_fraction",
    "next_period",
    "period_containing",
    "periods_between",
    "previous_period",
    "prorate",
    # Intervals of time and what was measured.
    "Instant",
    "Interval",
    "to_epoch_seconds",
    "union_length",
    "uptime_attainment",
    "CountMeasure",
    "Measure",
    "RatioMeasure",
    "ThresholdMeasure",
    "UptimeMeasure",
    # Service calendars and business time.
    "ALWAYS",
    "BusinessClock",
    "ClosedDay",
    "ServiceCalendar",
    "describe_calendar",
    "service_intervals",
    # Tickets and their clocks.
    "TICKET_CLOCK_KINDS",
    "StatusEvent",
    "Ticket",
    "TicketClock",
    "TicketMeasure",
    "TicketOutcome",
    "clock_deadline",
    "explain_tickets",
    "measure_tickets",
    "period_outcome",
    "stops_from_events",
    "stops_while_open",
    "threshold_seconds",
    "ticket_clock",
    "ticket_fingerprint",
    "tickets_digest",
    # Credit rules.
    "CreditRule",
    "FlatRule",
    "LinearRule",
    "PerStepRule",
    "PoolRule",
    "Tier",
    "TieredRule",
    "parse_rule",
    "validate_rule_for",
    # Evaluation and the cap.
    "LineResult",
    "Objective",
    "ObjectiveMeasure",
    "credit_percent_for",
    "evaluate",
    "CapResult",
    "apply_cap",
    # Early warning.
    "BreachWarning",
    "MIN_SAMPLES",
    "describe_too_few",
    "project_breach",
    "too_few_samples",
    "project_ticket_breach",
    "projected_credit_amount",
    # Sentences and figures as text.
    "describe_objective",
    "describe_rule",
    "format_attainment",
    "format_money",
]
