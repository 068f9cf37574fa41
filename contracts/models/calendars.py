"""Service calendars: a provider's weekly service hours in a timezone, less closed days.

A calendar's closed days come from three places: the public holidays of a country (and
subdivision) taken from the ``holidays`` library, entries imported from an iCalendar file,
and dates entered by hand (:class:`CalendarClosure`). The pure engine does the time
arithmetic; :meth:`ServiceCalendar.to_engine` hands it the calendar for some years.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import holidays
from babel import Locale
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import engine
from contracts.dates import dates_out_of_range
from contracts.models.contracts import _timezones
from contracts.models.parties import Organization
from contracts.querysets import (
    ScopedQuerySet,
    member_org_ids,
    provider_ids_edited_by,
)

if TYPE_CHECKING:
    from contracts.querysets import User

# Holiday names are shown to both parties in one language, whatever the server's locale.
HOLIDAY_LANGUAGES = ("en_US", "en_GB", "en")


def default_hours() -> list[list[list[str]]]:
    """Mon–Fri 08:00–18:00, the most common service hours."""
    return [[["08:00", "18:00"]] for _ in range(5)] + [[], []]


@lru_cache(maxsize=1)
def holiday_countries() -> dict[str, tuple[str, ...]]:
    """The countries the ``holidays`` library knows, each with its subdivision codes."""
    return {
        country: tuple(subdivisions)
        for country, subdivisions in holidays.list_supported_countries().items()
    }


def country_name(code: str) -> str:
    """A country's name in the active language ("Germany" for DE; German "Deutschland"),
    or the code where none is known."""
    return _territories(translation.get_language() or "en").get(code, code)


@cache
def _territories(language: str) -> dict[str, str]:
    return Locale.parse(translation.to_locale(language)).territories


@cache
def _holiday_language(country: str) -> str | None:
    supported = holidays.country_holidays(country).supported_languages
    return next((language for language in HOLIDAY_LANGUAGES if language in supported), None)


def public_holidays(country: str, subdivision: str, years: Iterable[int]) -> dict[date, str]:
    """The named public holidays of a country (and subdivision) in ``years``."""
    years = sorted(set(years))
    if not country or not years:
        return {}
    days = holidays.country_holidays(
        country,
        subdiv=subdivision or None,
        years=years,
        language=_holiday_language(country),
    )
    return dict(sorted(days.items()))


def hours_error(hours: object) -> engine.ParameterError | None:
    """Why stored service hours are not seven lists of ``["HH:MM", "HH:MM"]`` pairs in order
    and not overlapping, or ``None``. The rules of well-formed hours are the engine's."""
    if not isinstance(hours, list) or len(hours) != 7:
        return engine.ParameterError(
            gettext("Give seven lists of hours, Monday to Sunday."), field="hours"
        )
    for day in hours:
        if not isinstance(day, list) or not all(
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(bound, str) for bound in pair)
            for pair in day
        ):
            return engine.ParameterError(
                gettext(
                    'Each day is a list of ["HH:MM", "HH:MM"] pairs, e.g. [["08:00", "18:00"]].'
                ),
                field="hours",
            )
    try:
        engine.ServiceCalendar(timezone="UTC", hours=hours)
    except engine.ParameterError as error:
        return error
    return None


class ServiceCalendarQuerySet(ScopedQuerySet):
    """The provider's members see its calendars; a customer sees the calendars of the
    objectives that apply to its contracts."""

    def _visible_q(self, user: User) -> Q:
        used = (
            apps.get_model("contracts", "ServiceLevel")
            .objects.visible_to(user)
            .filter(calendar__isnull=False)
        )
        return Q(provider_id__in=member_org_ids(user)) | Q(id__in=used.values("calendar_id"))

    def _editable_q(self, user: User) -> Q:
        return Q(provider_id__in=provider_ids_edited_by(user))


class CalendarClosureQuerySet(ScopedQuerySet):
    """A closure is read and written with its calendar."""

    def _visible_q(self, user: User) -> Q:
        calendars = ServiceCalendar.objects.visible_to(user)
        return Q(calendar_id__in=calendars.values("id"))

    def _editable_q(self, user: User) -> Q:
        return Q(calendar__provider_id__in=provider_ids_edited_by(user))


class ServiceCalendar(models.Model):
    """Weekly service hours in an IANA timezone; public holidays and closures are closed."""

    provider = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_calendars"
    )
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", help_text=_("IANA name."))
    hours = models.JSONField(
        default=default_hours,
        help_text='Seven lists, Monday to Sunday, of ["HH:MM", "HH:MM"] pairs; 24:00 ends a day.',
    )
    holiday_country = models.CharField(
        max_length=3, blank=True, help_text=_("ISO 3166 code whose public holidays are closed.")
    )
    holiday_subdivision = models.CharField(
        max_length=40, blank=True, help_text=_("A state or region of that country, e.g. BE.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceCalendarQuerySet.as_manager()

    class Meta:
        ordering = ["provider_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "name"],
                name="service_calendar_name_unique",
                violation_error_message="The provider already has a calendar of this name.",
            ),
            models.CheckConstraint(
                condition=Q(holiday_subdivision="") | ~Q(holiday_country=""),
                name="service_calendar_subdivision_needs_country",
                violation_error_message="A subdivision needs its country.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.provider_id and self.provider.kind != Organization.Kind.PROVIDER:
            errors["provider"] = gettext("Service calendars belong to providers only.")
        if self.timezone and self.timezone not in _timezones():
            errors["timezone"] = gettext("%(zone)s is not an IANA time zone name.") % {
                "zone": repr(self.timezone)
            }
        problem = hours_error(self.hours)
        if problem is not None:
            errors["hours"] = problem.message
        countries = holiday_countries()
        if self.holiday_country and self.holiday_country not in countries:
            errors["holiday_country"] = gettext(
                "%(country)s is not a country with known public holidays (use an ISO 3166 "
                "code such as DE)."
            ) % {"country": repr(self.holiday_country)}
        elif self.holiday_subdivision:
            if not self.holiday_country:
                errors["holiday_subdivision"] = gettext("A subdivision needs its country.")
            elif self.holiday_subdivision not in countries[self.holiday_country]:
                known = ", ".join(countries[self.holiday_country]) or gettext("none")
                errors["holiday_subdivision"] = gettext(
                    "%(subdivision)s is not a subdivision of %(country)s (known: %(known)s)."
                ) % {
                    "subdivision": repr(self.holiday_subdivision),
                    "country": self.holiday_country,
                    "known": known,
                }
        if errors:
            raise ValidationError(errors)

    @property
    def holidays_text(self) -> str:
        """Where the public holidays come from, as a sentence says it: "public holidays in
        Germany (BE)"; empty without a country."""
        if not self.holiday_country:
            return ""
        return gettext("public holidays in %(place)s") % {"place": self.holiday_place}

    @property
    def holiday_place(self) -> str:
        """Whose public holidays close the calendar: "Germany (BE)"; empty without any."""
        if not self.holiday_country:
            return ""
        place = country_name(self.holiday_country)
        if self.holiday_subdivision:
            place += f" ({self.holiday_subdivision})"
        return place

    def public_holidays(self, years: Iterable[int]) -> dict[date, str]:
        """The calendar's named public holidays in ``years``."""
        return public_holidays(self.holiday_country, self.holiday_subdivision, years)

    def definition_key(self, closures: Iterable[CalendarClosure] | None = None) -> str:
        """A short digest of everything the calendar's clock is read from: zone, hours,
        whose public holidays (and the holidays library's version, whose data they are)
        and every closure; any change gives another key."""
        if closures is None:
            closures = self.closures.all()
        closed = sorted(
            closure.day.isoformat()
            if closure.day is not None
            else f"{closure.start.timestamp():.0f}-{closure.end.timestamp():.0f}"
            for closure in closures
        )
        text = json.dumps(
            [
                self.timezone,
                self.hours,
                self.holiday_country,
                self.holiday_subdivision,
                holidays.__version__,
                closed,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_engine(
        self, years: Iterable[int], closures: Iterable[CalendarClosure] | None = None
    ) -> engine.ServiceCalendar:
        """The engine's calendar: service hours, the public holidays of ``years`` and the
        closures (all of the calendar's when not given), each closed day named."""
        if closures is None:
            closures = self.closures.all()
        closed_days = [
            engine.ClosedDay(day, name) for day, name in self.public_holidays(years).items()
        ]
        closed_intervals: list[tuple[datetime, datetime]] = []
        for closure in closures:
            if closure.day is not None:
                closed_days.append(engine.ClosedDay(closure.day, closure.name))
            else:
                closed_intervals.append((closure.start, closure.end))
        return engine.ServiceCalendar(
            timezone=self.timezone,
            hours=self.hours,
            closed_days=closed_days,
            closed_intervals=closed_intervals,
        )


class CalendarClosure(models.Model):
    """A closed day (``day``) or a closed interval (``start``–``end``) of a calendar."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        ICS = "ics", _("Imported from an iCalendar file")

    calendar = models.ForeignKey(ServiceCalendar, on_delete=models.CASCADE, related_name="closures")
    name = models.CharField(max_length=200, blank=True)
    day = models.DateField(null=True, blank=True, help_text=_("A whole local day."))
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    uid = models.CharField(
        max_length=500,
        blank=True,
        help_text=_(
            "The iCalendar UID and recurrence of an imported entry: importing the "
            "same file again updates it instead of adding another."
        ),
    )

    objects = CalendarClosureQuerySet.as_manager()

    class Meta:
        ordering = ["calendar_id", "day", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day__isnull=False, start__isnull=True, end__isnull=True)
                | Q(day__isnull=True, start__isnull=False, end__isnull=False),
                name="calendar_closure_day_or_interval",
                violation_error_message="A closure is either a day or a start and an end.",
            ),
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__gt=models.F("start")),
                name="calendar_closure_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(source__in=["manual", "ics"]), name="calendar_closure_source_valid"
            ),
            models.UniqueConstraint(
                fields=["calendar", "uid"],
                condition=~Q(uid=""),
                name="calendar_closure_uid_unique",
            ),
        ]
        indexes = [models.Index(fields=["calendar", "day"], name="calendar_closure_day")]

    def __str__(self) -> str:
        when = (
            f"{self.day:%Y-%m-%d}"
            if self.day
            else f"{self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"
        )
        return f"{self.name or 'Closed'} ({when})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.day is not None and (self.start is not None or self.end is not None):
            errors["day"] = gettext("Give either a day or a start and an end, not both.")
        elif self.day is None:
            if self.start is None:
                errors["start"] = gettext("Give a day, or a start and an end.")
            if self.end is None:
                errors["end"] = gettext("Give a day, or a start and an end.")
            if self.start is not None and self.end is not None and self.end <= self.start:
                errors["end"] = gettext("The end must be after the start.")
        errors = dates_out_of_range(self, "day", "start", "end") | errors
        if errors:
            raise ValidationError(errors)
