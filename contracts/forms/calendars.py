"""Service calendars: the calendar itself (hours per weekday, timezone, public holidays),
an iCalendar file of closures, and a closure entered by hand."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import engine
from contracts.forms.common import DateInput, DateTimeInput, ModelErrorsMixin
from contracts.models import CalendarClosure, ServiceCalendar
from contracts.models.calendars import country_name, holiday_countries

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS_FIELDS = tuple(f"hours_{name.lower()[:3]}" for name in WEEKDAYS)
# "08:00-12:00, 13:00-17:00": ranges separated by commas (or semicolons, or "and"), each
# written with a hyphen or a dash.
_RANGE_SEPARATOR = re.compile(r"\s*(?:,|;|\band\b)\s*")
_RANGE = re.compile(r"^(\S+?)\s*[-–—]\s*(\S+)$")


def country_choices() -> list[tuple[str, str]]:
    """The countries whose public holidays the ``holidays`` library knows, by English name."""
    codes = [code for code in holiday_countries() if len(code) == 2]
    choices = sorted(((code, f"{country_name(code)} ({code})") for code in codes), key=_label)
    return [("", "No public holidays"), *choices]


def _label(choice: tuple[str, str]) -> str:
    return choice[1]


def subdivision_choices(country: str) -> list[tuple[str, str]]:
    """The subdivision codes of ``country`` in the ``holidays`` library (code, code)."""
    return [(code, code) for code in holiday_countries().get(country, ())]


def format_day_hours(pairs: list[list[str]]) -> str:
    """``[["08:00", "12:00"], ["13:00", "17:00"]]`` → ``"08:00-12:00, 13:00-17:00"``."""
    return ", ".join(f"{start}-{end}" for start, end in pairs)


def parse_day_hours(text: str, weekday: int) -> list[list[str]]:
    """One weekday's hours as typed, checked by the engine's rules (in order, not
    overlapping, ending after they start); raises ValidationError saying what is wrong."""
    text = text.strip()
    if not text:
        return []
    pairs: list[list[str]] = []
    for part in _RANGE_SEPARATOR.split(text):
        found = _RANGE.match(part.strip())
        if not found:
            raise ValidationError(
                gettext("%(text)s is not a range such as 08:00-18:00.")
                % {"text": repr(part.strip() or text)},
                code="hours",
            )
        pairs.append([found.group(1), found.group(2)])
    try:
        calendar = engine.ServiceCalendar(timezone="UTC", hours={weekday: pairs})
    except engine.ParameterError as error:
        raise ValidationError(str(error), code="hours") from None
    # Stored as people write it: "08:00", not "8:00" or "08:00:00".
    return [
        [engine.calendars.format_time_of_day(start), engine.calendars.format_time_of_day(end)]
        for start, end in calendar.hours[weekday]
    ]


class ServiceCalendarForm(ModelErrorsMixin, forms.ModelForm):
    """A calendar: its name, timezone, service hours typed per weekday and the public
    holidays of a country (and subdivision) that close it."""

    validated_instance_fields = ("provider",)

    holiday_country = forms.ChoiceField(label=_("Public holidays of"), required=False)

    class Meta:
        model = ServiceCalendar
        fields = ["name", "timezone", "holiday_country", "holiday_subdivision"]
        labels = {"holiday_subdivision": _("Subdivision (state or region)")}
        help_texts = {
            "timezone": _("IANA name, e.g. Europe/Berlin: the service hours are its local times."),
            "holiday_subdivision": _(
                "Optional: its own holidays as well, e.g. BE (Berlin) in Germany."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holiday_country"].choices = country_choices()
        stored = self.instance.hours if isinstance(self.instance.hours, list) else []
        for weekday, name in enumerate(HOURS_FIELDS):
            day = stored[weekday] if weekday < len(stored) else []
            self.fields[name] = forms.CharField(
                label=WEEKDAYS[weekday],
                required=False,
                initial=format_day_hours(day) if isinstance(day, list) else "",
                widget=forms.TextInput(
                    attrs={"placeholder": "closed", "autocomplete": "off", "size": 28}
                ),
            )
        self.fields[
            "hours_mon"
        ].help_text = (
            "Local times, e.g. 08:00-18:00 or 08:00-12:00, 13:00-17:00; empty means closed."
        )
        country = self["holiday_country"].value() or ""
        self.subdivisions = subdivision_choices(country)
        self.fields["holiday_subdivision"].widget.attrs.update(
            {"list": "subdivisions", "autocomplete": "off", "size": 10}
        )

    @property
    def hours_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in HOURS_FIELDS]

    @property
    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "timezone")]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        hours: list[list[list[str]]] = []
        for weekday, name in enumerate(HOURS_FIELDS):
            try:
                hours.append(parse_day_hours(cleaned.get(name) or "", weekday))
            except ValidationError as error:
                self.add_error(name, error)
                hours.append([])
        if not any(hours) and not any(self.errors.get(name) for name in HOURS_FIELDS):
            self.add_error("hours_mon", _("Give service hours on at least one day."))
        self.instance.hours = hours
        cleaned["holiday_subdivision"] = (cleaned.get("holiday_subdivision") or "").strip()
        return cleaned

    def route_error(self, field: str, error: ValidationError) -> str | None:
        if field == "hours":
            return "hours_mon"
        if field == "provider":
            return "name"
        return super().route_error(field, error)


class IcsUploadForm(forms.Form):
    """An iCalendar file whose events close the calendar."""

    MAX_BYTES = 2 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    file = forms.FileField(
        label=_("iCalendar file (.ics)"),
        help_text=_(
            "All-day events close their days, timed events their interval; "
            "recurring events are expanded. Importing the same file again adds nothing twice; "
            "a cancelled event removes its closure."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".ics,text/calendar"}),
    )

    replace = forms.BooleanField(
        required=False,
        label=_("Replace earlier imports"),
        help_text=_(
            "The file is the whole list: closures an earlier import made that it no "
            "longer holds are removed. Closures entered by hand stay."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file is larger than 2 MB."))
        return upload


class CalendarClosureForm(ModelErrorsMixin, forms.ModelForm):
    """A closure entered by hand: a whole day, or an interval in the calendar's zone."""

    class Meta:
        model = CalendarClosure
        fields = ["name", "day", "start", "end"]
        widgets = {"day": DateInput(), "start": DateTimeInput(), "end": DateTimeInput()}
        labels = {
            "name": _("Why closed"),
            "day": _("A whole day"),
            "start": _("Or from"),
            "end": _("Until"),
        }
        help_texts = {
            "day": _("A closed day; or leave it empty and give a start and an end."),
            "start": _("Local time of the calendar."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
