"""Service calendars through the API: the provider's editors write them, their closures and
iCalendar imports; the parties read them and their timeline; objectives name them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contracts import services
from contracts.models import CalendarClosure, ServiceCalendar, ServiceLevel
from tests.api.conftest import client_for
from tests.contracts.test_calendars import ICS, WEEKDAYS_8_TO_18
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/service-calendars/"
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def detail(pk, action: str | None = None) -> str:
    return f"{URL}{pk}/" + (f"{action}/" if action else "")


def body(provider, **fields) -> dict:
    return {
        "provider": provider.pk,
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "hours": WEEKDAYS_8_TO_18,
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        **fields,
    }


@pytest.fixture
def calendars(personas):
    """Acme's calendar its corporate objective uses, one no objective uses, and
    Umbrella's."""
    used = services.create_calendar(
        provider=personas.provider, name="Office hours", timezone="Europe/Berlin"
    )
    unused = services.create_calendar(provider=personas.provider, name="Night shift")
    theirs = services.create_calendar(provider=personas.other_provider, name="Office hours")
    ServiceLevelFactory(provider=personas.provider, calendar=used)
    return used, unused, theirs


def ics_upload(content: bytes, name: str = "closures.ics") -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type="text/calendar")}


# --------------------------------------------------------------------------- writing


def test_a_provider_editor_creates_reads_changes_and_deletes_a_calendar(personas):
    client = client_for(personas.provider_editor)

    created = client.post(URL, body(personas.provider), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["hours"] == WEEKDAYS_8_TO_18
    changed = client.patch(detail(pk), {"hours": [[], [], [], [], [], [["10:00", "14:00"]], []]})
    assert changed.status_code == 200, changed.json()
    assert ServiceCalendar.objects.get(pk=pk).hours[5] == [["10:00", "14:00"]]
    assert client.get(detail(pk)).json()["name"] == "Berlin office"
    assert client.delete(detail(pk)).status_code == 204
    assert not ServiceCalendar.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"hours": [[["08:00", "12:00"], ["11:30", "17:00"]], [], [], [], [], [], []]}, "hours"),
        ({"hours": "Mon-Fri 9-5"}, "hours"),
        ({"holiday_subdivision": "CA"}, "holiday_subdivision"),
        ({"holiday_country": "XX", "holiday_subdivision": ""}, "holiday_country"),
    ],
)
def test_bad_calendar_input_answers_400_naming_the_field_and_stores_nothing(
    personas, fields, field
):
    client = client_for(personas.provider_editor)

    response = client.post(URL, body(personas.provider, **fields), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not ServiceCalendar.objects.exists()


def test_overlapping_hours_are_refused_on_a_change_too(personas, calendars):
    used, _, _ = calendars
    client = client_for(personas.provider_editor)

    response = client.patch(
        detail(used.pk),
        {"hours": [[], [["08:00", "12:00"], ["11:00", "17:00"]], [], [], [], [], []]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"hours": ["Tuesday: 11:00–17:00 overlaps 08:00–12:00"]}
    assert ServiceCalendar.objects.get(pk=used.pk).hours == WEEKDAYS_8_TO_18


def test_a_calendar_is_kept_for_a_provider_the_user_writes_for(personas):
    client = client_for(personas.provider_editor)

    response = client.post(URL, body(personas.other_provider), format="json")

    assert response.status_code == 400
    assert "provider" in response.json()


def test_viewers_and_customers_read_but_do_not_write(personas, calendars):
    used, _, _ = calendars

    for persona in ("provider_viewer", "customer_member"):
        client = client_for(getattr(personas, persona))
        assert client.get(detail(used.pk)).status_code == 200
        assert client.patch(detail(used.pk), {"name": "Mine"}, format="json").status_code == 403
        assert client.post(URL, body(personas.provider), format="json").status_code == 403
    assert ServiceCalendar.objects.get(pk=used.pk).name == "Office hours"


def test_a_calendar_objectives_use_answers_409_on_delete(personas, calendars):
    used, _, _ = calendars

    response = client_for(personas.provider_editor).delete(detail(used.pk))

    assert response.status_code == 409
    assert "Availability" in response.json()["detail"]
    assert ServiceCalendar.objects.filter(pk=used.pk).exists()


# --------------------------------------------------------------------------- scope


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("provider_admin", {"Acme/Office hours", "Acme/Night shift"}),
        ("provider_editor", {"Acme/Office hours", "Acme/Night shift"}),
        ("provider_viewer", {"Acme/Office hours", "Acme/Night shift"}),
        # A customer sees the calendars of the objectives that apply to its contracts.
        ("customer_member", {"Acme/Office hours"}),
        ("other_customer_member", set()),
        ("other_provider_member", {"Umbrella/Office hours"}),
        (
            "operator",
            {"Acme/Office hours", "Acme/Night shift", "Umbrella/Office hours"},
        ),
    ],
)
def test_each_persona_lists_the_calendars_in_its_scope(personas, calendars, persona, visible):
    response = client_for(getattr(personas, persona)).get(URL)

    assert response.status_code == 200
    names = {
        f"{'Acme' if row['provider'] == personas.provider.pk else 'Umbrella'}/{row['name']}"
        for row in response.json()["results"]
    }
    assert names == visible


def test_anonymous_is_not_let_in(personas, calendars):
    assert client_for(None).get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    "action",
    [None, "closures", "timeline"],
)
def test_an_outsider_gets_404_for_a_calendar_and_its_parts(personas, calendars, action):
    used, unused, _ = calendars
    outsider = client_for(personas.other_provider_member)
    customer = client_for(personas.customer_member)

    assert outsider.get(detail(used.pk, action)).status_code == 404
    assert customer.get(detail(unused.pk, action)).status_code == 404
    assert outsider.delete(detail(used.pk)).status_code == 404
    assert (
        outsider.post(
            detail(used.pk, "import-ics"), ics_upload(ICS.encode()), format="multipart"
        ).status_code
        == 404
    )
    assert not CalendarClosure.objects.exists()


# --------------------------------------------------------------------------- closures


def test_an_editor_closes_a_day_and_an_interval_and_removes_one(personas, calendars):
    used, _, _ = calendars
    client = client_for(personas.provider_editor)

    day = client.post(
        detail(used.pk, "closures"), {"name": "Inventory", "day": "2026-11-12"}, format="json"
    )
    interval = client.post(
        detail(used.pk, "closures"),
        {"name": "Move", "start": "2026-11-10T13:00:00+01:00", "end": "2026-11-10T15:00:00+01:00"},
        format="json",
    )
    assert (day.status_code, interval.status_code) == (201, 201), (day.json(), interval.json())
    listed = client.get(detail(used.pk, "closures")).json()
    assert [(row["name"], row["source"]) for row in listed] == [
        ("Inventory", "manual"),
        ("Move", "manual"),
    ]

    removed = client.delete(f"/api/v1/calendar-closures/{day.json()['id']}/")

    assert removed.status_code == 204
    assert list(used.closures.values_list("name", flat=True)) == ["Move"]


def test_a_closure_that_is_both_or_neither_a_day_and_an_interval_is_refused(personas, calendars):
    used, _, _ = calendars
    client = client_for(personas.provider_editor)

    both = client.post(
        detail(used.pk, "closures"),
        {"day": "2026-11-12", "start": "2026-11-10T13:00:00Z", "end": "2026-11-10T15:00:00Z"},
        format="json",
    )
    backwards = client.post(
        detail(used.pk, "closures"),
        {"start": "2026-11-10T15:00:00Z", "end": "2026-11-10T13:00:00Z"},
        format="json",
    )

    assert both.status_code == 400 and "day" in both.json()
    assert backwards.status_code == 400 and "end" in backwards.json()
    assert not used.closures.exists()


def test_a_closure_outside_the_scope_is_not_found_and_a_viewer_cannot_remove_one(
    personas, calendars
):
    used, unused, _ = calendars
    unused_closure = services.add_closure(calendar=unused, name="Inventory", day=date(2026, 11, 12))
    closure = services.add_closure(calendar=used, name="Inventory", day=date(2026, 11, 12))

    customer = client_for(personas.customer_member)
    outsider = client_for(personas.other_provider_member)

    assert customer.get(f"/api/v1/calendar-closures/{closure.pk}/").status_code == 200
    assert customer.get(f"/api/v1/calendar-closures/{unused_closure.pk}/").status_code == 404
    assert outsider.delete(f"/api/v1/calendar-closures/{closure.pk}/").status_code == 404
    viewer = client_for(personas.provider_viewer)
    assert viewer.delete(f"/api/v1/calendar-closures/{closure.pk}/").status_code == 403
    assert CalendarClosure.objects.count() == 2


def test_a_viewer_cannot_add_closures(personas, calendars):
    used, _, _ = calendars

    response = client_for(personas.provider_viewer).post(
        detail(used.pk, "closures"), {"day": "2026-11-12"}, format="json"
    )

    assert response.status_code == 403
    assert not used.closures.exists()


# --------------------------------------------------------------------------- import


def test_an_ics_import_answers_what_it_created_and_again_what_it_left(
    personas, calendars, time_machine
):
    time_machine.move_to(NOW, tick=False)
    used, _, _ = calendars
    client = client_for(personas.provider_editor)

    first = client.post(detail(used.pk, "import-ics"), ics_upload(ICS.encode()), format="multipart")
    again = client.post(detail(used.pk, "import-ics"), ics_upload(ICS.encode()), format="multipart")

    assert first.status_code == 200, first.json()
    assert first.json() == {"created": 7, "updated": 0, "unchanged": 0, "removed": 0}
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 7, "removed": 0}
    assert used.closures.filter(source="ics").count() == 7


@pytest.mark.parametrize(
    "content", [b"just some text", b"%PDF-1.7\n\xe2\xe3\xcf\xd3", b"BEGIN:VCALENDAR\nBROKEN"]
)
def test_a_file_that_is_not_icalendar_answers_400_on_file(personas, calendars, content):
    used, _, _ = calendars

    response = client_for(personas.provider_editor).post(
        detail(used.pk, "import-ics"), ics_upload(content), format="multipart"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert not used.closures.exists()


def test_an_import_without_a_file_answers_400_on_file(personas, calendars):
    used, _, _ = calendars

    response = client_for(personas.provider_editor).post(
        detail(used.pk, "import-ics"), {}, format="multipart"
    )

    assert response.status_code == 400
    assert "file" in response.json()


# --------------------------------------------------------------------------- timeline


def test_the_timeline_names_the_holidays_in_local_time(personas):
    calendar = services.create_calendar(
        provider=personas.provider,
        name="Berlin",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BE",
    )

    response = client_for(personas.provider_viewer).get(
        detail(calendar.pk, "timeline"), {"start": "2026-04-27", "weeks": "1"}
    )

    assert response.status_code == 200
    days = response.json()
    assert [day["day"] for day in days][:2] == ["2026-04-27", "2026-04-28"]
    assert len(days) == 7
    assert days[0] == {
        "day": "2026-04-27",
        "hours": [["08:00", "18:00"]],
        "closed": False,
        "name": "",
        "closures": [],
        "minutes": 600,
        "text": "08:00–18:00",
    }
    assert (days[4]["closed"], days[4]["name"], days[4]["text"]) == (
        True,
        "Labor Day",
        "Closed: Labor Day",
    )


@pytest.mark.parametrize(
    ("query", "field"), [({"start": "27/04/2026"}, "start"), ({"weeks": "0"}, "weeks")]
)
def test_a_bad_timeline_query_answers_400_naming_it(personas, calendars, query, field):
    used, _, _ = calendars

    response = client_for(personas.provider_viewer).get(detail(used.pk, "timeline"), query)

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("start", "weeks"),
    [("9999-12-31", "26"), ("9998-12-01", "26"), ("0001-01-01", "1"), ("1899-12-31", "1")],
)
def test_a_timeline_of_days_python_cannot_reach_answers_400_on_start(
    personas, calendars, start, weeks
):
    used, _, _ = calendars

    response = client_for(personas.provider_viewer).get(
        detail(used.pk, "timeline"), {"start": start, "weeks": weeks}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["start"]
    assert "1900-01-01 to 2999-12-31" in response.json()["start"][0]


@pytest.mark.parametrize(("start", "weeks"), [("1900-01-01", "1"), ("2999-12-31", "26")])
def test_a_timeline_at_either_end_of_the_years_it_reads_is_shown(personas, start, weeks):
    calendar = services.create_calendar(
        provider=personas.provider,
        name="Berlin",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BE",
    )

    response = client_for(personas.provider_viewer).get(
        detail(calendar.pk, "timeline"), {"start": start, "weeks": weeks}
    )

    assert response.status_code == 200, response.json()
    assert response.json()[0]["day"] == start
    assert len(response.json()) == 7 * int(weeks)


# --------------------------------------------------------------------------- objectives


def objective(personas, **fields) -> dict:
    return {
        "level": "corporate",
        "provider": personas.provider.pk,
        "key": "p1-resolution",
        "name": "P1 resolution",
        "indicator": "resolution_time",
        "comparator": "gte",
        "target": "90",
        "threshold": "240",
        "priority": "P1",
        **fields,
    }


def test_an_objective_names_a_calendar_of_its_provider_and_a_priority(personas, calendars):
    used, _, _ = calendars

    response = client_for(personas.provider_editor).post(
        "/api/v1/service-levels/", objective(personas, calendar=used.pk), format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["calendar"], response.json()["priority"]) == (used.pk, "P1")
    stored = ServiceLevel.objects.get(key="p1-resolution")
    assert (stored.calendar, stored.threshold) == (used, Decimal("240"))


def test_a_contracts_ticket_objective_names_one_of_the_contracts_priorities(personas):
    cs = personas.contract.services.get()
    fields = {
        "level": "contract_service",
        "contract": personas.contract.pk,
        "service": cs.service_id,
    }
    client = client_for(personas.provider_editor)

    unknown = client.post(
        "/api/v1/service-levels/", objective(personas, priority="P9", **fields), format="json"
    )
    known = client.post(
        "/api/v1/service-levels/", objective(personas, priority="P2", **fields), format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json() == {
        "priority": ["'P9' is not a ticket priority of ACME-1 (P1, P2, P3, P4)."]
    }
    assert known.status_code == 201, known.json()
    assert list(ServiceLevel.objects.filter(key="p1-resolution").values_list("priority")) == [
        ("P2",)
    ]


def test_an_objective_cannot_name_another_providers_calendar(personas, calendars):
    _, _, theirs = calendars

    response = client_for(personas.provider_editor).post(
        "/api/v1/service-levels/", objective(personas, calendar=theirs.pk), format="json"
    )

    assert response.status_code == 400
    assert "calendar" in response.json()
    assert not ServiceLevel.objects.filter(key="p1-resolution").exists()


def test_an_operator_cannot_give_an_objective_another_providers_calendar(personas, calendars):
    _, _, theirs = calendars

    response = client_for(personas.operator).post(
        "/api/v1/service-levels/", objective(personas, calendar=theirs.pk), format="json"
    )

    assert response.status_code == 400
    assert response.json()["calendar"] == ["The calendar belongs to another provider."]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"threshold": None}, "threshold"),
        ({"threshold": "0"}, "threshold"),
        ({"indicator": "uptime", "threshold": None}, "priority"),
        ({"indicator": "response_minutes"}, "indicator"),
    ],
)
def test_a_bad_ticket_objective_answers_400_naming_the_field(personas, fields, field):
    response = client_for(personas.provider_editor).post(
        "/api/v1/service-levels/", objective(personas, **fields), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not ServiceLevel.objects.exists()


# --------------------------------------------------------------------------- queries


def test_the_calendar_list_costs_the_same_for_two_calendars_or_twenty(
    personas, django_assert_max_num_queries
):
    client = client_for(personas.customer_member)
    for number in range(20):
        calendar = services.create_calendar(provider=personas.provider, name=f"Hours {number}")
        ServiceLevelFactory(provider=personas.provider, key=f"key-{number}", calendar=calendar)

    # A page and its count.
    with django_assert_max_num_queries(2):
        response = client.get(URL)

    assert response.json()["count"] == 20


def test_a_timeline_of_half_a_year_reads_the_calendar_in_a_few_queries(
    personas, calendars, django_assert_max_num_queries
):
    used, _, _ = calendars
    services.import_ics(calendar=used, content=ICS.encode(), now=NOW)
    client = client_for(personas.provider_viewer)

    # The calendar, its closures for the engine, its timed closures for the text.
    with django_assert_max_num_queries(3):
        response = client.get(detail(used.pk, "timeline"), {"start": "2026-10-01", "weeks": "26"})

    assert len(response.json()) == 26 * 7


def test_a_second_calendar_of_the_same_name_is_refused_on_name(personas, calendars):
    client = client_for(personas.provider_editor)

    response = client.post(URL, body(personas.provider, name="Office hours"), format="json")
    renamed = client.patch(detail(calendars[1].pk), {"name": "Office hours"}, format="json")

    for answer in (response, renamed):
        assert answer.status_code == 400
        assert list(answer.json()) == ["name"], answer.json()
        assert "already has a calendar of this name" in answer.json()["name"][0]
    assert ServiceCalendar.objects.filter(provider=personas.provider).count() == 2
