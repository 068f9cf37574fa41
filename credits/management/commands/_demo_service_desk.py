"""The demo's service desk: Fabrikam answers Globex's tickets in Berlin office hours.

One contract, FAB-GLOBEX, measured in the calendar "Berlin office hours" (Mon–Fri
08:00–18:00 Europe/Berlin, the public holidays of Berlin, a company day off entered by
hand): P1 tickets answered within 15 and resolved within 240 business minutes, P2
tickets resolved within 480, and the desk reachable during service hours. A customer
responsibility (remote access) relieves the P1 resolution clock while it lapses.

The contract starts on the first day of the month before the one ``now`` falls in (in
Berlin), so the demo always shows one settled month and one open month. Its tickets are
planned by their business clocks from a fixed seed — a handful breach, some wait on the
customer, a couple are reopened, one runs into the lapse — and go in through
``record_tickets`` as a ticket system would send them: the open month only up to ``now``,
so some of its tickets are still open.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

import engine
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    Organization,
    Responsibility,
    Service,
    ServiceCalendar,
    ServiceLevel,
)
from contracts.selectors import engine_calendar
from contracts.services import (
    add_closure,
    create_calendar,
    record_lapse,
    record_tickets,
    save_contract,
    save_contract_service,
    save_incident,
    save_responsibility,
    save_service,
    save_service_level,
)

REFERENCE = "FAB-GLOBEX"
CALENDAR_NAME = "Berlin office hours"
ZONE = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = [[["08:00", "18:00"]] for _ in range(5)] + [[], []]
SEED = 14
AVAILABILITY_KEY = "desk-availability"
DAY_OFF = "Company day off"

TITLES = {
    "P1": [
        "Tills down in the Hamburg store",
        "Payment terminals offline in three stores",
        "Nobody can log in to the warehouse system",
        "E-mail unavailable for head office",
        "VPN down for all stores",
    ],
    "P2": [
        "Label printer in the warehouse jams",
        "Laptop does not start after update",
        "Shared drive very slow",
        "Scanner not recognised at the till",
        "Outlook keeps asking for the password",
        "Store tablet lost its Wi-Fi",
    ],
    "P3": [
        "Account for a new starter",
        "Second monitor for accounting",
        "Password reset",
        "Install the PDF editor",
        "Move a phone extension",
        "Add a colleague to the sales mailbox",
    ],
}


@dataclass(frozen=True, slots=True)
class ServiceDesk:
    """What the demo's service desk part left behind: its contract and the tickets it
    recorded on this run (none when they were there already)."""

    contract: Contract
    new_tickets: int


@dataclass(slots=True)
class _Plan:
    """A ticket as the demo plans it: business minutes to the first response and to the
    final resolution, and the business minutes it stood waiting on the customer or
    resolved before a reopen (both stop its clock)."""

    priority: str
    opened_at: datetime
    respond: int
    resolve: int
    wait: int = 0
    reopen: int = 0


class _OfficeHours:
    """The calendar's service time over the demo's months, to plan tickets by their
    clocks: which days are open, and the instant some business minutes after another."""

    def __init__(self, calendar: engine.ServiceCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self._spans = engine.service_intervals(calendar, _at(first), _at(last))
        self._ends = [end for _start, end in self._spans]

    def is_open(self, day: date) -> bool:
        return bool(self._calendar.hours[day.weekday()]) and not self._calendar.is_closed(day)

    def open_days(self, first: date, last: date) -> list[date]:
        """The open days of ``[first, last)``."""
        days = (first + timedelta(days=n) for n in range((last - first).days))
        return [day for day in days if self.is_open(day)]

    def after(self, start: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` business minutes after ``start``."""
        at, remaining = int(start.timestamp()), minutes * 60
        for low, high in self._spans[bisect_right(self._ends, at) :]:
            low = max(low, at)
            if high - low >= remaining:
                return datetime.fromtimestamp(low + remaining, UTC).astimezone(ZONE)
            remaining -= high - low
        raise ValueError("the demo plans tickets beyond its calendar's horizon")

    def moment(self, rng: random.Random, day: date) -> datetime:
        """A whole minute inside the day's service hours."""
        opening = self.after(_at(day), 0)
        return self.after(opening, rng.randrange(10 * 60 - 30))


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _first_open(days: list[date], weekday: int, since: int) -> date:
    """The first of the open ``days`` on or after the ``since``-th of the month that falls
    on ``weekday`` (Monday is 0), else the first of them."""
    later = [day for day in days if day.day >= since] or days
    return next((day for day in later if day.weekday() == weekday), later[0])


def load_service_desk(
    *, provider: Organization, customer: Organization, editor: User, now: datetime
) -> ServiceDesk:
    """Fabrikam's service desk for ``customer``: calendar, contract, objectives, a customer
    responsibility, and the tickets, incidents, closure and lapse of its first two months
    up to ``now``. Whatever exists already is kept, so a second run adds nothing."""
    opening_month = (now.astimezone(ZONE).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    calendar = ServiceCalendar.objects.filter(provider=provider, name=CALENDAR_NAME).first()
    new_calendar = calendar is None
    if calendar is None:
        calendar = create_calendar(
            provider=provider,
            name=CALENDAR_NAME,
            timezone=ZONE.key,
            hours=OFFICE_HOURS,
            holiday_country="DE",
            holiday_subdivision="BE",
        )

    service = Service.objects.filter(provider=provider, code="service-desk").first() or (
        save_service(service=Service(provider=provider, code="service-desk", name="Service desk"))
    )
    contract = Contract.objects.filter(provider=provider, reference=REFERENCE).first()
    if contract is None:
        contract = save_contract(
            contract=Contract(
                provider=provider,
                reference=REFERENCE,
                customer=customer,
                title="Service desk for Globex stores and head office",
                currency="EUR",
                start_date=opening_month,
                status="active",
                settlement_period="month",
                timezone=ZONE.key,
                credit_cap_percent=Decimal("15"),
            )
        )
    desk = ContractService.objects.filter(contract=contract, service=service).first()
    if desk is None:
        desk = save_contract_service(
            contract_service=ContractService(
                contract=contract, service=service, fee=Decimal("4000.00")
            )
        )
    resolution = _objectives(contract, calendar)

    remote_access = Responsibility.objects.filter(
        contract=contract, title="Give remote access to affected machines"
    ).first()
    if remote_access is None:
        remote_access = save_responsibility(
            responsibility=Responsibility(
                contract=contract,
                title="Give remote access to affected machines",
                description="The customer lets the service desk connect to an affected "
                "machine within 30 minutes of being asked; while it does not, the P1 "
                "resolution clock stands.",
            ),
            service_levels=[resolution],
        )

    # Every dated thing hangs off the contract's first month, so a run in a later month
    # neither moves nor repeats the story.
    first = contract.start_date
    second = _next_month(first)
    days = _Days(calendar, first, new_closures=new_calendar, now=now)
    if not remote_access.lapses.exists():
        record_lapse(
            responsibility=remote_access,
            start=_at(days.lapse_day, 9),
            end=_at(days.lapse_day, 13),
            note="Remote access to the Hamburg store's tills was refused until noon.",
            user=None,
        )
    if not desk.incidents.filter(key=AVAILABILITY_KEY).exists():
        _incidents(desk, days)
    new_tickets = 0
    if not desk.tickets.exists():
        rng = random.Random(SEED)
        plans = _first_month(rng, days) + _later_month(rng, days.hours, second)
        items = _items(desk, days.hours, plans, now)
        if items:
            new_tickets = record_tickets(user=editor, items=items, now=now).created
    return ServiceDesk(contract=contract, new_tickets=new_tickets)


def _objectives(contract: Contract, calendar: ServiceCalendar) -> ServiceLevel:
    """The contract's four objectives (created once); returns P1 resolution, which the
    customer's responsibility relieves."""
    specs: list[dict[str, Any]] = [
        {
            "key": "p1-response",
            "name": "P1 first response",
            "indicator": "response_time",
            "priority": "P1",
            "threshold": Decimal("15"),
            "target": Decimal("90"),
            "credit_rule": {"kind": "per_step", "step": "5", "percent": "2", "max_percent": "10"},
        },
        {
            "key": "p1-resolution",
            "name": "P1 resolution",
            "indicator": "resolution_time",
            "priority": "P1",
            "threshold": Decimal("240"),
            "target": Decimal("90"),
            "credit_rule": {
                "kind": "tiered",
                "tiers": [
                    {"bound": "90", "percent": "5"},
                    {"bound": "75", "percent": "10"},
                    {"bound": "50", "percent": "25"},
                ],
            },
        },
        {
            "key": "p2-resolution",
            "name": "P2 resolution",
            "indicator": "resolution_time",
            "priority": "P2",
            "threshold": Decimal("480"),
            "target": Decimal("95"),
            "credit_rule": {"kind": "per_step", "step": "1", "percent": "1", "max_percent": "5"},
        },
        {
            "key": AVAILABILITY_KEY,
            "name": "Service desk reachable (phone and portal)",
            "indicator": "uptime",
            "target": Decimal("99.5"),
            "credit_rule": {"kind": "per_step", "step": "0.1", "percent": "1", "max_percent": "10"},
        },
    ]
    by_key: dict[str, ServiceLevel] = {
        level.key: level
        for level in ServiceLevel.objects.filter(contract=contract, level="customer", service=None)
    }
    for spec in specs:
        if spec["key"] not in by_key:
            by_key[spec["key"]] = save_service_level(
                service_level=ServiceLevel(
                    provider_id=contract.provider_id,
                    level="customer",
                    contract=contract,
                    comparator="gte",
                    calendar=calendar,
                    **spec,
                )
            )
    return by_key["p1-resolution"]


class _Days:
    """The days the story of the contract's first month happens on. The calendar's
    closures are entered by hand when the calendar is new."""

    def __init__(
        self, calendar: ServiceCalendar, first: date, *, new_closures: bool, now: datetime
    ) -> None:
        last = _next_month(first)
        stored = calendar.closures.filter(name=DAY_OFF, day__gte=first, day__lt=last).first()
        if stored is not None:
            self.closure = stored.day
        else:
            # A Friday, so that a ticket opened the day before waits over a long weekend.
            before = _office_hours(calendar, first, last)
            self.closure = _first_open(before.open_days(first, last), weekday=4, since=8)
        if new_closures:
            add_closure(calendar=calendar, name=DAY_OFF, day=self.closure)
            # An afternoon off in the weeks ahead, for the calendar's timeline.
            week = now.astimezone(ZONE).date() + timedelta(days=7)
            ahead = _office_hours(calendar, week, week + timedelta(days=14))
            offsite = _first_open(ahead.open_days(week, week + timedelta(days=14)), 2, since=1)
            add_closure(
                calendar=calendar, name="Team offsite", start=_at(offsite, 13), end=_at(offsite, 18)
            )
        # Read with the closures, so that tickets are planned around them.
        self.hours = _office_hours(calendar, first, last)
        self.open = self.hours.open_days(first, last)
        self.lapse_day = _first_open(self.open, weekday=1, since=15)
        self.outage_day = _first_open(self.open, weekday=2, since=20)
        self.saturday = first + timedelta(days=(5 - first.weekday()) % 7)
        self.before_closure = max(day for day in self.open if day < self.closure)
        # P1 and P2 tickets of the first month are opened early enough to be resolved in
        # it, so that the settled month's figures are the planned ones.
        self.planned = [day for day in self.open[:-3] if day != self.lapse_day]


def _office_hours(calendar: ServiceCalendar, first: date, last: date) -> _OfficeHours:
    # Plans reach weeks past the month they start in (a P3 waiting on the customer).
    horizon = last + timedelta(days=62)
    return _OfficeHours(engine_calendar(calendar, first, horizon), first, horizon)


def _incidents(desk: ContractService, days: _Days) -> None:
    """An outage on a Saturday (outside service hours, costs nothing) and one that starts
    at 17:15 on a weekday (only its 45 minutes before 18:00 count)."""
    outages = [
        (_at(days.saturday, 10), _at(days.saturday, 14), "Telephone system down (weekend)"),
        (_at(days.outage_day, 17, 15), _at(days.outage_day, 19), "Ticket portal unreachable"),
    ]
    for started, ended, description in outages:
        save_incident(
            incident=Incident(
                contract_service=desk,
                key=AVAILABILITY_KEY,
                started_at=started,
                ended_at=ended,
                cause=Incident.Cause.PROVIDER,
                description=description,
            )
        )


def _plan(rng: random.Random, priority: str, opened_at: datetime, *, breach: bool = False) -> _Plan:
    """A ticket with the usual clocks of its priority, or one resolved too late."""
    if priority == "P1":
        respond, resolve = rng.randint(3, 14), rng.randint(40, 210)
        if breach:
            resolve = rng.randint(270, 420)
    elif priority == "P2":
        respond, resolve = rng.randint(5, 90), rng.randint(100, 420)
        if breach:
            resolve = rng.randint(520, 900)
    else:
        respond, resolve = rng.randint(10, 300), rng.randint(320, 1800)
    return _Plan(priority, opened_at, respond, resolve)


def _first_month(rng: random.Random, days: _Days) -> list[_Plan]:
    """The settled month: 10 P1 (2 resolved late, 1 answered late, 1 relieved by the
    lapse: 80 % resolved and 90 % answered in time), 30 P2 (2 late: 93.3 %), 40 P3."""
    hours = days.hours
    plans: list[_Plan] = []
    p1 = [_plan(rng, "P1", hours.moment(rng, rng.choice(days.planned))) for _ in range(9)]
    p1[0] = _plan(rng, "P1", p1[0].opened_at, breach=True)
    p1[1] = _plan(rng, "P1", p1[1].opened_at, breach=True)
    p1[2].respond = rng.randint(22, 40)
    p1[2].resolve = max(p1[2].resolve, p1[2].respond + 30)
    p1[3].wait = rng.randint(90, 240)
    # Reported after hours: the clock starts the next morning.
    p1[4].opened_at = _at(rng.choice(days.planned), 18, rng.randint(5, 55))
    # Opened as the customer's remote access lapses (09:00–13:00): 330 business minutes
    # from opening to resolution, of which the 220 until noon are the customer's.
    p1.append(_Plan("P1", _at(days.lapse_day, 9, 20), respond=8, resolve=330))
    plans += p1

    p2 = [_plan(rng, "P2", hours.moment(rng, rng.choice(days.planned))) for _ in range(30)]
    p2[0] = _plan(rng, "P2", p2[0].opened_at, breach=True)
    p2[1] = _plan(rng, "P2", p2[1].opened_at, breach=True)
    for waiting in p2[2:6]:
        waiting.wait = rng.randint(240, 900)
        waiting.resolve = min(waiting.resolve, 420)
    p2[6].reopen = rng.randint(60, 480)
    # Opened the afternoon before the company day off: resolved on Monday morning.
    p2[7] = _Plan("P2", _at(days.before_closure, 16), respond=20, resolve=300)
    plans += p2

    p3 = [_plan(rng, "P3", hours.moment(rng, rng.choice(days.open))) for _ in range(40)]
    for waiting in p3[:4]:
        waiting.wait = rng.randint(300, 1500)
    p3[4].reopen = rng.randint(120, 900)
    plans += p3
    return plans


def _later_month(rng: random.Random, hours: _OfficeHours, first: date) -> list[_Plan]:
    """The open month, planned whole; only what has happened by ``now`` is sent."""
    days = hours.open_days(first, _next_month(first))
    plans: list[_Plan] = []
    for priority, count in (("P1", 6), ("P2", 20), ("P3", 25)):
        batch = [_plan(rng, priority, hours.moment(rng, rng.choice(days))) for _ in range(count)]
        if priority != "P3":
            batch[0] = _plan(rng, priority, batch[0].opened_at, breach=True)
        batch[1].wait = rng.randint(120, 600)
        if priority == "P2":
            batch[2].reopen = rng.randint(60, 300)
        plans += batch
    return plans


def _history(hours: _OfficeHours, plan: _Plan) -> list[tuple[datetime, str]]:
    """The ticket's status events: after ``respond`` minutes it is in progress, halfway
    through the work it may wait on the customer, two thirds through it may be resolved
    and reopened, and it is resolved when its clock reaches ``resolve``."""
    steps = [("in_progress", plan.respond)]
    work = plan.resolve - plan.respond
    if plan.wait:
        done = work // 2
        steps += [("waiting_on_customer", done), ("in_progress", plan.wait)]
        work -= done
    if plan.reopen:
        done = work * 2 // 3
        steps += [("resolved", done), ("reopened", plan.reopen)]
        work -= done
    steps.append(("resolved", work))
    at, events = plan.opened_at, [(plan.opened_at, "open")]
    for status, minutes in steps:
        at = hours.after(at, minutes)
        events.append((at, status))
    return events


def _items(
    desk: ContractService, hours: _OfficeHours, plans: list[_Plan], now: datetime
) -> list[dict[str, Any]]:
    """The tickets as a ticket system sends them at ``now``: what has not happened yet is
    left out, so a ticket may still be open, answered or waiting on the customer."""
    titles = random.Random(SEED)
    items: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    for plan in sorted(plans, key=lambda plan: plan.opened_at):
        if plan.opened_at > now:
            continue
        events = [(at, status) for at, status in _history(hours, plan) if at <= now]
        month = f"{plan.opened_at:%y%m}"
        numbers[month] = numbers.get(month, 0) + 1
        responded = next((at for at, status in events if status == "in_progress"), None)
        resolved = events[-1][0] if events[-1][1] == "resolved" else None
        items.append(
            {
                "contract_service": desk.pk,
                "reference": f"SD-{month}-{numbers[month]:03d}",
                "priority": plan.priority,
                "title": titles.choice(TITLES[plan.priority]),
                "opened_at": plan.opened_at.isoformat(),
                "first_response_at": responded.isoformat() if responded else None,
                "resolved_at": resolved.isoformat() if resolved else None,
                "events": [{"at": at.isoformat(), "status": status} for at, status in events],
            }
        )
    return items
