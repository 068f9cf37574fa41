"""Service calendars: their validation, closures by hand and from iCalendar files, public
holidays, the engine calendar built from them, and the timeline of the calendar page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

import engine
from contracts import services
from contracts.models import CalendarClosure, ServiceCalendar, ServiceLevel, Ticket
from contracts.selectors import calendar_timeline, engine_calendar
from tests.factories import ContractServiceFactory, ServiceLevelFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
WEEKDAYS_8_TO_18 = [[["08:00", "18:00"]] for _ in range(5)] + [[], []]

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Closures//EN
BEGIN:VEVENT
UID:christmas-2026@acme.example
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas closure
END:VEVENT
BEGIN:VEVENT
UID:offsite-2026@acme.example
DTSTART;TZID=Europe/Berlin:20261110T140000
DTEND;TZID=Europe/Berlin:20261110T160000
SUMMARY:Team offsite
END:VEVENT
BEGIN:VEVENT
UID:all-hands@acme.example
DTSTART;TZID=Europe/Berlin:20261104T080000
DTEND;TZID=Europe/Berlin:20261104T090000
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:All hands
END:VEVENT
END:VCALENDAR
"""


def calendar_of(provider, **fields) -> ServiceCalendar:
    values = {"name": "Office hours", "timezone": "Europe/Berlin", "hours": WEEKDAYS_8_TO_18}
    return services.create_calendar(provider=provider, **{**values, **fields})


def error_fields(raised: pytest.ExceptionInfo) -> set[str]:
    return set(raised.value.message_dict)


# --------------------------------------------------------------------------- the calendar


def test_a_new_calendar_opens_weekdays_8_to_18_by_default(personas):
    calendar = services.create_calendar(provider=personas.provider, name="Default")

    assert calendar.hours == WEEKDAYS_8_TO_18
    assert calendar.timezone == "UTC"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"hours": [[["08:00", "12:00"], ["11:00", "17:00"]], [], [], [], [], [], []]}, "hours"),
        ({"hours": [[["18:00", "08:00"]], [], [], [], [], [], []]}, "hours"),
        ({"hours": [[["8 am", "6 pm"]], [], [], [], [], [], []]}, "hours"),
        ({"hours": [[["08:00", "18:00"]]]}, "hours"),
        ({"hours": [[], [], [], [], [], [], []]}, "hours"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "DE", "holiday_subdivision": "CA"}, "holiday_subdivision"),
        ({"holiday_subdivision": "BE"}, "holiday_subdivision"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field_and_nothing_is_stored(personas, fields, field):
    with pytest.raises(ValidationError) as raised:
        calendar_of(personas.provider, **fields)

    assert field in error_fields(raised)
    assert not ServiceCalendar.objects.exists()


def test_the_servers_own_zone_is_not_a_calendars_timezone(personas):
    with pytest.raises(ValidationError) as raised:
        calendar_of(personas.provider, timezone="localtime")

    assert raised.value.message_dict["timezone"] == ["'localtime' is not an IANA time zone name."]
    assert not ServiceCalendar.objects.exists()


def test_overlapping_hours_say_which_hours_overlap(personas):
    with pytest.raises(ValidationError) as raised:
        calendar_of(
            personas.provider,
            hours=[[], [["08:00", "12:00"], ["11:00", "17:00"]], [], [], [], [], []],
        )

    assert raised.value.message_dict["hours"] == ["Tuesday: 11:00–17:00 overlaps 08:00–12:00"]


def test_only_providers_keep_calendars(personas):
    with pytest.raises(ValidationError) as raised:
        calendar_of(personas.customer)

    assert "provider" in error_fields(raised)


def test_a_provider_names_each_calendar_once(personas):
    calendar_of(personas.provider)
    calendar_of(personas.other_provider)

    with pytest.raises(ValidationError):
        calendar_of(personas.provider)
    assert ServiceCalendar.objects.filter(provider=personas.provider).count() == 1


def test_an_update_changes_the_fields_given_and_a_bad_one_changes_nothing(personas):
    calendar = calendar_of(personas.provider)

    services.update_calendar(calendar=calendar, holiday_country="DE", holiday_subdivision="BE")
    with pytest.raises(ValidationError):
        services.update_calendar(calendar=calendar, timezone="Mars/Olympus")

    stored = ServiceCalendar.objects.get(pk=calendar.pk)
    assert (stored.timezone, stored.holiday_country, stored.holiday_subdivision) == (
        "Europe/Berlin",
        "DE",
        "BE",
    )
    assert stored.hours == WEEKDAYS_8_TO_18


def test_a_calendar_objectives_use_is_not_deleted(personas):
    calendar = calendar_of(personas.provider)
    ServiceLevelFactory(provider=personas.provider, calendar=calendar)
    unused = calendar_of(personas.provider, name="Unused")
    services.add_closure(calendar=unused, name="Closed", day=date(2026, 12, 31))

    with pytest.raises(ValidationError, match="Availability"):
        services.delete_calendar(calendar=calendar)
    services.delete_calendar(calendar=unused)

    assert list(ServiceCalendar.objects.values_list("name", flat=True)) == ["Office hours"]
    assert not CalendarClosure.objects.exists()


# --------------------------------------------------------------------------- objectives


def test_an_objective_uses_only_a_calendar_of_its_own_provider(personas):
    theirs = calendar_of(personas.other_provider)
    objective = ServiceLevelFactory.build(provider=personas.provider, calendar=theirs)

    with pytest.raises(ValidationError) as raised:
        objective.full_clean()

    assert "calendar" in error_fields(raised)


def test_a_ticket_objective_needs_a_threshold_in_minutes_and_only_it_has_a_priority(personas):
    resolution = ServiceLevelFactory.build(
        provider=personas.provider,
        key="p1-resolution",
        indicator=ServiceLevel.Indicator.RESOLUTION_TIME,
        target=Decimal("90"),
        priority="P1",
    )
    with pytest.raises(ValidationError) as raised:
        resolution.full_clean()
    assert error_fields(raised) == {"threshold"}

    resolution.threshold = Decimal("240")
    resolution.full_clean()

    uptime = ServiceLevelFactory.build(provider=personas.provider, priority="P1")
    with pytest.raises(ValidationError) as raised:
        uptime.full_clean()
    assert error_fields(raised) == {"priority"}


def test_a_ticket_is_not_answered_or_resolved_before_it_was_opened(personas):
    opened = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    ticket = Ticket(
        contract_service=ContractServiceFactory(contract=personas.contract),
        reference="INC-1",
        priority="P1",
        opened_at=opened,
        first_response_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 3, 9, 30, tzinfo=UTC),
    )

    with pytest.raises(ValidationError) as raised:
        ticket.full_clean()

    assert error_fields(raised) == {"first_response_at", "resolved_at"}


# --------------------------------------------------------------------------- closures


def test_a_closure_by_hand_is_a_day_or_an_interval_never_both(personas):
    calendar = calendar_of(personas.provider)
    start = datetime(2026, 11, 10, 13, 0, tzinfo=UTC)

    services.add_closure(calendar=calendar, name="Inventory", day=date(2026, 11, 12))
    services.add_closure(
        calendar=calendar, name="Move", start=start, end=datetime(2026, 11, 10, 15, tzinfo=UTC)
    )
    with pytest.raises(ValidationError) as both:
        services.add_closure(
            calendar=calendar,
            day=date(2026, 11, 13),
            start=start,
            end=datetime(2026, 11, 10, 15, tzinfo=UTC),
        )
    with pytest.raises(ValidationError) as backwards:
        services.add_closure(calendar=calendar, start=start, end=start)
    with pytest.raises(ValidationError) as neither:
        services.add_closure(calendar=calendar, name="Nothing")

    assert "day" in error_fields(both)
    assert "end" in error_fields(backwards)
    assert {"start", "end"} <= error_fields(neither)
    assert calendar.closures.count() == 2


def test_a_removed_closure_opens_its_day_again(personas):
    calendar = calendar_of(personas.provider)
    closure = services.add_closure(calendar=calendar, name="Inventory", day=date(2026, 11, 12))

    services.remove_closure(closure=closure)

    (day,) = calendar_timeline(calendar, date(2026, 11, 12), end=date(2026, 11, 13))
    assert (day.closed, day.text) == (False, "08:00–18:00")


def test_an_ics_file_closes_all_day_events_timed_events_and_each_recurrence(personas):
    calendar = calendar_of(personas.provider)

    result = services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)

    assert result.as_dict() == {"created": 7, "updated": 0, "unchanged": 0, "removed": 0}
    days = list(calendar.closures.filter(day__isnull=False).values_list("day", "name", "source"))
    assert days == [
        (date(2026, 12, 24), "Christmas closure", "ics"),
        (date(2026, 12, 25), "Christmas closure", "ics"),
        (date(2026, 12, 26), "Christmas closure", "ics"),
    ]
    intervals = [
        (c.start.astimezone(BERLIN), c.end.astimezone(BERLIN), c.name)
        for c in calendar.closures.filter(day__isnull=True).order_by("start")
    ]
    at = lambda d, h: datetime(2026, 11, d, h, tzinfo=BERLIN)  # noqa: E731
    assert intervals == [
        (at(4, 8), at(4, 9), "All hands"),
        (at(10, 14), at(10, 16), "Team offsite"),
        (at(11, 8), at(11, 9), "All hands"),
        (at(18, 8), at(18, 9), "All hands"),
    ]


def test_importing_the_same_file_again_adds_nothing_and_a_changed_event_is_updated(personas):
    calendar = calendar_of(personas.provider)
    services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)

    again = services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)
    moved = ICS.replace("20261110T140000", "20261110T150000").replace(
        "SUMMARY:Team offsite", "SUMMARY:Team offsite (short)"
    )
    changed = services.import_ics(calendar=calendar, content=moved.encode(), now=NOW)

    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 7, "removed": 0}
    assert changed.as_dict() == {"created": 0, "updated": 1, "unchanged": 6, "removed": 0}
    offsite = calendar.closures.get(name="Team offsite (short)")
    assert offsite.start.astimezone(BERLIN) == datetime(2026, 11, 10, 15, tzinfo=BERLIN)
    assert calendar.closures.count() == 7


def test_an_event_the_file_cancels_removes_its_closure(personas):
    calendar = calendar_of(personas.provider)
    services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)

    cancelled = ICS.replace(
        "SUMMARY:Christmas closure", "SUMMARY:Christmas closure\nSTATUS:CANCELLED"
    ).replace("SUMMARY:Team offsite", "SUMMARY:Team offsite\nSTATUS:CANCELLED")
    result = services.import_ics(calendar=calendar, content=cancelled.encode(), now=NOW)

    # The three days of Christmas and the offsite go; the all-hands stay.
    assert result.as_dict() == {"created": 0, "updated": 0, "unchanged": 3, "removed": 4}
    assert set(calendar.closures.values_list("name", flat=True)) == {"All hands"}


def test_replacing_earlier_imports_removes_what_the_file_no_longer_holds_only(personas):
    calendar = calendar_of(personas.provider)
    services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)
    by_hand = services.add_closure(calendar=calendar, day=date(2026, 12, 31), name="New Year's Eve")
    without_offsite = ICS.replace(
        ICS[ICS.index("BEGIN:VEVENT\nUID:offsite") : ICS.index("BEGIN:VEVENT\nUID:all-hands")],
        "",
    )

    kept = services.import_ics(calendar=calendar, content=without_offsite.encode(), now=NOW)
    assert kept.as_dict() == {"created": 0, "updated": 0, "unchanged": 6, "removed": 0}
    assert calendar.closures.filter(name="Team offsite").exists()

    replaced = services.import_ics(
        calendar=calendar, content=without_offsite.encode(), now=NOW, replace=True
    )
    assert replaced.as_dict() == {"created": 0, "updated": 0, "unchanged": 6, "removed": 1}
    assert not calendar.closures.filter(name="Team offsite").exists()
    assert calendar.closures.filter(pk=by_hand.pk).exists()


def test_a_recurrence_without_end_is_expanded_around_now_only(personas):
    calendar = calendar_of(personas.provider)
    yearly = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Closures//EN
BEGIN:VEVENT
UID:founders-day@acme.example
DTSTART;VALUE=DATE:20100315
DTEND;VALUE=DATE:20100316
RRULE:FREQ=YEARLY
SUMMARY:Founders' day
END:VEVENT
END:VCALENDAR
"""

    services.import_ics(calendar=calendar, content=yearly.encode(), now=NOW)

    years = sorted(day.year for day in calendar.closures.values_list("day", flat=True))
    assert years == [2024, 2025, 2026, 2027, 2028]


@pytest.mark.parametrize(
    "content",
    [
        b"Subject: not a calendar\n\nHello",
        b"",
        b"\xff\xfe\x00binary",
        b"BEGIN:VEVENT\nUID:x\nDTSTART:20261110T140000Z\nEND:VEVENT\n",
    ],
)
def test_a_file_that_is_not_icalendar_is_refused_naming_the_file(personas, content):
    calendar = calendar_of(personas.provider)

    with pytest.raises(ValidationError) as raised:
        services.import_ics(calendar=calendar, content=content, now=NOW)

    assert error_fields(raised) == {"file"}
    assert "not an iCalendar" in raised.value.message_dict["file"][0]
    assert not calendar.closures.exists()


# --------------------------------------------------------------------------- holidays


def test_berlin_has_its_own_public_holidays_in_2026(personas):
    berlin = calendar_of(personas.provider, holiday_country="DE", holiday_subdivision="BE")
    bavaria = calendar_of(
        personas.provider, name="Munich", holiday_country="DE", holiday_subdivision="BY"
    )

    in_berlin = berlin.public_holidays([2026])
    in_bavaria = bavaria.public_holidays([2026])

    # The names are the library's (English, whatever the server's locale).
    library = holidays.country_holidays("DE", subdiv="BE", years=2026, language="en_US")
    assert in_berlin == dict(sorted(library.items()))
    assert in_berlin[date(2026, 5, 1)] == "Labor Day"
    assert in_berlin[date(2026, 3, 8)] == "Women's Day"
    assert date(2026, 3, 8) not in in_bavaria
    assert in_bavaria[date(2026, 1, 6)] == "Epiphany"
    assert date(2026, 1, 6) not in in_berlin


def test_the_engine_calendar_closes_holidays_and_closures_by_name(personas):
    calendar = calendar_of(personas.provider, holiday_country="DE", holiday_subdivision="BE")
    services.add_closure(calendar=calendar, name="Inventory", day=date(2026, 5, 4))
    services.add_closure(
        calendar=calendar,
        name="Move",
        start=datetime(2026, 5, 5, 12, tzinfo=BERLIN),
        end=datetime(2026, 5, 5, 14, tzinfo=BERLIN),
    )

    built = engine_calendar(
        calendar, datetime(2026, 4, 27, tzinfo=BERLIN), datetime(2026, 5, 11, tzinfo=BERLIN)
    )
    clock = engine.BusinessClock(
        built, datetime(2026, 4, 27, tzinfo=BERLIN), datetime(2026, 5, 11, tzinfo=BERLIN)
    )

    assert built.is_closed(date(2026, 5, 1)) and built.is_closed(date(2026, 5, 4))
    names = {closed.day: closed.name for closed in built.closed_days}
    assert (names[date(2026, 5, 1)], names[date(2026, 5, 4)]) == ("Labor Day", "Inventory")
    # Two weeks of ten weekdays, less 1 May and 4 May, less two hours on 5 May.
    business = clock.business_seconds(
        datetime(2026, 4, 27, tzinfo=BERLIN), datetime(2026, 5, 11, tzinfo=BERLIN)
    )
    assert business == (8 * 10 - 2) * 3600


def test_the_engine_calendar_reads_prefetched_closures_without_a_query(
    personas, django_assert_num_queries
):
    calendar = calendar_of(personas.provider)
    services.add_closure(calendar=calendar, name="Inventory", day=date(2026, 5, 4))
    services.add_closure(calendar=calendar, name="Long ago", day=date(2020, 5, 4))
    stored = ServiceCalendar.objects.prefetch_related("closures").get(pk=calendar.pk)

    with django_assert_num_queries(0):
        built = engine_calendar(stored, date(2026, 5, 1), date(2026, 6, 1))

    assert [closed.name for closed in built.closed_days] == ["Inventory"]


# --------------------------------------------------------------------------- the timeline


def test_the_timeline_names_holidays_and_closures_day_by_day(personas):
    calendar = calendar_of(personas.provider, holiday_country="DE", holiday_subdivision="BE")
    services.import_ics(calendar=calendar, content=ICS.encode(), now=NOW)

    week = calendar_timeline(calendar, date(2026, 11, 9), weeks=1)
    christmas = calendar_timeline(calendar, date(2026, 12, 21), weeks=1)

    assert [day.text for day in week] == [
        "08:00–18:00",
        "08:00–14:00, 16:00–18:00 (closed 14:00–16:00: Team offsite)",
        "09:00–18:00 (closed 08:00–09:00: All hands)",
        "08:00–18:00",
        "08:00–18:00",
        "No service",
        "No service",
    ]
    assert week[1].hours == (("08:00", "14:00"), ("16:00", "18:00"))
    assert [day.text for day in christmas][3:6] == [
        "Closed: Christmas closure",
        "Closed: Christmas Day / Christmas closure",
        "Closed: Second Day of Christmas / Christmas closure",
    ]
    assert [day.closed for day in christmas] == [False, False, False, True, True, True, False]


def test_the_timeline_across_the_spring_and_autumn_changes_keeps_local_hours(personas):
    # Weekdays 08:00–18:00 and Sundays round the clock, in Berlin: 29 March 2026 has 23
    # hours, 25 October 2026 has 25.
    hours = [*WEEKDAYS_8_TO_18[:6], [["00:00", "24:00"]]]
    calendar = calendar_of(personas.provider, hours=hours)

    spring = calendar_timeline(calendar, date(2026, 3, 23), weeks=1)
    autumn = calendar_timeline(calendar, date(2026, 10, 19), end=date(2026, 10, 26))

    assert [(day.day.day, day.minutes) for day in spring] == [
        (23, 600),
        (24, 600),
        (25, 600),
        (26, 600),
        (27, 600),
        (28, 0),
        (29, 23 * 60),
    ]
    assert spring[-1].hours == (("00:00", "24:00"),)
    assert spring[-1].text == "00:00–24:00"
    assert autumn[-1].minutes == 25 * 60
    assert [day.minutes for day in autumn[:5]] == [600] * 5


# --------------------------------------------------------------------------- the admin


def admin_calendar_form(provider, **fields) -> dict[str, str]:
    data = {
        "provider": str(provider.pk),
        "name": "Admin hours",
        "timezone": "Europe/Berlin",
        "hours": '[[["08:00", "18:00"]], [], [], [], [], [], []]',
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "closures-TOTAL_FORMS": "1",
        "closures-INITIAL_FORMS": "0",
        "closures-MIN_NUM_FORMS": "0",
        "closures-MAX_NUM_FORMS": "1000",
        "closures-0-name": "Inventory",
        "closures-0-day": "2026-11-12",
    }
    return {**data, **fields}


def test_an_operator_adds_a_calendar_with_a_closure_in_the_admin(personas, client):
    client.force_login(personas.operator)

    response = client.post(
        reverse("admin:contracts_servicecalendar_add"), admin_calendar_form(personas.provider)
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = ServiceCalendar.objects.get(name="Admin hours")
    assert list(calendar.closures.values_list("name", "day", "source")) == [
        ("Inventory", date(2026, 11, 12), "manual")
    ]


def test_the_admin_refuses_overlapping_hours_beside_the_field(personas, client):
    client.force_login(personas.operator)
    overlapping = '[[["08:00", "12:00"], ["11:00", "17:00"]], [], [], [], [], [], []]'

    response = client.post(
        reverse("admin:contracts_servicecalendar_add"),
        admin_calendar_form(personas.provider, hours=overlapping),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hours"] == [
        "Monday: 11:00–17:00 overlaps 08:00–12:00"
    ]
    assert not ServiceCalendar.objects.exists()
