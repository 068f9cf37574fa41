"""Dates lie between 1970 and 2199 wherever they are entered, like samples' times: a
contract from year 1 was settled into a thousand statements. Each is a 400 (or a form
error) naming the field, and nothing is stored."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from contracts import services
from contracts.dates import OUT_OF_RANGE
from contracts.models import (
    CalendarClosure,
    Contract,
    Incident,
    MaintenanceWindow,
    Responsibility,
    ResponsibilityLapse,
)
from credits.models import Statement
from tests.api.conftest import client_for, url

pytestmark = pytest.mark.django_db

TOO_EARLY_DAYS = ["0001-01-01", "1900-01-01", "1969-12-31"]
TOO_LATE_DAYS = ["2200-01-01", "9999-12-31"]


@pytest.mark.parametrize("day", TOO_EARLY_DAYS + TOO_LATE_DAYS)
def test_a_contract_start_date_out_of_range_is_a_400_naming_it(personas, day):
    contract = personas.contract

    response = client_for(personas.provider_editor).patch(
        url("contract", contract.pk), {"start_date": day}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {"start_date": [OUT_OF_RANGE]}
    assert Contract.objects.get(pk=contract.pk).start_date == contract.start_date


def test_a_contract_end_date_out_of_range_is_a_400_naming_it(personas):
    response = client_for(personas.provider_editor).patch(
        url("contract", personas.contract.pk), {"end_date": "9999-12-31"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {"end_date": [OUT_OF_RANGE]}


def test_the_first_and_last_days_of_the_range_are_accepted(personas):
    client = client_for(personas.provider_editor)

    response = client.patch(
        url("contract", personas.contract.pk),
        {"start_date": "1970-01-01", "end_date": "2199-12-31"},
        format="json",
    )

    assert response.status_code == 200, response.content


def test_the_contract_form_shows_the_error_beside_the_start_date(personas, client):
    contract = personas.contract
    client.force_login(personas.provider_editor)
    edit = reverse("contract-edit", args=[contract.pk])
    form = client.get(edit).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}

    response = client.post(edit, {**data, "start_date": "0001-01-01"})

    assert response.status_code == 200
    assert response.context["form"].errors["start_date"] == [OUT_OF_RANGE]
    assert Contract.objects.get(pk=contract.pk).start_date == contract.start_date


def test_maintenance_window_incident_and_lapse_times_out_of_range_are_400s(personas):
    client = client_for(personas.provider_editor)
    contract, cs = personas.contract, personas.contract.services.get()
    responsibility = Responsibility.objects.create(contract=contract, title="Name a contact")

    window = client.post(
        url("maintenancewindow"),
        {"contract": contract.pk, "start": "0001-01-01T00:00:00Z", "end": "2026-01-02T00:00Z"},
        format="json",
    )
    incident = client.post(
        url("incident"),
        {
            "contract_service": cs.pk,
            "key": "availability",
            "started_at": "2026-01-01T00:00:00Z",
            "ended_at": "2200-01-01T00:00:00Z",
            "cause": "provider",
        },
        format="json",
    )
    lapse = client.post(
        url("responsibilitylapse"),
        {
            "responsibility": responsibility.pk,
            "start": "1969-12-31T23:59:59Z",
            "end": "2026-01-01T00:00:00Z",
        },
        format="json",
    )

    assert (window.status_code, window.json()) == (400, {"start": [OUT_OF_RANGE]})
    assert (incident.status_code, incident.json()) == (400, {"ended_at": [OUT_OF_RANGE]})
    assert (lapse.status_code, lapse.json()) == (400, {"start": [OUT_OF_RANGE]})
    assert not MaintenanceWindow.objects.exists()
    assert not Incident.objects.exists()
    assert not ResponsibilityLapse.objects.exists()


def test_a_calendar_closure_out_of_range_is_a_400(personas):
    calendar = services.create_calendar(provider=personas.provider, name="Office hours")
    closures = f"/api/v1/service-calendars/{calendar.pk}/closures/"
    client = client_for(personas.provider_editor)

    day = client.post(closures, {"name": "Founding", "day": "1900-01-01"}, format="json")
    interval = client.post(
        closures,
        {"name": "Far", "start": "2026-01-01T00:00:00Z", "end": "9999-01-01T00:00:00Z"},
        format="json",
    )

    assert (day.status_code, day.json()) == (400, {"day": [OUT_OF_RANGE]})
    assert (interval.status_code, interval.json()) == (400, {"end": [OUT_OF_RANGE]})
    assert not CalendarClosure.objects.exists()


def test_settling_a_period_out_of_range_is_a_400_with_the_reason(personas):
    # A contract stored before dates were bounded: its early periods still cannot be settled.
    Contract.objects.filter(pk=personas.contract.pk).update(start_date=date(1, 1, 1))

    response = client_for(personas.provider_editor).post(
        f"/api/v1/contracts/{personas.contract.pk}/settle/",
        {"period_start": "0001-01-01"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "periods lie between 1970 and 2199" in str(response.json())
    assert not Statement.objects.exists()
