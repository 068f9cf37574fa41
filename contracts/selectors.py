"""Reads of the contracts app: the objectives that apply to a contract, the effective
ones, and service calendars as the engine and the calendar page read them.

An objective applies to a contract at any level of the hierarchy (SPEC §3): the
provider's corporate objectives, its service objectives for the services the contract
includes, and the contract's own (contract-wide and per contract service). The effective
objective of a contract service for a key is the most specific one that applies:
contract_service > customer > service > corporate. A more specific objective with
``enabled = False`` removes the key. Two queries whatever the size of the contract.

A service calendar (SPEC §6) is read for a range of time: its public holidays for the
years the range touches, its closures inside those years (from a prefetch when there is
one), as an engine calendar (:func:`engine_calendar`) or day by day for people
(:func:`calendar_timeline`).

The contract list (the page and the API) searches contracts, annotates the credits of a
range of periods and totals them per currency (:func:`contract_totals`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

import engine
from contracts import hooks
from contracts.models import (
    CalendarClosure,
    Contract,
    ContractService,
    ServiceCalendar,
    ServiceLevel,
)
from engine.calendars import format_time_of_day, local_to_epoch

MONEY = DecimalField(max_digits=18, decimal_places=3)


# --------------------------------------------------------------------------- contract list


def search_contracts(contracts: QuerySet[Contract], text: str) -> QuerySet[Contract]:
    """The contracts whose reference, title or customer's name contains ``text`` (any case)."""
    return contracts.filter(
        Q(reference__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text)
    )


def with_credits(
    contracts: QuerySet[Contract], *, start: date | None, end: date | None, year: int
) -> QuerySet[Contract]:
    """``contracts`` annotated with ``credits``: those of the periods overlapping the range
    from ``start`` to ``end`` (either open), or of ``year``'s periods without a range; 0
    when there are none (or no settlement side is installed)."""
    settlement = hooks.settlement()
    if settlement is None:
        return contracts.annotate(credits=Value(Decimal("0"), output_field=MONEY))
    credits = (
        settlement.credits_between(start, end)
        if start or end
        else settlement.credits_this_year(year)
    )
    return contracts.annotate(credits=Coalesce(credits, Value(Decimal("0")), output_field=MONEY))


@dataclass(frozen=True, slots=True)
class ContractTotals:
    """The contract list's totals in one currency (two currencies are never added)."""

    currency: str
    contracts: int
    credits: Decimal


def contract_totals(contracts: QuerySet[Contract]) -> list[ContractTotals]:
    """Per currency, how many contracts and their credits (the ``credits`` annotation of
    :func:`with_credits`), over every page, in one query."""
    rows = (
        contracts.order_by("currency")
        .values("currency")
        .annotate(count=Count("id"), total=Sum("credits"))
    )
    return [
        ContractTotals(
            currency=row["currency"],
            contracts=row["count"],
            credits=row["total"] if row["total"] is not None else Decimal(0),
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- objectives


LEVEL_RANK = {"contract_service": 0, "customer": 1, "service": 2, "corporate": 3}


@dataclass(slots=True)
class EffectiveServiceLevels:
    """The objectives in force for one contract service, with what they override."""

    contract_service: ContractService
    service_levels: list[ServiceLevel] = field(default_factory=list)
    # Per key, every candidate from most to least specific, for "inherited from" displays.
    candidates: dict[str, list[ServiceLevel]] = field(default_factory=dict)
    removed: list[ServiceLevel] = field(default_factory=list)


def _applying(
    *,
    provider_ids: Iterable[int],
    service_ids: Iterable[int] | QuerySet,
    contract_ids: Iterable[int],
) -> Q:
    """The objectives that apply to contracts of these providers, including these
    services (a service belongs to one provider), and to these contracts themselves."""
    return (
        Q(level=ServiceLevel.Level.CORPORATE, provider_id__in=provider_ids)
        | Q(level=ServiceLevel.Level.SERVICE, service_id__in=service_ids)
        | Q(contract_id__in=contract_ids)
    )


def objectives_applying_to(contract: Contract) -> QuerySet[ServiceLevel]:
    """Every objective that applies to the contract, at any level, in force or not.

    These are the objectives a responsibility of the contract may affect, in the browser
    and the API alike. Objectives not in force are included: settlement relieves an
    objective through every objective of its key that applies (``candidates``), so a
    link to one stays meaningful, and an edit must not drop it silently.
    """
    return ServiceLevel.objects.filter(
        _applying(
            provider_ids=[contract.provider_id],
            service_ids=ContractService.objects.filter(contract_id=contract.pk).values(
                "service_id"
            ),
            contract_ids=[contract.pk],
        )
    ).order_by("key", "level", "id")


def candidate_service_levels(
    *, contracts: Iterable[Contract], contract_services: Iterable[ContractService]
) -> list[ServiceLevel]:
    """Every objective that applies to these contracts, in one query."""
    contract_ids = {c.pk for c in contracts}
    provider_ids = {c.provider_id for c in contracts}
    service_ids = {cs.service_id for cs in contract_services}
    if not contract_ids:
        return []
    return list(
        ServiceLevel.objects.filter(
            _applying(provider_ids=provider_ids, service_ids=service_ids, contract_ids=contract_ids)
        ).order_by("key", "id")
    )


def resolve(
    contract_service: ContractService, contract: Contract, levels: Iterable[ServiceLevel]
) -> EffectiveServiceLevels:
    """Pick, per key, the most specific objective that applies to one contract service."""
    applicable: dict[str, list[ServiceLevel]] = {}
    for sl in levels:
        if sl.level == "corporate":
            applies = sl.provider_id == contract.provider_id
        elif sl.level == "service":
            applies = sl.service_id == contract_service.service_id
        elif sl.level == "customer":
            applies = sl.contract_id == contract.pk
        else:
            applies = sl.contract_id == contract.pk and sl.service_id == contract_service.service_id
        if applies:
            applicable.setdefault(sl.key, []).append(sl)
    result = EffectiveServiceLevels(contract_service=contract_service)
    for key in sorted(applicable):
        ranked = sorted(applicable[key], key=lambda sl: LEVEL_RANK[sl.level])
        result.candidates[key] = ranked
        winner = ranked[0]
        if winner.enabled:
            result.service_levels.append(winner)
        else:
            result.removed.append(winner)
    return result


def effective_service_levels(contract: Contract) -> list[EffectiveServiceLevels]:
    """Per contract service of the contract, its effective objectives (two queries)."""
    return effective_service_levels_of([contract])[contract.pk]


def effective_service_levels_of(
    contracts: Iterable[Contract],
) -> dict[int, list[EffectiveServiceLevels]]:
    """Per contract, its contract services' effective objectives; two queries for any
    number of contracts."""
    contracts = list(contracts)
    contract_services = list(
        ContractService.objects.filter(contract__in=contracts)
        .select_related("service")
        .order_by("contract_id", "service__code")
    )
    levels = candidate_service_levels(contracts=contracts, contract_services=contract_services)
    # Only the candidates that can apply to a contract service go to resolve(), so that a
    # batch of contracts costs in proportion to its size, not to its square.
    shared: dict[tuple[str, int], list[ServiceLevel]] = defaultdict(list)
    own: dict[int, list[ServiceLevel]] = defaultdict(list)
    for sl in levels:
        if sl.level == "corporate":
            shared[("corporate", sl.provider_id)].append(sl)
        elif sl.level == "service":
            shared[("service", sl.service_id)].append(sl)
        else:
            own[sl.contract_id].append(sl)
    by_contract: dict[int, list[EffectiveServiceLevels]] = {c.pk: [] for c in contracts}
    contracts_by_id = {c.pk: c for c in contracts}
    for cs in contract_services:
        contract = contracts_by_id[cs.contract_id]
        cs.contract = contract
        applicable = sorted(
            shared[("corporate", contract.provider_id)]
            + shared[("service", cs.service_id)]
            + own[contract.pk],
            key=lambda sl: (sl.key, sl.pk),
        )
        by_contract[contract.pk].append(resolve(cs, contract, applicable))
    return by_contract


def effective_service_level(contract_service: ContractService, key: str) -> ServiceLevel | None:
    contract = contract_service.contract
    levels = candidate_service_levels(contracts=[contract], contract_services=[contract_service])
    for sl in resolve(contract_service, contract, levels).service_levels:
        if sl.key == key:
            return sl
    return None


# --------------------------------------------------------------------------- calendars


def _local_day(value: date | datetime, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    return value


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(local_to_epoch(day, 0, zone), zone)


def _closures_between(calendar: ServiceCalendar, first: date, last: date) -> list[CalendarClosure]:
    """The calendar's closures touching the local days ``first``..``last`` (inclusive),
    from the prefetched closures when there are some, so that a batch of calendars costs
    one query."""
    zone = ZoneInfo(calendar.timezone)
    low, high = _midnight(first, zone), _midnight(last + timedelta(days=1), zone)
    if "closures" in getattr(calendar, "_prefetched_objects_cache", {}):
        return [
            closure
            for closure in calendar.closures.all()
            if (closure.day is not None and first <= closure.day <= last)
            or (closure.day is None and closure.start < high and closure.end > low)
        ]
    return list(
        calendar.closures.filter(Q(day__gte=first, day__lte=last) | Q(start__lt=high, end__gt=low))
    )


def _years(calendar: ServiceCalendar, start: date | datetime, end: date | datetime) -> range:
    # A day of margin: an instant near midnight UTC may fall on the neighbouring local day.
    zone = ZoneInfo(calendar.timezone)
    first = _local_day(start, zone) - timedelta(days=1)
    last = _local_day(end, zone) + timedelta(days=1)
    return range(first.year, last.year + 1)


def engine_calendar(
    calendar: ServiceCalendar, start: date | datetime, end: date | datetime
) -> engine.ServiceCalendar:
    """The engine's calendar for reading ``[start, end)``: service hours, the named public
    holidays and the closures of every year the range touches in the calendar's zone.
    Time outside those years is read without its holidays, so build it for the range a
    computation reads (a settlement period and its oldest ticket)."""
    years = _years(calendar, start, end)
    closures = _closures_between(calendar, date(years[0], 1, 1), date(years[-1], 12, 31))
    return calendar.to_engine(years, closures)


@dataclass(frozen=True, slots=True)
class TimelineDay:
    """One local day of a calendar as people read it.

    ``hours`` are the local ``(start, end)`` times the calendar is open that day ("24:00"
    is the next midnight), timed closures already cut out; ``closed`` is a day closed by
    a holiday or a closure (``name`` says which), ``closures`` the timed closures that
    touch the day as local ``(start, end, name)``; ``minutes`` the service minutes, which
    on a DST day are what the clock shows (00:00–24:00 is 1,380 in spring)."""

    day: date
    hours: tuple[tuple[str, str], ...]
    closed: bool
    name: str
    closures: tuple[tuple[str, str, str], ...]
    minutes: int

    @property
    def text(self) -> str:
        """ "08:00–18:00", "Closed: Labor Day", "No service", "08:00–14:00 (closed
        14:00–16:00: Team offsite)"."""
        if self.closed:
            return f"Closed: {self.name}" if self.name else "Closed"
        if not self.hours:
            return "No service"
        text = ", ".join(f"{start}–{end}" for start, end in self.hours)
        if self.closures:
            parts = "; ".join(
                f"{start}–{end}" + (f": {name}" if name else "")
                for start, end, name in self.closures
            )
            text += f" (closed {parts})"
        return text


def _local_time(seconds: int, day: date, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(seconds, zone)
    if local.date() > day:
        return "24:00"
    return format_time_of_day(local.hour * 3600 + local.minute * 60 + local.second)


def calendar_timeline(
    calendar: ServiceCalendar, start: date, weeks: int = 4, *, end: date | None = None
) -> list[TimelineDay]:
    """The calendar day by day from the local date ``start``, for ``weeks`` weeks (or up
    to ``end``, exclusive): each day's service hours as local times, or closed with the
    holiday's or closure's name. Two queries whatever the length."""
    end = end if end is not None else start + timedelta(weeks=weeks)
    zone = ZoneInfo(calendar.timezone)
    built = engine_calendar(calendar, start, end)
    names = {closed.day: closed.name for closed in built.closed_days}
    timed = [
        closure
        for closure in _closures_between(calendar, start, end - timedelta(days=1))
        if closure.day is None
    ]
    days: list[TimelineDay] = []
    day = start
    while day < end:
        low = local_to_epoch(day, 0, zone)
        high = local_to_epoch(day + timedelta(days=1), 0, zone)
        spans = engine.service_intervals(built, low, high)
        touching = tuple(
            (
                _local_time(max(engine.to_epoch_seconds(closure.start), low), day, zone),
                _local_time(min(engine.to_epoch_seconds(closure.end), high), day, zone),
                closure.name,
            )
            for closure in timed
            if closure.start < _midnight(day + timedelta(days=1), zone)
            and closure.end > _midnight(day, zone)
        )
        scheduled = bool(built.hours[day.weekday()])
        closed_day = day in names
        closed = closed_day or (scheduled and not spans and bool(touching))
        name = names.get(day, "") if closed_day else " / ".join(n for _, _, n in touching if n)
        days.append(
            TimelineDay(
                day=day,
                hours=tuple(
                    (_local_time(a, day, zone), _local_time(b, day, zone)) for a, b in spans
                ),
                closed=closed,
                name=name if closed else "",
                closures=() if closed else touching,
                minutes=sum(b - a for a, b in spans) // 60,
            )
        )
        day += timedelta(days=1)
    return days
