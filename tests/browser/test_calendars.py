"""A provider editor writes service hours in a real browser (Debian's Chromium): creates a
calendar, imports an iCalendar file, reads the next weeks with the imported closure and a
named public holiday, attaches the calendar to an objective and sees the sentence and the
what-if preview change. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from contracts.models import CalendarClosure, Measurement, ServiceCalendar, ServiceLevel
from tests.browser.conftest import screenshot
from tests.contracts.conftest import REPORTS_ON_TIME, contract_objective

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Monday 14 December 2026 in Berlin: November is closed, Christmas is two weeks away. The
# clock keeps ticking from there, so the browser's and the server's waits still work.
NOW = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Closures//EN
BEGIN:VEVENT
UID:offsite-2026@acme.example
DTSTAMP:20261201T090000Z
DTSTART;VALUE=DATE:20261218
DTEND;VALUE=DATE:20261219
SUMMARY:Company offsite
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def no_console_errors(page):
    """A CSP violation (an inline script or style) or a script error fails the test."""
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


@pytest.fixture
def reports(personas):
    """ACME-1's reports on time in November 2026: ten on time on weekday afternoons, five
    late at night. Around the clock that is 10 of 15; in office hours 10 of 10."""
    cs = personas.contract.services.get()
    objective = contract_objective(personas, **REPORTS_ON_TIME)
    afternoons = [datetime(2026, 11, day, 14, 0, tzinfo=UTC) for day in (2, 3, 4, 5, 6)]
    nights = [datetime(2026, 11, day, 1, 0, tzinfo=UTC) for day in (10, 11, 12, 13, 17)]
    Measurement.objects.bulk_create(
        [
            *(
                Measurement(contract_service=cs, key=objective.key, observed_at=at, ok=True)
                for first in afternoons
                for at in (first, first + timedelta(hours=1))
            ),
            *(
                Measurement(contract_service=cs, key=objective.key, observed_at=at, ok=False)
                for at in nights
            ),
        ]
    )
    return objective


def wait_for_scripts(page) -> None:
    page.wait_for_load_state()
    page.wait_for_selector("html.js", state="attached")


def preview_total(page, before: str | None = None) -> str:
    """Press Preview and read the what-if total once htmx has swapped the panel in."""
    page.get_by_role("button", name="Preview").click()
    total = page.locator("#preview-total")
    if before is None:
        total.wait_for()
    else:
        expect(total).not_to_have_text(before)
    return total.inner_text()


def test_an_editor_builds_a_calendar_imports_closures_and_measures_an_objective_in_it(
    personas, reports, login, page, tmp_path
):
    login("provider-editor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendars").click()
    page.wait_for_url("**/providers/acme/calendars/")

    # The calendar: Mon–Fri 09:00–17:00 in Berlin, Berlin's public holidays.
    page.get_by_role("link", name="New calendar").click()
    page.get_by_label("Name", exact=True).fill("Berlin office hours")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(day, exact=True).fill("09:00-17:00")
    page.get_by_label("Public holidays of").select_option("DE")
    page.get_by_label("Subdivision (state or region)").fill("BE")
    screenshot(page, "provider-calendar-form")
    page.get_by_role("button", name="Save calendar").click()
    page.wait_for_url("**/calendars/*/")
    calendar = ServiceCalendar.objects.get(provider=personas.provider)
    assert calendar.hours[0] == [["09:00", "17:00"]] and calendar.hours[5] == []
    assert page.locator("#calendar-hours").inner_text() == "Mon–Fri 09:00–17:00"

    # Closures from an iCalendar file.
    ics = tmp_path / "closures.ics"
    ics.write_text(ICS)
    page.get_by_label("iCalendar file (.ics)").set_input_files(str(ics))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**#closures")
    assert "closures.ics" in page.locator(".messages").inner_text()
    assert CalendarClosure.objects.filter(calendar=calendar, name="Company offsite").exists()

    # The next four weeks from today in Berlin: the offsite and Christmas are closed.
    timeline = page.locator("#timeline")
    assert timeline.locator("tbody tr").count() == 28
    today = timeline.locator("tr", has_text="Mon 14 Dec 2026")
    assert "09:00–17:00" in today.inner_text()
    assert "closed — Company offsite" in timeline.locator("tr", has_text="Fri 18 Dec").inner_text()
    assert "closed — Christmas Day" in timeline.locator("tr", has_text="Fri 25 Dec").inner_text()
    screenshot(page, "provider-calendar-timeline")

    # The objective measured around the clock first, then in the calendar's hours.
    page.goto(f"/contracts/{personas.contract.pk}/")
    page.get_by_role("link", name="Edit Reports on time").click()
    wait_for_scripts(page)
    around_the_clock = preview_total(page)
    # 10 of 15 reports on time: 66.667 %, 66 started steps of 1 % of 1,000.00.
    assert around_the_clock == "660.00 EUR"
    page.get_by_label("Service calendar").select_option(label="Berlin office hours")
    in_office_hours = preview_total(page, before=around_the_clock)
    assert in_office_hours == "0.00 EUR"
    sentence = page.locator("#preview-sentence").inner_text()
    assert "during service hours Mon–Fri 09:00–17:00 Europe/Berlin" in sentence
    screenshot(page, "provider-objective-with-calendar")
    page.get_by_role("button", name="Save objective").click()
    page.wait_for_url("**#objectives")
    assert ServiceLevel.objects.get(pk=reports.pk).calendar == calendar
    assert "during service hours Mon–Fri 09:00–17:00" in page.locator("main").inner_text()
