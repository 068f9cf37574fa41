"""Running a contract in the browser: CSV uploads, settling a period, responsibilities
and their lapses, maintenance windows, incidents, early warnings and the SLA schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse

from contracts.models import (
    Contract,
    Incident,
    MaintenanceWindow,
    Measurement,
    Responsibility,
    ResponsibilityLapse,
    ServiceLevel,
)
from credits.models import EarlyWarning, Statement
from tests.factories import ContractServiceFactory, ServiceLevelFactory

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
# Every page is read at one fixed moment, so "this month" and "last month" hold still.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@pytest.fixture
def reporting(personas):
    """ACME-1 measures reports on time (ratio) and failed reports (count)."""
    cs = personas.contract.services.select_related("service").get()
    for key, indicator, comparator, target in (
        ("report-delivery", "ratio", "gte", "99.5"),
        ("failed-reports", "count", "lte", "2"),
    ):
        ServiceLevel.objects.create(
            level="customer",
            provider=personas.provider,
            contract=personas.contract,
            key=key,
            name=key.replace("-", " ").capitalize(),
            indicator=indicator,
            comparator=comparator,
            target=Decimal(target),
            credit_rule={"kind": "flat", "percent": "5"},
        )
    return cs


# --------------------------------------------------------------------------- CSV upload


def upload(client, contract, text, name="samples.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("measurement-upload", args=[contract.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_a_good_file_is_stored_and_the_count_is_shown(personas, editor, reporting):
    cs = reporting
    text = (
        "contract_service,key,observed_at,value,ok\n"
        f"{cs.service.code},report-delivery,2026-10-05T09:00:00+00:00,,true\n"
        f"{cs.pk},report-delivery,2026-10-06T09:00:00+02:00,,false\n"
        f"{cs.service.code},failed-reports,2026-10-06T10:00:00+00:00,1,\n"
    )
    response = upload(editor, personas.contract, text)
    assert response.status_code == 302
    assert Measurement.objects.filter(contract_service=cs).count() == 3
    page = editor.get(response["Location"]).content.decode()
    assert "3 sample(s) stored for ACME-1" in page


def test_a_bad_file_lists_every_bad_row_with_its_line_and_stores_nothing(
    personas, editor, reporting
):
    cs = reporting
    other_cs = personas.other_contract.services.get()
    text = (
        "contract_service,key,observed_at,value,ok\n"
        f"{cs.service.code},report-delivery,2026-10-05T09:00:00+00:00,,true\n"
        f"{cs.service.code},report-delivery,yesterday,,true\n"
        "\n"
        "no-such-service,report-delivery,2026-10-05T09:00:00+00:00,,true\n"
        f"{cs.service.code},report-delivery,2026-10-05T09:00:00+00:00,,\n"
        f"{other_cs.pk},report-delivery,2026-10-05T09:00:00+00:00,,true\n"
        f'{cs.service.code},failed-reports,2026-10-05T09:00:00+00:00,"1,5",\n'
    )
    response = upload(editor, personas.contract, text)
    assert response.status_code == 200
    errors = [(e.line, e.field) for e in response.context["row_errors"]]
    assert errors == [
        (3, "observed_at"),
        (5, "contract_service"),
        (6, "ok"),
        (7, "contract_service"),
        (8, "value"),
    ]
    page = response.content.decode()
    assert "must be an ISO 8601 date-time with offset" in page
    assert "no service &#x27;no-such-service&#x27; in ACME-1" in page
    assert "a ratio sample needs ok true/false" in page
    assert f"contract service {other_cs.pk} does not exist" in page
    assert "nothing was stored" in page
    assert 'id="id_file_error"' in page
    assert Measurement.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("observed_at,key\n", "missing column(s): contract_service"),
        ("contract_service,key,observed_at,colour\n", "unknown column(s): colour"),
        ("", "The submitted file is empty."),
        ("contract_service,key,observed_at\n", "the file has no rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(personas, editor, reporting, content, message):
    response = upload(editor, personas.contract, content)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert Measurement.objects.count() == 0


# --------------------------------------------------------------------------- settling


def test_settling_a_closed_period_issues_the_statement_and_shows_it(personas, editor, reporting):
    url = reverse("contract-settle", args=[personas.contract.pk])
    page = editor.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert '<option value="2026-10-01">October 2026</option>' in page
    response = editor.post(url, {"period_start": "2026-10-01"})
    statement = Statement.objects.get(contract=personas.contract, period_start=date(2026, 10, 1))
    assert response.status_code == 302
    try:
        expected = reverse("statement-detail", args=[statement.pk])
    except NoReverseMatch:
        expected = reverse("contract-detail", args=[personas.contract.pk]) + "#statements"
    assert response["Location"] == expected
    # Settling again with nothing changed keeps the statement already issued.
    again = editor.post(url, {"period_start": "2026-10-01"}, follow=True)
    assert Statement.objects.filter(contract=personas.contract).count() == 1
    assert "Nothing changed since the last settlement" in again.content.decode()
    page = editor.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert "October 2026 (settled, revision 1)" in page


def test_a_period_that_cannot_be_settled_is_explained_beside_the_field(personas, editor):
    url = reverse("contract-settle", args=[personas.draft_contract.pk])
    response = editor.post(url, {"period_start": "2026-10-01"})
    assert response.status_code == 200
    errors = response.context["form"].errors["period_start"]
    assert "is a draft contract" in errors[0]
    assert 'id="id_period_start_error"' in response.content.decode()
    # A period that is still open is not even offered.
    response = editor.post(
        reverse("contract-settle", args=[personas.contract.pk]), {"period_start": "2026-11-01"}
    )
    assert "period_start" in response.context["form"].errors
    assert not Statement.objects.exists()


# --------------------------------------------------------------------------- responsibilities


def test_an_editor_records_a_responsibility_and_the_objectives_it_affects(
    personas, editor, reporting
):
    report = ServiceLevel.objects.get(key="report-delivery")
    foreign = ServiceLevelFactory(provider=personas.other_provider, key="foreign")
    url = reverse("responsibility-create", args=[personas.contract.pk])
    response = editor.post(
        url, {"title": "Name a representative", "description": "", "service_levels": [foreign.pk]}
    )
    assert "service_levels" in response.context["form"].errors
    response = editor.post(
        url, {"title": "Name a representative", "description": "", "service_levels": [report.pk]}
    )
    assert response.status_code == 302
    responsibility = Responsibility.objects.get(contract=personas.contract)
    assert list(responsibility.service_levels.all()) == [report]


def test_a_lapse_is_recorded_in_the_contracts_time_zone(personas, editor):
    Contract.objects.filter(pk=personas.contract.pk).update(timezone="Europe/Amsterdam")
    responsibility = Responsibility.objects.create(contract=personas.contract, title="Access")
    url = reverse("lapse-create", args=[personas.contract.pk, responsibility.pk])
    bad = editor.post(url, {"start": "2026-10-02T10:00", "end": "2026-10-01T10:00", "note": ""})
    assert bad.status_code == 200
    assert "end" in bad.context["form"].errors
    assert not ResponsibilityLapse.objects.exists()
    response = editor.post(
        url, {"start": "2026-10-01T10:00", "end": "2026-10-01T12:30", "note": "No access"}
    )
    assert response.status_code == 302
    lapse = ResponsibilityLapse.objects.get()
    assert lapse.start == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert lapse.recorded_by == personas.provider_editor
    page = editor.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    # Typed in the contract's zone (10:00 in Amsterdam), shown as an instant in the
    # viewer's zone (UTC), labelled.
    assert "1 Oct 2026 08:00 UTC" in page


# --------------------------------------------------------------------------- exclusions


def test_maintenance_windows_are_created_edited_and_deleted(personas, editor):
    cs = personas.contract.services.get()
    foreign = personas.other_contract.services.get()
    url = reverse("maintenance-create", args=[personas.contract.pk])
    data = {"contract_service": "", "start": "2026-12-01T01:00", "end": "2026-12-01T03:00"}
    bad = editor.post(url, {**data, "end": "2026-12-01T00:00"})
    assert bad.context["form"].errors["end"] == ["The end must be after the start."]
    bad = editor.post(url, {**data, "contract_service": foreign.pk})
    assert "contract_service" in bad.context["form"].errors
    assert not MaintenanceWindow.objects.exists()
    assert editor.post(url, {**data, "description": "Core upgrade"}).status_code == 302
    window = MaintenanceWindow.objects.get()
    edit = reverse("maintenance-edit", args=[personas.contract.pk, window.pk])
    assert editor.post(edit, {**data, "contract_service": cs.pk}).status_code == 302
    window.refresh_from_db()
    assert window.contract_service == cs
    delete = reverse("maintenance-delete", args=[personas.contract.pk, window.pk])
    assert editor.post(delete).status_code == 302
    assert not MaintenanceWindow.objects.exists()


def test_incidents_are_created_with_their_cause_and_errors_beside_fields(personas, editor):
    cs = personas.contract.services.get()
    url = reverse("incident-create", args=[personas.contract.pk])
    data = {
        "contract_service": cs.pk,
        "key": "availability",
        "started_at": "2026-10-04T10:00",
        "ended_at": "2026-10-04T09:00",
        "cause": "customer",
        "description": "",
    }
    bad = editor.post(url, data)
    assert bad.context["form"].errors["ended_at"] == ["The end must be after the start."]
    assert editor.post(url, {**data, "ended_at": "2026-10-04T11:00"}).status_code == 302
    incident = Incident.objects.get()
    assert incident.cause == "customer"
    page = editor.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert "Customer" in page and "4 Oct 2026 10:00 UTC" in page


# --------------------------------------------------------------------------- warnings, schedule


def test_the_contract_page_lists_its_early_warnings(personas, editor, reporting):
    EarlyWarning.objects.create(
        contract_service=reporting,
        key="report-delivery",
        period_start=date(2026, 11, 1),
        state="breached",
        projected_amount=Decimal("50.00"),
        message="Reports on time can no longer reach 99.5 % this month.",
    )
    page = editor.get(reverse("contract-detail", args=[personas.contract.pk])).content.decode()
    assert "can no longer reach 99.5 % this month" in page
    assert "50.00 EUR" in page


def test_the_schedule_says_in_plain_language_what_the_customer_signs(personas, client, reporting):
    contract = personas.contract
    Contract.objects.filter(pk=contract.pk).update(credit_cap_percent=Decimal("10"))
    second = ContractServiceFactory(contract=contract, fee=Decimal("500.00"))
    ServiceLevelFactory(provider=personas.provider, target=Decimal("99.9"))
    ServiceLevel.objects.create(
        level="contract_service",
        provider=personas.provider,
        contract=contract,
        service=second.service,
        key="availability",
        name="Availability",
        indicator="uptime",
        target=99,
        enabled=False,
    )
    responsibility = Responsibility.objects.create(
        contract=contract, title="Provide a representative", description="Within 4 hours."
    )
    responsibility.service_levels.add(ServiceLevel.objects.get(key="report-delivery"))
    MaintenanceWindow.objects.create(
        contract=contract,
        start=datetime(2026, 12, 1, 1, tzinfo=UTC),
        end=datetime(2026, 12, 1, 3, tzinfo=UTC),
        description="Core upgrade",
    )
    client.force_login(personas.customer_member)  # the customer reads what it signs
    response = client.get(reverse("contract-schedule", args=[contract.pk]))
    page = response.content.decode()
    assert "<strong>Acme Networks</strong> (the provider)" in page
    assert "<strong>Globex</strong> (the customer)" in page
    assert "1,500.00 EUR" in page  # fees total per month
    assert f"Availability of {reporting.service.name} is at least 99.9 % of each month" in page
    assert "Report delivery of" in page and "5 % of that month&#x27;s fee" in page
    assert "Availability (availability) does not apply to this service." in page
    assert "never exceed <strong>10 %</strong>" in page and "150.00 EUR" in page
    assert "Core upgrade" in page
    assert "Provide a representative" in page and "relieved of: Report delivery" in page
    assert "css/contracts.css" in page
