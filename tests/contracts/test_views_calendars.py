"""Service calendars in the browser: a provider editor creates and edits a calendar,
imports an iCalendar file and closes days by hand, errors sit beside the field that
caused them and nothing is stored; the calendar page shows the next weeks day by day;
viewers and customers read only, outsiders get 404; objectives pick a calendar of their
own provider and a ticket priority."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import CalendarClosure, ServiceCalendar, ServiceLevel
from credits.models import Statement, StatementLine, StatementLineTicket
from tests.contracts.conftest import contract_objective

# Monday 14 December 2026, noon in Berlin: Christmas is inside the next four weeks.
NOW = datetime(2026, 12, 14, 11, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NINE_TO_FIVE = [[["09:00", "17:00"]]] * 5 + [[], []]

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Closures//EN
BEGIN:VEVENT
UID:offsite-2026@acme.example
DTSTAMP:20261201T090000Z
DTSTART;VALUE=DATE:20261218
DTEND;VALUE=DATE:20261219
SUMMARY:Company offsite
END:VEVENT
BEGIN:VEVENT
UID:upgrade-2026@acme.example
DTSTAMP:20261201T090000Z
DTSTART;TZID=Europe/Berlin:20261216T140000
DTEND;TZID=Europe/Berlin:20261216T160000
SUMMARY:Network upgrade
END:VEVENT
END:VCALENDAR
"""


def calendar_data(**fields):
    data = {
        "name": "Berlin office hours",
        "timezone": "Europe/Berlin",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        **{f"hours_{day}": "09:00-17:00" for day in WEEKDAY_FIELDS[:5]},
        "hours_sat": "",
        "hours_sun": "",
    }
    data.update(fields)
    return data


def make_calendar(provider, **fields) -> ServiceCalendar:
    values = {
        "name": "Berlin office hours",
        "timezone": "Europe/Berlin",
        "hours": NINE_TO_FIVE,
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        **fields,
    }
    return ServiceCalendar.objects.create(provider=provider, **values)


def url(name, calendar=None, *args):
    if calendar is None:
        return reverse(name, args=["acme", *args])
    return reverse(name, args=[calendar.provider.slug, calendar.pk, *args])


def errors_of(response):
    assert response.status_code == 200
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


@pytest.fixture
def calendar(personas):
    return make_calendar(personas.provider)


def client_of(client, user):
    client.force_login(user)
    return client


# --------------------------------------------------------------------------- the calendar


def test_an_editor_creates_a_calendar_with_hours_per_weekday_and_holidays(personas, editor):
    response = editor.post(
        url("calendar-create"), calendar_data(hours_sat="08:00-12:00, 13:00 – 15:30")
    )
    assert response.status_code == 302
    calendar = ServiceCalendar.objects.get(provider=personas.provider)
    assert response["Location"] == url("calendar-detail", calendar)
    assert calendar.name == "Berlin office hours"
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.hours == [
        *NINE_TO_FIVE[:5],
        [["08:00", "12:00"], ["13:00", "15:30"]],
        [],
    ]
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BE")


def test_the_edit_form_shows_the_stored_hours_and_saves_changes(personas, editor, calendar):
    page = editor.get(url("calendar-edit", calendar))
    assert page.context["form"]["hours_mon"].value() == "09:00-17:00"
    assert page.context["form"]["hours_sun"].value() == ""
    response = editor.post(
        url("calendar-edit", calendar), calendar_data(hours_fri="09:00-13:00", name="Berlin")
    )
    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.name == "Berlin"
    assert calendar.hours[4] == [["09:00", "13:00"]]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone", "not an IANA time zone"),
        ({"hours_tue": "08:00-13:00, 12:00-14:00"}, "hours_tue", "overlaps"),
        ({"hours_wed": "18:00-08:00"}, "hours_wed", "must end after it starts"),
        ({"hours_thu": "from nine to five"}, "hours_thu", "is not a range"),
        ({"hours_fri": "09:00-25:00"}, "hours_fri", "not between 00:00 and 24:00"),
        ({"holiday_subdivision": "XX"}, "holiday_subdivision", "not a subdivision of DE"),
        ({"holiday_country": "", "holiday_subdivision": "BE"}, "holiday_subdivision", ""),
        ({"holiday_country": "QQ", "holiday_subdivision": ""}, "holiday_country", ""),
        ({f"hours_{day}": "" for day in WEEKDAY_FIELDS}, "hours_mon", "at least one day"),
    ],
)
def test_a_bad_calendar_is_refused_beside_its_field_and_nothing_is_stored(
    personas, editor, fields, field, message
):
    response = editor.post(url("calendar-create"), calendar_data(**fields))
    errors = errors_of(response)
    assert list(errors) == [field], errors
    assert message in " ".join(errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not ServiceCalendar.objects.exists()


def test_two_calendars_of_a_provider_cannot_share_a_name(personas, editor, calendar):
    errors = errors_of(editor.post(url("calendar-create"), calendar_data()))
    assert "name" in errors or "__all__" in errors
    assert ServiceCalendar.objects.count() == 1


def test_a_calendar_in_use_is_not_deleted(personas, editor, calendar):
    contract_objective(
        personas,
        key="availability",
        name="Availability",
        indicator="uptime",
        target=99,
        calendar=calendar,
    )
    response = editor.post(url("calendar-delete", calendar))
    assert response.status_code == 200
    assert response.context["error"]
    assert ServiceCalendar.objects.filter(pk=calendar.pk).exists()


def test_an_unused_calendar_is_deleted(personas, editor, calendar):
    response = editor.post(url("calendar-delete", calendar))
    assert response.status_code == 302
    assert not ServiceCalendar.objects.exists()


# --------------------------------------------------------------------------- the timeline


def test_the_calendar_page_shows_the_next_four_weeks_in_local_time(personas, editor, calendar):
    page = editor.get(url("calendar-detail", calendar))
    assert page.status_code == 200
    timeline = page.context["timeline"]
    days = [entry.day for entry in timeline]
    assert days[0] == date(2026, 12, 14)
    assert len(days) == 28
    body = page.content.decode()
    assert "Mon 14 Dec 2026" in body
    assert "09:00–17:00" in body
    assert "closed — Christmas Day" in body
    assert "closed — Second Day of Christmas" in body
    assert "Mon–Fri 09:00–17:00" in body


def test_the_timeline_length_can_be_chosen(personas, editor, calendar):
    page = editor.get(url("calendar-detail", calendar) + "?weeks=2")
    assert len(page.context["timeline"]) == 14
    page = editor.get(url("calendar-detail", calendar) + "?weeks=nonsense")
    assert len(page.context["timeline"]) == 28


# --------------------------------------------------------------------------- closures


def test_an_editor_imports_an_ics_file_and_sees_its_closures(personas, editor, calendar):
    response = editor.post(
        url("calendar-import", calendar), {"file": _upload("closures.ics", ICS)}, follow=True
    )
    assert response.status_code == 200
    closures = CalendarClosure.objects.filter(calendar=calendar)
    assert {c.name for c in closures} == {"Company offsite", "Network upgrade"}
    assert closures.get(name="Company offsite").day == date(2026, 12, 18)
    assert all(c.source == "ics" for c in closures)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "closures.ics" in message and "2" in message
    body = response.content.decode()
    assert "closed — Company offsite" in body
    # Wednesday 16th: open around the two-hour upgrade.
    assert "09:00–14:00" in body and "16:00–17:00" in body

    # The same file again adds nothing twice.
    editor.post(url("calendar-import", calendar), {"file": _upload("closures.ics", ICS)})
    assert CalendarClosure.objects.filter(calendar=calendar).count() == 2


def test_a_file_that_is_not_icalendar_is_refused_beside_the_file_field(personas, editor, calendar):
    response = editor.post(
        url("calendar-import", calendar), {"file": _upload("notes.ics", b"hello, world\n")}
    )
    assert response.status_code == 200
    form = response.context["ics_form"]
    assert list(form.errors) == ["file"]
    assert 'id="id_file_error"' in response.content.decode()
    assert not CalendarClosure.objects.exists()


def test_an_editor_closes_a_day_and_an_interval_by_hand_and_removes_one(personas, editor, calendar):
    response = editor.post(
        url("closure-add", calendar), {"name": "Staff party", "day": "2026-12-17"}
    )
    assert response.status_code == 302
    response = editor.post(
        url("closure-add", calendar),
        {"name": "Move", "start": "2026-12-15T12:00", "end": "2026-12-15T15:00"},
    )
    assert response.status_code == 302
    move = CalendarClosure.objects.get(name="Move")
    # Typed in the calendar's zone: 12:00 in Berlin is 11:00 UTC.
    assert move.start == datetime(2026, 12, 15, 11, 0, tzinfo=UTC)
    assert move.source == "manual"
    page = editor.get(url("calendar-detail", calendar)).content.decode()
    assert "closed — Staff party" in page
    assert "09:00–12:00, 15:00–17:00" in page

    response = editor.post(url("closure-remove", calendar, move.pk))
    assert response.status_code == 302
    assert list(CalendarClosure.objects.values_list("name", flat=True)) == ["Staff party"]


def test_a_closure_is_listed_in_the_calendars_zone_and_says_which(personas, editor, calendar):
    CalendarClosure.objects.create(
        calendar=calendar,
        name="Team offsite",
        start=datetime(2026, 12, 9, 12, 0, tzinfo=UTC),
        end=datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
    )
    CalendarClosure.objects.create(
        calendar=calendar,
        name="Move",
        start=datetime(2026, 12, 10, 16, 0, tzinfo=UTC),
        end=datetime(2026, 12, 11, 9, 0, tzinfo=UTC),
    )

    closures = editor.get(url("calendar-detail", calendar)).content.decode()
    closures = closures.split('<table class="closures">')[1].split("</table>")[0]

    assert 'When <span class="muted">(Europe/Berlin)</span>' in closures
    assert "Wed 9 Dec 2026 13:00 CET – 18:00 CET" in closures
    assert "Thu 10 Dec 2026 17:00 CET – Fri 11 Dec 2026 10:00 CET" in closures


def test_a_closure_needs_a_day_or_an_interval(personas, editor, calendar):
    response = editor.post(url("closure-add", calendar), {"name": "Nothing"})
    assert response.status_code == 200
    assert response.context["closure_form"].errors
    assert not CalendarClosure.objects.exists()


# --------------------------------------------------------------------------- who sees what


def test_a_viewer_reads_the_calendars_but_changes_nothing(personas, client, calendar):
    viewer = client_of(client, personas.provider_viewer)
    assert viewer.get(url("calendar-list")).status_code == 200
    page = viewer.get(url("calendar-detail", calendar))
    assert page.status_code == 200
    assert "ics_form" not in page.context
    assert viewer.get(url("calendar-create")).status_code == 403
    assert viewer.post(url("calendar-edit", calendar), calendar_data()).status_code == 403
    assert viewer.post(url("calendar-import", calendar), {}).status_code == 403
    assert viewer.post(url("closure-add", calendar), {"day": "2026-12-17"}).status_code == 403
    assert not CalendarClosure.objects.exists()


def test_a_customer_reads_only_the_calendars_of_its_objectives(personas, client, calendar):
    unused = make_calendar(personas.provider, name="Weekend desk")
    contract_objective(
        personas,
        key="availability",
        name="Availability",
        indicator="uptime",
        target=99,
        calendar=calendar,
    )
    customer = client_of(client, personas.customer_member)
    listing = customer.get(url("calendar-list"))
    assert listing.status_code == 200
    assert [c.name for c in listing.context["calendars"]] == ["Berlin office hours"]
    assert customer.get(url("calendar-detail", calendar)).status_code == 200
    assert customer.get(url("calendar-detail", unused)).status_code == 404
    assert customer.get(url("calendar-create")).status_code == 404
    assert customer.post(url("closure-add", calendar), {"day": "2026-12-17"}).status_code == 403


@pytest.mark.parametrize("persona", ["other_provider_member", "other_customer_member"])
def test_an_outsider_gets_404_on_every_calendar_page(personas, client, calendar, persona):
    closure = CalendarClosure.objects.create(
        calendar=calendar, name="Party", day=date(2026, 12, 17)
    )
    outsider = client_of(client, getattr(personas, persona))
    for path in (
        url("calendar-list"),
        url("calendar-create"),
        url("calendar-detail", calendar),
        url("calendar-edit", calendar),
        url("calendar-delete", calendar),
    ):
        assert outsider.get(path).status_code == 404, path
    for path in (
        url("calendar-import", calendar),
        url("closure-add", calendar),
        url("closure-remove", calendar, closure.pk),
    ):
        assert outsider.post(path, {}).status_code == 404, path
    assert CalendarClosure.objects.filter(pk=closure.pk).exists()


def test_the_navigation_links_a_provider_to_its_calendars(personas, editor, client):
    home = editor.get(url("calendar-list"))
    assert reverse("calendar-home") in home.content.decode()
    assert editor.get(reverse("calendar-home"))["Location"] == url("calendar-list")


def test_the_calendar_list_runs_a_fixed_number_of_queries(
    personas, editor, django_assert_max_num_queries
):
    for index in range(12):
        calendar = make_calendar(personas.provider, name=f"Desk {index}")
        CalendarClosure.objects.create(calendar=calendar, name="Party", day=date(2026, 12, 17))
    with django_assert_max_num_queries(8):
        page = editor.get(url("calendar-list"))
    assert len(page.context["calendars"]) == 12
    assert "Desk 11" in page.content.decode()


# --------------------------------------------------------------------------- objectives


def objective_data(**fields):
    data = {
        "scope": "customer",
        "key": "availability",
        "name": "Availability",
        "indicator": "uptime",
        "comparator": "gte",
        "target": "99.5",
        "threshold": "",
        "threshold_comparator": "",
        "calendar": "",
        "priority": "",
        "enabled": "on",
        "rule_kind": "",
        "tiers-TOTAL_FORMS": "0",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "20",
    }
    data.update(fields)
    return data


def test_an_objective_offers_only_its_providers_calendars(personas, editor, calendar):
    other = make_calendar(personas.other_provider, name="Umbrella hours")
    create = reverse("contract-objective-create", args=[personas.contract.pk])
    form = editor.get(create).context["form"]
    assert list(form.fields["calendar"].queryset) == [calendar]
    errors = errors_of(editor.post(create, objective_data(calendar=str(other.pk))))
    assert list(errors) == ["calendar"]
    assert not ServiceLevel.objects.filter(key="availability").exists()


def test_an_objective_with_a_calendar_says_so_in_its_sentence(personas, editor, calendar):
    create = reverse("contract-objective-create", args=[personas.contract.pk])
    response = editor.post(create, objective_data(calendar=str(calendar.pk)))
    assert response.status_code == 302, errors_of(response)
    sl = ServiceLevel.objects.get(contract=personas.contract, key="availability")
    assert sl.calendar == calendar
    page = editor.get(reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk]))
    sentence = page.context["preview"].sentence
    assert "during service hours Mon–Fri 09:00–17:00 Europe/Berlin" in sentence
    assert "public holidays in Germany (BE) excluded" in sentence
    assert "public holidays in" in sentence and "(BE) excluded" in sentence


def test_a_ticket_objective_takes_a_priority_and_a_threshold_in_minutes(personas, editor, calendar):
    create = reverse("contract-objective-create", args=[personas.contract.pk])
    response = editor.post(
        create,
        objective_data(
            key="p1-resolution",
            name="P1 resolution",
            indicator="resolution_time",
            target="90",
            threshold="240",
            priority="P1",
            calendar=str(calendar.pk),
        ),
    )
    assert response.status_code == 302, errors_of(response)
    sl = ServiceLevel.objects.get(key="p1-resolution")
    assert (sl.indicator, sl.priority, sl.threshold) == ("resolution_time", "P1", 240)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"indicator": "resolution_time", "threshold": ""}, "threshold"),
        ({"indicator": "response_time", "threshold": "0"}, "threshold"),
        ({"indicator": "uptime", "priority": "P1"}, "priority"),
    ],
)
def test_a_bad_ticket_objective_is_refused_beside_its_field(personas, editor, fields, field):
    create = reverse("contract-objective-create", args=[personas.contract.pk])
    errors = errors_of(editor.post(create, objective_data(**fields)))
    assert field in errors, errors
    assert not ServiceLevel.objects.filter(key="availability").exists()


# --------------------------------------------------------------------------- ticket lines


@pytest.fixture
def ticket_line(personas):
    """November's statement of ACME-1 with E8's resolution line: A and B within 240
    business minutes, C breached."""
    cs = personas.contract.services.get()
    statement = Statement.objects.create(
        contract=personas.contract,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        currency="EUR",
        fees_total=Decimal("1000.00"),
        credit_total=Decimal("0.00"),
        fingerprint="e8",
        issued_at=NOW,
    )
    line = StatementLine.objects.create(
        statement=statement,
        contract_service=cs,
        key="p1-resolution",
        name="P1 resolution",
        source_level="customer",
        indicator="resolution_time",
        comparator="gte",
        target=Decimal("90"),
        attainment=Decimal("66.6666666667"),
        met=False,
        fee=Decimal("1000.00"),
        explanation="2 of 3 P1 tickets resolved within 4 business hours (66.667 %).",
    )
    berlin = [
        ("INC-A", datetime(2026, 11, 6, 15, 0, tzinfo=UTC), 180, 0, 4020, True),
        ("INC-B", datetime(2026, 11, 10, 9, 0, tzinfo=UTC), 210, 180, 390, True),
        ("INC-C", datetime(2026, 11, 11, 8, 0, tzinfo=UTC), 330, 0, 330, False),
    ]
    StatementLineTicket.objects.bulk_create(
        StatementLineTicket(
            line=line,
            reference=reference,
            priority="P1",
            opened_at=opened,
            done_at=opened.replace(hour=20),
            business_seconds=business * 60,
            stopped_seconds=stopped * 60,
            wall_seconds=wall * 60,
            within=within,
        )
        for reference, opened, business, stopped, wall, within in berlin
    )
    return line


def test_a_ticket_line_lists_every_ticket_worst_first(personas, client, ticket_line):
    customer = client_of(client, personas.customer_member)
    statement = customer.get(reverse("statement-detail", args=[ticket_line.statement_id]))
    drill_down = reverse("line-tickets", args=[ticket_line.pk])
    assert drill_down in statement.content.decode()
    page = customer.get(drill_down)
    assert page.status_code == 200
    assert [t.reference for t in page.context["tickets"]] == ["INC-C", "INC-B", "INC-A"]
    rows = page.content.decode().split("<tbody>")[1]
    assert rows.index("INC-C") < rows.index("INC-B") < rows.index("INC-A")
    assert "210 min" in rows and "180 min" in rows and "390 min" in rows
    assert "breached" in rows and "within" in rows
    assert (page.context["within_count"], page.context["breached_count"]) == (2, 1)


def test_a_ticket_open_at_the_periods_end_says_so_where_its_resolution_would_be(
    personas, client, ticket_line
):
    ticket_line.tickets.create(
        reference="INC-D",
        priority="P1",
        opened_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        done_at=None,
        business_seconds=480 * 60,
        stopped_seconds=0,
        wall_seconds=900 * 60,
        within=False,
    )

    page = client_of(client, personas.customer_member).get(
        reverse("line-tickets", args=[ticket_line.pk])
    )

    row = page.content.decode().split("INC-D")[1].split("</tr>")[0]
    assert "none by the period's end" in row
    assert "still open" not in row


def test_only_ticket_lines_link_to_their_tickets(personas, editor, ticket_line):
    uptime = StatementLine.objects.create(
        statement=ticket_line.statement,
        contract_service=ticket_line.contract_service,
        key="availability",
        name="Availability",
        source_level="customer",
        indicator="uptime",
        comparator="gte",
        target=Decimal("99.5"),
        attainment=Decimal("100"),
        met=True,
        fee=Decimal("1000.00"),
        explanation="Up all month.",
    )
    page = editor.get(reverse("statement-detail", args=[ticket_line.statement_id]))
    body = page.content.decode()
    assert body.count(reverse("line-tickets", args=[ticket_line.pk])) == 1
    assert reverse("line-tickets", args=[uptime.pk]) not in body


@pytest.mark.parametrize("persona", ["other_provider_member", "other_customer_member"])
def test_an_outsider_gets_404_on_a_ticket_line(personas, client, ticket_line, persona):
    outsider = client_of(client, getattr(personas, persona))
    assert outsider.get(reverse("line-tickets", args=[ticket_line.pk])).status_code == 404
    assert outsider.get(reverse("line-tickets", args=[999_999])).status_code == 404


def test_a_ticket_line_runs_a_fixed_number_of_queries(
    personas, client, ticket_line, django_assert_max_num_queries
):
    StatementLineTicket.objects.bulk_create(
        StatementLineTicket(
            line=ticket_line,
            reference=f"INC-{index}",
            priority="P1",
            opened_at=NOW,
            business_seconds=index,
            stopped_seconds=0,
            wall_seconds=index,
            within=True,
        )
        for index in range(40)
    )
    customer = client_of(client, personas.customer_member)
    with django_assert_max_num_queries(8):
        page = customer.get(reverse("line-tickets", args=[ticket_line.pk]))
    assert len(page.context["tickets"]) == 43


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/calendar")


def test_the_calendar_list_names_the_holiday_country_as_the_sentence_does(editor, calendar):
    page = editor.get(url("calendar-list")).content.decode()
    assert "Germany (BE)" in page
    assert "DE (BE)" not in page
