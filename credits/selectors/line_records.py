"""Reads of a statement line's drill-down: the samples, incidents and lapses behind it.

Every read is bounded: samples (the large, partitioned table) are read a page at a time
by keyset on (observed_at, id) through the (contract service, key, observed_at) index,
never counted or offset; incidents and lapses of one period are few and paged by number.
A filter narrows each to a time range inside the period and to the rows that weigh
against the provider (failing samples, incidents the provider caused, lapses that relieve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

import engine
from contracts.models import Incident, Measurement, ResponsibilityLapse
from credits.models import StatementLine
from engine.numbers import threshold_met

if TYPE_CHECKING:
    from contracts.querysets import User

SAMPLES = "samples"
INCIDENTS = "incidents"
LAPSES = "lapses"
TICKETS = "tickets"
SAMPLE_INDICATORS = ("ratio", "threshold", "count")
TICKET_INDICATORS = ("response_time", "resolution_time")


def visible_line(user: User, line_id: int) -> StatementLine:
    """The line ``line_id`` the user may read, with its statement, contract, parties and
    service; ``StatementLine.DoesNotExist`` when it does not exist or the user may not."""
    return (
        StatementLine.objects.visible_to(user)
        .select_related(
            "statement__contract__provider",
            "statement__contract__customer",
            "contract_service__service",
        )
        .get(pk=line_id)
    )


def record_kinds(line: StatementLine) -> list[str]:
    """What a line is measured from, in the order its drill-down offers them."""
    if line.indicator in SAMPLE_INDICATORS:
        first = [SAMPLES]
    elif line.indicator in TICKET_INDICATORS:
        first = [TICKETS]
    else:
        first = [INCIDENTS]
    return [*first, LAPSES]


def line_period(line: StatementLine) -> engine.Period:
    """The line's settlement period, in its contract's time zone."""
    statement = line.statement
    return engine.Period(statement.period_start, statement.period_end, statement.contract.timezone)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """A time range inside the line's period (``since`` inclusive, ``until`` exclusive)
    and ``only``: just the rows that weigh against the provider."""

    since: datetime
    until: datetime
    only: bool = False
    # Whether the range was chosen: a line also counts tickets opened before its period,
    # which only a chosen range leaves out.
    ranged: bool = False

    @property
    def empty(self) -> bool:
        """No instant is in the range (the API clamps a range to the period where the
        pages refuse one outside it): an overlap with it would still match a record
        spanning both ends."""
        return self.until <= self.since


def whole_period(line: StatementLine) -> RecordFilter:
    period = line_period(line)
    return RecordFilter(period.start_at, period.end_at)


# --------------------------------------------------------------------------- samples


def _failing_samples(line: StatementLine) -> Q:
    """The samples that count against the objective, as settlement judges them."""
    if line.indicator == "ratio":
        return Q(ok=False)
    if line.indicator == "threshold":
        figures = line.measure or {}
        threshold = Decimal(str(figures["threshold"]))
        if figures.get("threshold_comparator") == "lte":
            return Q(value__gt=threshold)
        return Q(value__lt=threshold)
    # A count objective counts every sample by its value (1 without one): those not 0.
    return Q(value__isnull=True) | ~Q(value=0)


def sample_result(line: StatementLine, sample: Measurement) -> str:
    """``"meets"``, ``"fails"`` or, for a count, ``"counted"``/``"not counted"``;
    empty for a sample the objective does not judge."""
    if line.indicator == "ratio":
        return "" if sample.ok is None else ("meets" if sample.ok else "fails")
    if line.indicator == "threshold":
        if sample.value is None:
            return ""
        figures = line.measure or {}
        met = threshold_met(
            sample.value,
            Decimal(str(figures["threshold"])),
            figures.get("threshold_comparator") or "gte",
        )
        return "meets" if met else "fails"
    return "not counted" if sample.value == 0 else "counted"


def line_samples(line: StatementLine, chosen: RecordFilter) -> QuerySet[Measurement]:
    """The line's samples in the chosen range, oldest first (ordered for keyset pages)."""
    samples = Measurement.objects.filter(
        contract_service_id=line.contract_service_id,
        key=line.key,
        observed_at__gte=chosen.since,
        observed_at__lt=chosen.until,
    )
    if chosen.only:
        samples = samples.filter(_failing_samples(line))
    return samples.order_by("observed_at", "id")


@dataclass(frozen=True, slots=True)
class SamplePage:
    samples: list[Measurement]
    # The cursor of the next page ("<observed_at ISO>~<id>"); None on the last page.
    next_cursor: str | None


def sample_page(samples: QuerySet[Measurement], cursor: str | None, size: int) -> SamplePage:
    """One page of ``size`` samples after ``cursor``: one bounded query on the index,
    however deep the page. A cursor that does not parse raises ``ValueError``."""
    if cursor:
        moment_text, _, id_text = cursor.rpartition("~")
        moment = datetime.fromisoformat(moment_text)
        if moment.tzinfo is None:
            raise ValueError("a cursor's moment has its offset")
        last_id = int(id_text)
        samples = samples.filter(Q(observed_at__gt=moment) | Q(observed_at=moment, id__gt=last_id))
    rows = list(samples[: size + 1])
    if len(rows) <= size:
        return SamplePage(rows, None)
    last = rows[size - 1]
    return SamplePage(rows[:size], f"{last.observed_at.isoformat()}~{last.pk}")


# --------------------------------------------------------------------------- incidents


def line_incidents(line: StatementLine, chosen: RecordFilter) -> QuerySet[Incident]:
    """The incidents of the line's service and objective key overlapping the range, in
    order; ``only``: those the provider caused (the others do not count)."""
    if chosen.empty:
        return Incident.objects.none()
    incidents = Incident.objects.filter(
        contract_service_id=line.contract_service_id,
        key=line.key,
        started_at__lt=chosen.until,
        ended_at__gt=chosen.since,
    )
    if chosen.only:
        incidents = incidents.filter(cause=Incident.Cause.PROVIDER)
    return incidents.order_by("started_at", "id")


# --------------------------------------------------------------------------- lapses


def line_lapses(line: StatementLine, chosen: RecordFilter) -> QuerySet[ResponsibilityLapse]:
    """Lapses of the contract's responsibilities linked to an objective of the line's key
    that applies to its service, overlapping the range, in order; ``only``: those that
    relieve the provider (not withdrawn)."""
    if chosen.empty:
        return ResponsibilityLapse.objects.none()
    service_id = line.contract_service.service_id
    linked = ResponsibilityLapse.objects.filter(
        responsibility__contract_id=line.statement.contract_id,
        responsibility__service_levels__key=line.key,
    ).filter(
        Q(responsibility__service_levels__service__isnull=True)
        | Q(responsibility__service_levels__service_id=service_id)
    )
    lapses = ResponsibilityLapse.objects.filter(
        pk__in=linked.values("pk"), start__lt=chosen.until, end__gt=chosen.since
    )
    if chosen.only:
        lapses = lapses.relieving()
    return lapses.select_related("responsibility").order_by("start", "id")
