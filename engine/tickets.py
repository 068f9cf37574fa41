"""Ticket clocks: business time to first response and to resolution, less stopped time.

A ticket's clock runs in the objective's calendar (a :class:`~engine.calendars.BusinessClock`)
from ``opened_at`` to ``first_response_at`` (``response``) or ``resolved_at``
(``resolution``), and stands still inside its stops: while the ticket waits on the
customer, and while a lapse of a customer responsibility linked to the objective lasts
(``relief``). Stops that overlap count once; only their business time is subtracted.

Reopened tickets. ``resolved_at`` is the final resolution. The time a ticket stood
resolved before it was reopened is not the provider's: it is a stop like waiting on the
customer. :func:`stops_from_events` derives both kinds of stop from the ticket's status
events; the clock then runs from ``opened_at`` to the last resolution and counts only the
time the ticket was really open.

Which period a ticket counts in (:func:`period_outcome`), for a period ``[start, end)``:

1. A ticket answered/resolved inside the period counts there with its final clock,
   met when the clock is at most the threshold.
2. A ticket still open at the period's end (not answered/resolved before ``end``) whose
   running clock at ``end`` is already over the threshold counts there as breached.
3. A ticket counts once: it is left out of a period if, at the period's start, it was
   still open and its clock was already over the threshold, because rule 2 counted it in
   the period that ended then. The clock never runs backwards, so "over the threshold
   at this period's start" is the same as "counted at the end of some earlier period";
   no list of earlier periods is needed, and settling periods in any order, or again,
   gives the same answer.

The threshold and calendar are the ones given for the period being measured: when an
amendment changes them, an open ticket is judged by the terms of each period it meets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor

from engine.calendars import BusinessClock, epoch_seconds
from engine.errors import ParameterError
from engine.intervals import Instant, Interval
from engine.l10n import gettext_noop, ngettext_noop
from engine.phrases import Parts, Value, count, exact, join, message, plural, render
from engine.phrases import attainment as phrases_attainment

TICKET_CLOCK_KINDS: tuple[str, ...] = ("response", "resolution")
STOPPING_STATUSES: frozenset[str] = frozenset({"waiting_on_customer", "resolved"})

_Stop = tuple[int, int | None]


def _seconds(instant: Instant, name: str) -> int:
    try:
        return epoch_seconds(instant)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{name}: {error}", field=name) from None


def _stops(intervals: Iterable[Interval], name: str) -> list[_Stop]:
    stops: list[_Stop] = []
    for interval in intervals:
        try:
            start, end = interval
        except (TypeError, ValueError):
            raise ParameterError(
                f"a stop is a (start, end) pair, not {interval!r}", field=name
            ) from None
        first = _seconds(start, name)
        last = None if end is None else _seconds(end, name)
        if last is not None and last < first:
            raise ParameterError("a stop cannot end before it starts", field=name)
        stops.append((first, last))
    return stops


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket as its clocks see it.

    ``stops`` are the intervals in which it waited on the customer (or stood resolved
    before a reopen), ``relief`` the lapses of linked customer responsibilities; an
    interval ending in ``None`` is still going on. Instants are aware datetimes or epoch
    seconds. Construction raises :class:`~engine.errors.ParameterError` naming the field
    for a response or resolution before the ticket was opened, a response after the
    resolution, or a stop that ends before it starts.
    """

    reference: str
    priority: str
    opened_at: Instant
    first_response_at: Instant | None = None
    resolved_at: Instant | None = None
    stops: tuple[Interval, ...] = ()
    relief: tuple[Interval, ...] = ()
    _opened: int = field(init=False, repr=False, compare=False)
    _responded: int | None = field(init=False, repr=False, compare=False)
    _resolved: int | None = field(init=False, repr=False, compare=False)
    _stop_spans: tuple[_Stop, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.reference, str) or not self.reference.strip():
            raise ParameterError("a ticket needs a reference", field="reference")
        if not isinstance(self.priority, str):
            raise ParameterError("a priority is a short code such as P1", field="priority")
        opened = _seconds(self.opened_at, "opened_at")
        responded = resolved = None
        if self.first_response_at is not None:
            responded = _seconds(self.first_response_at, "first_response_at")
            if responded < opened:
                raise ParameterError(
                    "the first response cannot come before the ticket was opened",
                    field="first_response_at",
                )
        if self.resolved_at is not None:
            resolved = _seconds(self.resolved_at, "resolved_at")
            if resolved < opened:
                raise ParameterError(
                    "a ticket cannot be resolved before it was opened", field="resolved_at"
                )
            if responded is not None and responded > resolved:
                raise ParameterError(
                    "the first response cannot come after the resolution",
                    field="first_response_at",
                )
        stops = _stops(self.stops, "stops") if self.stops else []
        if self.relief:
            stops += _stops(self.relief, "relief")
        if type(self.stops) is not tuple:
            object.__setattr__(self, "stops", tuple(self.stops))
        if type(self.relief) is not tuple:
            object.__setattr__(self, "relief", tuple(self.relief))
        object.__setattr__(self, "_opened", opened)
        object.__setattr__(self, "_responded", responded)
        object.__setattr__(self, "_resolved", resolved)
        object.__setattr__(self, "_stop_spans", tuple(stops))

    def done_at(self, kind: str) -> int | None:
        """Epoch seconds of the first response (``response``) or the final resolution
        (``resolution``); ``None`` while it has not happened."""
        if kind == "resolution":
            return self._resolved
        if kind == "response":
            return self._responded
        raise ValueError(f"unknown ticket clock {kind!r}: use response or resolution")


@dataclass(frozen=True, slots=True)
class TicketClock:
    """One ticket's clock: business seconds (less stopped time), the business seconds
    it stood still, and wall-clock seconds from opening; ``running`` when the ticket was
    not yet answered/resolved at the instant the clock was read."""

    business_seconds: int
    stopped_seconds: int
    wall_seconds: int
    running: bool = False

    @property
    def business_minutes(self) -> Fraction:
        return Fraction(self.business_seconds, 60)

    @property
    def stopped_minutes(self) -> Fraction:
        return Fraction(self.stopped_seconds, 60)

    @property
    def wall_minutes(self) -> Fraction:
        return Fraction(self.wall_seconds, 60)


def _read(
    ticket: Ticket, clock: BusinessClock, opened: int, end: int, running: bool
) -> TicketClock:
    at = clock.at
    stopped = clock.stopped_seconds(opened, end, ticket._stop_spans) if ticket._stop_spans else 0
    return TicketClock(at(end) - at(opened) - stopped, stopped, end - opened, running)


def ticket_clock(
    ticket: Ticket,
    clock: BusinessClock,
    until: Instant | None = None,
    kind: str = "resolution",
) -> TicketClock:
    """The ticket's ``response`` or ``resolution`` clock: final when that happened by
    ``until`` (or ``until`` is ``None``), else running and read at ``until``.

    Raises ``ValueError`` for a ticket still open without ``until``, and for ``until``
    before the ticket was opened.
    """
    done = ticket.done_at(kind)
    opened = ticket._opened
    if until is None:
        if done is None:
            raise ValueError(
                f"ticket {ticket.reference} is still open: read its clock at an instant"
            )
        return _read(ticket, clock, opened, done, False)
    limit = epoch_seconds(until)
    if limit < opened:
        raise ValueError(f"ticket {ticket.reference} was not yet opened at that instant")
    if done is not None and done <= limit:
        return _read(ticket, clock, opened, done, False)
    return _read(ticket, clock, opened, limit, True)


# --------------------------------------------------------------------------- periods


def threshold_seconds(threshold_minutes: Decimal | int | Fraction) -> int:
    """The most whole business seconds a clock may show and still be within
    ``threshold_minutes``: a clock of s seconds is within it exactly when s is at most
    this (a threshold of 0.5 minutes allows 30 seconds)."""
    if isinstance(threshold_minutes, float):
        raise TypeError("a threshold is exact: pass a Decimal, an int or a Fraction")
    limit = Fraction(threshold_minutes) * 60
    if limit < 0:
        raise ParameterError("a ticket threshold cannot be negative", field="threshold")
    return floor(limit)


@dataclass(frozen=True, slots=True)
class TicketOutcome:
    """How one ticket counts in one period: its clock and whether it was within the
    threshold (a ticket still open counts only when already breached)."""

    reference: str
    priority: str
    clock: TicketClock
    met: bool


def period_outcome(
    ticket: Ticket,
    clock: BusinessClock,
    *,
    period_start: Instant,
    period_end: Instant,
    limit_seconds: int,
    kind: str = "resolution",
) -> TicketOutcome | None:
    """How ``ticket`` counts in the period ``[period_start, period_end)``, or ``None``
    when it does not count there (see the module's rules 1–3). ``limit_seconds`` is
    :func:`threshold_seconds` of the objective's threshold."""
    start = epoch_seconds(period_start)
    end = epoch_seconds(period_end)
    done = ticket.done_at(kind)
    opened = ticket._opened
    if opened >= end or (done is not None and done < start):
        return None
    if done is not None and done < end:
        reading = _read(ticket, clock, opened, done, False)
    else:
        reading = _read(ticket, clock, opened, end, True)
        if reading.business_seconds <= limit_seconds:
            return None  # still open and within the threshold: it counts later
    if opened < start and _read(ticket, clock, opened, start, True).business_seconds > (
        limit_seconds
    ):
        return None  # already counted as breached at the end of an earlier period
    return TicketOutcome(
        ticket.reference, ticket.priority, reading, reading.business_seconds <= limit_seconds
    )


# --------------------------------------------------------------------------- deadlines


def stops_while_open(ticket: Ticket, kind: str = "resolution") -> list[_Stop]:
    """The ticket's stops (and relief) inside ``[opened, done)`` for its clock of ``kind``
    (from ``opened`` on while not done), in epoch seconds, sorted and merged; an open stop
    ends in ``None``."""
    return _stops_while_open(ticket, ticket.done_at(kind))


def _stops_while_open(ticket: Ticket, done: int | None) -> list[_Stop]:
    opened = ticket._opened
    spans: list[_Stop] = []
    for first, last in sorted(ticket._stop_spans, key=lambda stop: stop[0]):
        first = max(first, opened)
        if done is not None:
            last = done if last is None else min(last, done)
        if last is not None and last <= first:
            continue
        if spans and (spans[-1][1] is None or first <= spans[-1][1]):
            previous_first, previous_last = spans[-1]
            if previous_last is not None and (last is None or last > previous_last):
                spans[-1] = (previous_first, last)
            continue
        spans.append((first, last))
    return spans


def clock_deadline(
    ticket: Ticket, clock: BusinessClock, limit_seconds: int, kind: str = "resolution"
) -> int | None:
    """The last instant (epoch seconds) at which the ticket's clock of ``kind`` still reads
    at most ``limit_seconds``; ``None`` when it never passes them: answered/resolved
    within them, stopped for good before (waiting on the customer still), or a calendar
    without enough service time.

    With it, :func:`period_outcome` is a comparison of instants (``d`` the response or
    resolution, ``t`` this deadline, ``None`` as infinity), which lets a database count a
    period's tickets from an index:

    - answered/resolved in ``[start, end)``: counts unless ``t < start``; met when ``d <= t``;
    - still open at ``end``: counts, breached, when ``start <= t < end``.
    """
    done = ticket.done_at(kind)
    needed = limit_seconds + 1  # the first business second past the threshold
    at = clock.at
    running_from = ticket._opened
    for first, last in _stops_while_open(ticket, done):
        if first > running_from:
            gained = at(first) - at(running_from)
            if gained >= needed:
                return _last_within(clock, running_from, needed)
            needed -= gained
        if last is None:
            return None
        running_from = last
    if done is not None and at(done) - at(running_from) < needed:
        return None
    return _last_within(clock, running_from, needed)


def _last_within(clock: BusinessClock, running_from: int, needed: int) -> int | None:
    passed = clock.reaching(running_from, needed)
    return None if passed is None else passed - 1


def ticket_fingerprint(ticket: Ticket, kind: str = "resolution") -> int:
    """A signed 64-bit summary of everything the ticket's clock of ``kind`` is read from
    (reference, priority, opening, response or resolution, stops while open): two
    tickets with the same fingerprint have the same clock in any calendar and period."""
    done = ticket.done_at(kind)
    stops = ",".join(
        f"{first}-{'' if last is None else last}" for first, last in _stops_while_open(ticket, done)
    )
    text = f"{ticket.reference}\t{ticket.priority}\t{ticket._opened}\t{done}\t{stops}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def tickets_digest(fingerprints: Iterable[int], clock_key: str) -> str:
    """The digest of the tickets a line counted: their fingerprints summed (so that any
    order gives the same, and a database can add them up) with the key of the clock they
    were read with (its calendar's definition, kind and threshold)."""
    total = sum(fingerprints) % 2**64
    return hashlib.sha256(f"{clock_key}\n{total}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TicketMeasure:
    """The tickets of one objective in one period: the percent whose clock was within
    the threshold. Quacks like the other measures (``attainment``, ``merge``), and keeps
    every ticket's outcome for the explanation and the drill-down."""

    kind: str
    threshold_minutes: Decimal
    priority: str | None
    outcomes: tuple[TicketOutcome, ...] = ()
    business_hours: bool = True

    def __post_init__(self) -> None:
        if self.kind not in TICKET_CLOCK_KINDS:
            raise ParameterError(
                f"unknown ticket clock {self.kind!r}: use response or resolution", field="kind"
            )

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def within(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.met)

    @property
    def attainment(self) -> Fraction | None:
        """Percent of the period's tickets within the threshold; ``None`` without tickets."""
        return Fraction(100 * self.within, self.total) if self.outcomes else None

    def merge(self, other: TicketMeasure) -> TicketMeasure:
        """The tickets of both measures together (same clock, threshold and priority)."""
        if not isinstance(other, TicketMeasure):
            raise TypeError("only ticket measures merge with a ticket measure")
        if (self.kind, self.threshold_minutes, self.priority) != (
            other.kind,
            other.threshold_minutes,
            other.priority,
        ):
            raise ValueError("ticket measures merge only for the same clock, threshold, priority")
        return TicketMeasure(
            self.kind,
            self.threshold_minutes,
            self.priority,
            self.outcomes + other.outcomes,
            self.business_hours and other.business_hours,
        )

    def worst(self, count: int) -> list[TicketOutcome]:
        """The ``count`` tickets with the longest clocks, longest first."""
        return sorted(self.outcomes, key=lambda o: (-o.clock.business_seconds, o.reference))[:count]


def measure_tickets(
    tickets: Iterable[Ticket],
    clock: BusinessClock,
    *,
    period_start: Instant,
    period_end: Instant,
    threshold_minutes: Decimal | int,
    kind: str = "resolution",
    priority: str | None = None,
) -> TicketMeasure:
    """The ticket measure of one objective for the period ``[period_start, period_end)``:
    the tickets of ``priority`` (all when ``None``) that count in the period, each with
    its clock in ``clock``'s calendar."""
    if kind not in TICKET_CLOCK_KINDS:
        raise ParameterError(
            f"unknown ticket clock {kind!r}: use response or resolution", field="kind"
        )
    limit = threshold_seconds(threshold_minutes)
    start = epoch_seconds(period_start)
    end = epoch_seconds(period_end)
    if end < start:
        raise ValueError("a period cannot end before it starts")
    outcomes = []
    for ticket in tickets:
        if priority is not None and ticket.priority != priority:
            continue
        outcome = period_outcome(
            ticket, clock, period_start=start, period_end=end, limit_seconds=limit, kind=kind
        )
        if outcome is not None:
            outcomes.append(outcome)
    return TicketMeasure(
        kind, Decimal(threshold_minutes), priority, tuple(outcomes), clock.calendar is not None
    )


# --------------------------------------------------------------------------- sentences


def describe_threshold(threshold_minutes: Decimal | int, *, business_hours: bool = True) -> str:
    """``"4 business hours"``, ``"30 business minutes"``; ``"4 hours"`` around the clock."""
    return render(threshold_parts(threshold_minutes, business_hours=business_hours))


def threshold_parts(threshold_minutes: Decimal | int, *, business_hours: bool = True) -> Parts:
    """:func:`describe_threshold` as parts (:mod:`engine.phrases`)."""
    minutes = Fraction(threshold_minutes)
    if minutes and minutes % 60 == 0:
        number = minutes / 60
        if business_hours:
            forms = ngettext_noop("%(count)s business hour", "%(count)s business hours")
        else:
            forms = ngettext_noop("%(count)s hour", "%(count)s hours")
    else:
        number = minutes
        if business_hours:
            forms = ngettext_noop("%(count)s business minute", "%(count)s business minutes")
        else:
            forms = ngettext_noop("%(count)s minute", "%(count)s minutes")
    return plural(forms, _form(number), count=exact(number))


def _form(count: Fraction) -> int:
    # The plural form's number: 1 for exactly one, else any other (1.5 hours are plural).
    return 1 if count == 1 else 2


def describe_ticket(outcome: TicketOutcome, *, unit: str = "") -> str:
    """``"INC-5 210 (180 stopped)"``; with ``unit`` ``"INC-7 330 business minutes"``."""
    return render(_ticket_parts(outcome, unit=unit))


def _ticket_parts(outcome: TicketOutcome, *, unit: str = "") -> Parts:
    clock = outcome.clock
    minutes = exact(clock.business_minutes)
    if unit == "business minutes":
        text = message(
            gettext_noop("%(ticket)s %(minutes)s business minutes"),
            ticket=outcome.reference,
            minutes=minutes,
        )
    elif unit:
        text = message(
            gettext_noop("%(ticket)s %(minutes)s minutes"),
            ticket=outcome.reference,
            minutes=minutes,
        )
    else:
        text = join([outcome.reference, minutes], " ")
    stopped = exact(clock.stopped_minutes)
    if clock.stopped_seconds and clock.running:
        return message(
            gettext_noop("%(ticket)s (%(stopped)s stopped, still open)"),
            ticket=text,
            stopped=stopped,
        )
    if clock.stopped_seconds:
        return message(
            gettext_noop("%(ticket)s (%(stopped)s stopped)"), ticket=text, stopped=stopped
        )
    if clock.running:
        return message(gettext_noop("%(ticket)s (still open)"), ticket=text)
    return text


def explain_tickets(measure: TicketMeasure, *, worst: int = 3) -> str:
    """The figures of a ticket measure in one sentence, naming the worst tickets:
    "2 of 3 P1 tickets resolved within 4 business hours (66.667 %); worst: INC-7 330
    business minutes; INC-5 210 (180 stopped)"."""
    return render(ticket_parts(measure, worst=worst))


def ticket_parts(measure: TicketMeasure, *, worst: int = 3) -> Parts:
    """:func:`explain_tickets` as parts (:mod:`engine.phrases`)."""
    resolved = measure.kind == "resolution"
    priority = measure.priority
    attainment = measure.attainment
    if attainment is None:
        if priority:
            text = (
                gettext_noop("No %(priority)s tickets resolved in this period: no data")
                if resolved
                else gettext_noop("No %(priority)s tickets answered in this period: no data")
            )
            return message(text, priority=priority)
        return message(
            gettext_noop("No tickets resolved in this period: no data")
            if resolved
            else gettext_noop("No tickets answered in this period: no data")
        )
    figures: dict[str, Value] = {
        "within": count(measure.within),
        "total": count(measure.total),
        "threshold": threshold_parts(
            measure.threshold_minutes, business_hours=measure.business_hours
        ),
        "attainment": phrases_attainment(attainment),
    }
    if priority:
        text = (
            gettext_noop(
                "%(within)s of %(total)s %(priority)s tickets resolved within %(threshold)s "
                "(%(attainment)s %%)"
            )
            if resolved
            else gettext_noop(
                "%(within)s of %(total)s %(priority)s tickets answered within %(threshold)s "
                "(%(attainment)s %%)"
            )
        )
        figures["priority"] = priority
    else:
        text = (
            gettext_noop(
                "%(within)s of %(total)s tickets resolved within %(threshold)s (%(attainment)s %%)"
            )
            if resolved
            else gettext_noop(
                "%(within)s of %(total)s tickets answered within %(threshold)s (%(attainment)s %%)"
            )
        )
    parts = message(text, **figures)
    named = measure.worst(worst)
    if not named:
        return parts
    unit = "business minutes" if measure.business_hours else "minutes"
    tickets = [_ticket_parts(named[0], unit=unit)]
    tickets += [_ticket_parts(outcome) for outcome in named[1:]]
    return message(
        gettext_noop("%(figures)s; worst: %(tickets)s"), figures=parts, tickets=join(tickets, "; ")
    )


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A ticket entered ``status`` at ``at``."""

    at: Instant
    status: str


def stops_from_events(
    events: Sequence[StatusEvent], *, stopping: frozenset[str] = STOPPING_STATUSES
) -> tuple[Interval, ...]:
    """The intervals in which a ticket's clock stands, from its status events in time
    order: from entering a ``stopping`` status (waiting on the customer, resolved) to the
    next event into a status that is not; the last one ends in ``None`` when the ticket
    is still in a stopping status. A resolution followed by a reopen is thus a stop, and
    the ticket's ``resolved_at`` is its final resolution. Raises
    :class:`~engine.errors.ParameterError` (``events``) for events out of order."""
    stops: list[Interval] = []
    stopped_since: int | None = None
    previous: int | None = None
    for event in events:
        at = _seconds(event.at, "events")
        if previous is not None and at < previous:
            raise ParameterError("status events must be in time order", field="events")
        previous = at
        if event.status in stopping:
            if stopped_since is None:
                stopped_since = at
        elif stopped_since is not None:
            if at > stopped_since:
                stops.append((stopped_since, at))
            stopped_since = None
    if stopped_since is not None:
        stops.append((stopped_since, None))
    return tuple(stops)
