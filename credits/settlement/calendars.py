"""Service calendars of a batch: each objective's calendar built once, and its service hours.

An objective that names a calendar is measured inside its service hours only (SPEC §6):
uptime schedules only service time, samples count only when observed inside it, ticket
clocks run only inside it. A batch reads every calendar its objectives name in two queries
(the calendars, their closures) and builds each one once, for the years the batch's
periods and tickets reach; each (calendar, window) turns into service intervals once, so a
hundred contracts sharing one calendar and one month cost one computation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import engine
from contracts.models import ServiceCalendar
from contracts.selectors import engine_calendar
from contracts.services.ticket_clocks import ClockTerms
from credits.settlement.inputs import Plan, Span


class ServiceHours:
    """The batch's engine calendars by id, and their service intervals by window."""

    def __init__(self, calendars: dict[int, engine.ServiceCalendar]) -> None:
        self.calendars = calendars
        self._intervals: dict[tuple[engine.ServiceCalendar, datetime, datetime], list[Span]] = {}

    def intervals(
        self, calendar: engine.ServiceCalendar, start: datetime, end: datetime
    ) -> list[Span]:
        """The service intervals of ``[start, end)`` as epoch-second spans (cached)."""
        key = (calendar, start, end)
        spans = self._intervals.get(key)
        if spans is None:
            spans = self._intervals[key] = engine.service_intervals(calendar, start, end)
        return spans


def _clock_terms(objective: engine.Objective, calendar: ServiceCalendar | None) -> str:
    """The name of a ticket objective's clock, as the kept clocks name it; a calendar the
    objective brings itself (a what-if preview) has none kept."""
    if objective.calendar is not None:
        limit = engine.threshold_seconds(objective.threshold)
        return f"{objective.clock_kind}:{limit}:given:{objective.priority or '*'}"
    return ClockTerms.of(objective, calendar).key()


def attach_calendars(plans: Sequence[Plan], earliest: datetime | None = None) -> ServiceHours:
    """Give each target whose service level names a calendar that calendar (unless an
    override brought its own) and its service intervals inside the plan's window; two
    queries when any target names a calendar, none otherwise. ``earliest`` is the first
    instant a clock reads (the oldest ticket), so that its year's holidays are known."""
    wanted = {
        target.service_level.calendar_id
        for plan in plans
        for target in plan.targets
        if target.service_level.calendar_id is not None and target.objective.calendar is None
    }
    calendars: dict[int, engine.ServiceCalendar] = {}
    stored: dict[int, ServiceCalendar] = {}
    if wanted:
        low = min(plan.window[0] for plan in plans)
        high = max(plan.window[1] for plan in plans)
        if earliest is not None:
            low = min(low, earliest)
        stored = {
            calendar.pk: calendar
            for calendar in ServiceCalendar.objects.filter(pk__in=wanted).prefetch_related(
                "closures"
            )
        }
        calendars = {pk: engine_calendar(calendar, low, high) for pk, calendar in stored.items()}
    hours = ServiceHours(calendars)
    for plan in plans:
        for target in plan.targets:
            objective = target.objective
            calendar_id = target.service_level.calendar_id
            if objective.is_ticket and objective.threshold is not None:
                target.clock_terms = _clock_terms(objective, stored.get(calendar_id))
            if objective.calendar is None and calendar_id in calendars:
                objective = target.objective = dataclasses.replace(
                    objective, calendar=calendars[calendar_id]
                )
            if objective.in_service_hours:
                target.hours = hours.intervals(objective.calendar, *plan.window)
    return hours
