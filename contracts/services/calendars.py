"""Writes of service calendars: the calendar itself, closures by hand, and closures imported
from an iCalendar (``.ics``) file.

An import closes the calendar on the file's events: an all-day event closes each of its
local days, a timed event closes its interval, and recurring events are expanded over
the years around ``now`` (:data:`ICS_YEARS_AROUND`). Every closure keeps the event's UID
and recurrence, so importing the same file again (or a newer export of the same
calendar) updates the closures instead of adding them twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone as django_timezone
from django.utils.translation import gettext, ngettext

from contracts.models import CalendarClosure, Organization, ServiceCalendar

ICS_YEARS_AROUND = 2
"""Recurring events are expanded from January of ``now``'s year minus this to December of
its year plus this."""

MAX_ICS_CLOSURES = 10_000
"""More closures than this from one file is a mistake (an hourly rule), not a calendar."""

_UID_LENGTH = CalendarClosure._meta.get_field("uid").max_length
_NAME_LENGTH = CalendarClosure._meta.get_field("name").max_length


def create_calendar(
    *,
    provider: Organization,
    name: str,
    timezone: str = "UTC",
    hours: list[list[list[str]]] | None = None,
    holiday_country: str = "",
    holiday_subdivision: str = "",
) -> ServiceCalendar:
    """Validate and store a new calendar of the provider (default hours Mon–Fri
    08:00–18:00); raises ``ValidationError`` per field."""
    calendar = ServiceCalendar(
        provider=provider,
        name=name,
        timezone=timezone,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
    )
    if hours is not None:
        calendar.hours = hours
    return save_calendar(calendar=calendar)


def update_calendar(
    *,
    calendar: ServiceCalendar,
    name: str | None = None,
    timezone: str | None = None,
    hours: list[list[list[str]]] | None = None,
    holiday_country: str | None = None,
    holiday_subdivision: str | None = None,
) -> ServiceCalendar:
    """Change the fields given (``None`` keeps one as it is); raises ``ValidationError``
    per field and stores nothing then. The objectives using the calendar measure with
    its new hours from their next settlement on."""
    changes = {
        "name": name,
        "timezone": timezone,
        "hours": hours,
        "holiday_country": holiday_country,
        "holiday_subdivision": holiday_subdivision,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(calendar, field, value)
    return save_calendar(calendar=calendar)


def save_calendar(*, calendar: ServiceCalendar) -> ServiceCalendar:
    """Validate and store a calendar as built (the admin's forms build it)."""
    with transaction.atomic():
        calendar.full_clean()
        calendar.save()
    return calendar


def delete_calendar(*, calendar: ServiceCalendar) -> None:
    """Delete a calendar and its closures. One that objectives use stays (they would
    silently measure around the clock): raises ``ValidationError`` naming them."""
    used_by = list(calendar.service_levels.order_by("key", "pk").values_list("name", flat=True))
    if used_by:
        shown = ", ".join(used_by[:5])
        if len(used_by) > 5:
            more = len(used_by) - 5
            shown += ngettext(" and %(count)s more", " and %(count)s more", more) % {"count": more}
        raise ValidationError(
            gettext("Objectives use this calendar (%(names)s); give them another calendar first.")
            % {"names": shown}
        )
    with transaction.atomic():
        calendar.delete()


def add_closure(
    *,
    calendar: ServiceCalendar,
    name: str = "",
    day: date | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CalendarClosure:
    """Close a whole local ``day``, or the interval ``start``–``end`` (aware instants), by
    hand; raises ``ValidationError`` per field."""
    closure = CalendarClosure(
        calendar=calendar,
        name=name,
        day=day,
        start=start,
        end=end,
        source=CalendarClosure.Source.MANUAL,
    )
    return save_closure(closure=closure)


def save_closure(*, closure: CalendarClosure) -> CalendarClosure:
    """Validate and store a closure as built (the admin's forms build it)."""
    with transaction.atomic():
        closure.full_clean()
        closure.save()
    return closure


def remove_closure(*, closure: CalendarClosure) -> None:
    """Open the calendar again where the closure closed it."""
    with transaction.atomic():
        closure.delete()


# --------------------------------------------------------------------------- iCalendar


@dataclass(frozen=True, slots=True)
class IcsImport:
    """What an import changed: closures created, updated, and found as they were."""

    created: int
    updated: int
    unchanged: int
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
        }

    def __str__(self) -> str:
        return (
            f"{self.created} closure{'s' if self.created != 1 else ''} added, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.removed} removed"
        )


@dataclass(frozen=True, slots=True)
class _Entry:
    uid: str
    name: str
    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _parse(content: bytes) -> icalendar.Calendar:
    try:
        parsed = icalendar.Calendar.from_ical(content)
    except Exception:  # the parser raises many kinds for a malformed file
        parsed = None
    if not isinstance(parsed, icalendar.Calendar) or parsed.name != "VCALENDAR":
        raise _file_error(
            "This is not an iCalendar (.ics) file: one runs from BEGIN:VCALENDAR to "
            "END:VCALENDAR, with an event per closure."
        )
    return parsed


def _key(*parts: str) -> str:
    """The closure's ``uid``: stable across imports of the same event occurrence."""
    key = "|".join(parts)
    if len(key) > _UID_LENGTH:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    # A floating time (no zone, no Z) is local time of the calendar it closes.
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime(value.year, value.month, value.day, tzinfo=zone)


def _entries(
    parsed: icalendar.Calendar, calendar: ServiceCalendar, now: datetime
) -> tuple[list[_Entry], set[str]]:
    """The closures the file's events make, recurrences expanded around ``now``, and the
    keys of the occurrences it cancels."""
    zone = ZoneInfo(calendar.timezone)
    recurring = {
        str(event.get("UID", ""))
        for event in parsed.walk("VEVENT")
        if any(name in event for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }
    year = now.astimezone(zone).year
    first, last = date(year - ICS_YEARS_AROUND, 1, 1), date(year + ICS_YEARS_AROUND + 1, 1, 1)
    try:
        occurrences = list(recurring_ical_events.of(parsed).between(first, last))
    except Exception as error:  # a malformed rule or date surfaces only while expanding
        raise _file_error(f"The file's events cannot be read: {error}") from None
    entries: dict[str, _Entry] = {}
    cancelled: set[str] = set()
    for event in occurrences:
        uid = str(event.get("UID", "")).strip()
        name = str(event.get("SUMMARY", "")).strip()[:_NAME_LENGTH]
        start, end = event.DTSTART, event.DTEND
        if uid in recurring and event.get("RECURRENCE-ID") is not None:
            base = _key(uid, _instant(event["RECURRENCE-ID"].dt, zone).isoformat())
        else:
            # A single event is the same closure wherever it moves.
            base = _key(uid or f"{start.isoformat()}/{end.isoformat()}/{name}")
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            # Its closure from an earlier import goes (every day of an all-day event).
            cancelled.add(base)
            if not isinstance(start, datetime):
                days = max((end - start).days, 1)
                cancelled.update(_key(base, f"+{offset}") for offset in range(1, days))
            continue
        if not isinstance(start, datetime):
            days = max((end - start).days, 1)
            for offset in range(days):
                uid_key = base if offset == 0 else _key(base, f"+{offset}")
                entries[uid_key] = _Entry(uid_key, name, day=start + timedelta(days=offset))
        else:
            first_instant, last_instant = _instant(start, zone), _instant(end, zone)
            if last_instant > first_instant:
                entries[base] = _Entry(base, name, start=first_instant, end=last_instant)
        if len(entries) > MAX_ICS_CLOSURES:
            raise _file_error(
                f"The file makes more than {MAX_ICS_CLOSURES:,} closures within "
                f"{first.year}–{last.year - 1}: split it, or shorten its recurring events."
            )
    return list(entries.values()), cancelled - set(entries)


def import_ics(
    *,
    calendar: ServiceCalendar,
    content: bytes,
    now: datetime | None = None,
    replace: bool = False,
) -> IcsImport:
    """Close the calendar on the events of an iCalendar file: all-day events close their
    local days, timed events their interval, recurring events are expanded over
    ``now``'s year ± :data:`ICS_YEARS_AROUND` (``now`` defaults to the present).

    Importing the same events again changes nothing; an event changed in the file updates
    its closure, and one it cancels (``STATUS:CANCELLED``) removes it. With ``replace`` the
    file is the whole list of imported closures: those an earlier import made that it no
    longer holds are removed too (closures entered by hand always stay). A file that is
    not iCalendar raises ``ValidationError`` on ``file`` and stores nothing.
    """
    parsed = _parse(content)
    entries, cancelled = _entries(parsed, calendar, now or django_timezone.now())
    created: list[CalendarClosure] = []
    updated: list[CalendarClosure] = []
    with transaction.atomic():
        stored = {
            closure.uid: closure
            for closure in CalendarClosure.objects.select_for_update().filter(
                calendar=calendar, uid__in=[entry.uid for entry in entries]
            )
        }
        for entry in entries:
            values: dict[str, Any] = {
                "name": entry.name,
                "day": entry.day,
                "start": entry.start,
                "end": entry.end,
                "source": CalendarClosure.Source.ICS,
            }
            closure = stored.get(entry.uid)
            if closure is None:
                created.append(CalendarClosure(calendar=calendar, uid=entry.uid, **values))
            elif any(getattr(closure, field) != value for field, value in values.items()):
                for field, value in values.items():
                    setattr(closure, field, value)
                updated.append(closure)
        CalendarClosure.objects.bulk_create(created)
        CalendarClosure.objects.bulk_update(updated, ["name", "day", "start", "end", "source"])
        imported = CalendarClosure.objects.filter(
            calendar=calendar, source=CalendarClosure.Source.ICS
        )
        if replace:
            gone = imported.exclude(uid__in=[entry.uid for entry in entries])
        else:
            gone = imported.filter(uid__in=cancelled)
        removed, _ = gone.delete()
    return IcsImport(
        created=len(created),
        updated=len(updated),
        unchanged=len(entries) - len(created) - len(updated),
        removed=removed,
    )
