"""Service calendars, their closures, an iCalendar import and the timeline of a calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from rest_framework import serializers

from contracts import services
from contracts.api.serializers.contracts import providers_edited_by
from contracts.models import CalendarClosure, Organization, ServiceCalendar
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer

CALENDAR_FIELDS = ("name", "timezone", "hours", "holiday_country", "holiday_subdivision")

# A timeline reads the holidays of the years around its days, and Python's dates stop at
# the years 1 and 9999: far enough inside them that no day near either end is asked for.
TIMELINE_FIRST_DAY = date(1900, 1, 1)
TIMELINE_LAST_DAY = date(2999, 12, 31)


class ServiceCalendarSerializer(ValidatedModelSerializer):
    provider = ScopedPrimaryKeyRelatedField(model=Organization, scope=providers_edited_by)
    hours = serializers.JSONField(
        required=False,
        help_text='Seven lists, Monday to Sunday, of local ["HH:MM", "HH:MM"] pairs in order '
        'and not overlapping, e.g. [["08:00", "18:00"]] (24:00 ends a day); an empty list '
        "is a day without service. Default Mon–Fri 08:00–18:00.",
    )
    immutable_fields = ("provider",)

    class Meta:
        model = ServiceCalendar
        fields = [
            "id",
            "provider",
            "name",
            "timezone",
            "hours",
            "holiday_country",
            "holiday_subdivision",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # The name's uniqueness is checked in validate(), to answer on the name.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        provider = attrs.get("provider", getattr(self.instance, "provider", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        same = ServiceCalendar.objects.filter(provider=provider, name=name)
        if self.instance is not None:
            same = same.exclude(pk=self.instance.pk)
        if provider is not None and same.exists():
            raise serializers.ValidationError(
                {"name": ["The provider already has a calendar of this name."]}
            )
        return super().validate(attrs)

    def create(self, validated_data: dict[str, Any]) -> ServiceCalendar:
        fields = {name: validated_data[name] for name in CALENDAR_FIELDS if name in validated_data}
        return services.create_calendar(provider=validated_data["provider"], **fields)

    def update(self, instance: ServiceCalendar, validated_data: dict[str, Any]) -> ServiceCalendar:
        fields = {name: validated_data[name] for name in CALENDAR_FIELDS if name in validated_data}
        return services.update_calendar(calendar=instance, **fields)


class CalendarClosureSerializer(ValidatedModelSerializer):
    class Meta:
        model = CalendarClosure
        fields = ["id", "calendar", "name", "day", "start", "end", "source", "uid"]
        read_only_fields = ["calendar", "source", "uid"]
        extra_kwargs = {
            "day": {"help_text": "A whole local day closed; or give start and end instead."},
            "start": {"help_text": "ISO 8601 with a UTC offset."},
            "end": {"help_text": "ISO 8601 with a UTC offset, after start."},
        }

    def prepare_instance(self, instance: CalendarClosure) -> None:
        instance.calendar = self.context["calendar"]

    def create(self, validated_data: dict[str, Any]) -> CalendarClosure:
        return services.add_closure(
            calendar=self.context["calendar"],
            name=validated_data.get("name", ""),
            day=validated_data.get("day"),
            start=validated_data.get("start"),
            end=validated_data.get("end"),
        )


class IcsImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An iCalendar (.ics) file, sent as multipart.")
    replace = serializers.BooleanField(
        default=False,
        help_text="The file is the whole list of imported closures: those of earlier imports "
        "that it no longer holds are removed (closures entered by hand stay).",
    )


class IcsImportedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Closures new to the calendar.")
    updated = serializers.IntegerField(help_text="Closures of the same events that changed.")
    unchanged = serializers.IntegerField(help_text="Closures found exactly as in the file.")
    removed = serializers.IntegerField(
        help_text="Closures removed: cancelled in the file, or (with replace) no longer in it."
    )


class TimelineClosureSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="Local time, HH:MM.")
    end = serializers.CharField(help_text="Local time, HH:MM; 24:00 is the next midnight.")
    name = serializers.CharField()


class TimelineDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    hours = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="The local [start, end] times the calendar is open that day.",
    )
    closed = serializers.BooleanField(help_text="Closed all day by a holiday or a closure.")
    name = serializers.CharField(help_text="Why it is closed (the holiday's or closure's name).")
    closures = TimelineClosureSerializer(many=True, help_text="Timed closures during the day.")
    minutes = serializers.IntegerField(help_text="Service minutes, as the local clock shows.")
    text = serializers.CharField(help_text='e.g. "08:00–18:00" or "Closed: Labor Day".')


def timeline_json(days: list[Any]) -> list[dict[str, Any]]:
    """``contracts.selectors.calendar_timeline`` in the shape of TimelineDaySerializer."""
    return [
        {
            "day": day.day,
            "hours": [list(pair) for pair in day.hours],
            "closed": day.closed,
            "name": day.name,
            "closures": [
                {"start": start, "end": end, "name": name} for start, end, name in day.closures
            ],
            "minutes": day.minutes,
            "text": day.text,
        }
        for day in days
    ]


class TimelineQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False,
        help_text="The first local day, YYYY-MM-DD, from 1900-01-01 to 2999-12-31; today by "
        "default.",
    )
    weeks = serializers.IntegerField(
        required=False, min_value=1, max_value=26, default=4, help_text="1 to 26 weeks."
    )

    def validate_start(self, start: date) -> date:
        if not TIMELINE_FIRST_DAY <= start <= TIMELINE_LAST_DAY:
            raise serializers.ValidationError(
                f"Give a day from {TIMELINE_FIRST_DAY.isoformat()} to "
                f"{TIMELINE_LAST_DAY.isoformat()}."
            )
        return start
