"""Every model has an admin page that renders for an operator, with history."""

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from contracts.models import Contract, ResponsibilityLapse, ServiceLevel
from credits.models import Notification
from tests.credits.test_notify import members_of
from tests.factories import (
    ContractServiceFactory,
    IncidentFactory,
    MaintenanceWindowFactory,
    ResponsibilityLapseFactory,
    ServiceLevelFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def book(personas):
    cs = ContractServiceFactory(contract=personas.contract)
    ServiceLevelFactory(provider=personas.provider)
    ServiceLevelFactory(
        provider=personas.provider,
        level="customer",
        contract=personas.contract,
        key="report-delivery",
        indicator="ratio",
        credit_rule={"kind": "per_step", "step": "0.5", "percent": "1"},
    )
    IncidentFactory(contract_service=cs, started_at=START, ended_at=START + timedelta(hours=1))
    MaintenanceWindowFactory(contract=cs.contract, start=START, end=START + timedelta(hours=2))
    ResponsibilityLapseFactory(
        responsibility__contract=cs.contract, start=START, end=START + timedelta(days=1)
    )
    return personas


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_admin_changelist_add_and_change_pages_render_for_an_operator(client, book, model):
    client.force_login(book.operator)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    model_admin = admin.site._registry[model]
    if model_admin.has_add_permission(changelist.wsgi_request):
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == 200
    instance = model._default_manager.first()
    if instance is not None:
        change = client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        )
        assert change.status_code == 200


def test_admin_search_and_filters_work_on_contracts(client, book):
    client.force_login(book.operator)
    url = reverse("admin:contracts_contract_changelist")
    found = client.get(url, {"q": "ACME-1", "status__exact": "active"})
    assert found.status_code == 200
    assert b"ACME-1" in found.content
    assert b"UMB-1" not in found.content


def test_changes_to_contracts_and_objectives_keep_who_when_and_what(client, book):
    client.force_login(book.operator)
    contract = book.contract
    contract.title = "Renamed"
    contract._history_user = book.operator
    contract.save()
    record = contract.history.first()
    assert record.history_user == book.operator
    assert record.history_type == "~"
    delta = record.diff_against(record.prev_record)
    assert [change.field for change in delta.changes] == ["title"]

    objective = ServiceLevel.objects.get(key="report-delivery")
    objective.credit_rule = {"kind": "per_step", "step": "0.5", "percent": "2"}
    objective.save()
    rule_delta = objective.history.first().diff_against(objective.history.first().prev_record)
    assert [c.field for c in rule_delta.changes] == ["credit_rule"]
    history_page = client.get(reverse("admin:contracts_servicelevel_history", args=[objective.pk]))
    assert history_page.status_code == 200


def test_the_contract_page_edits_services_objectives_and_exclusions_in_one_form(client, book):
    client.force_login(book.operator)
    page = client.get(reverse("admin:contracts_contract_change", args=[book.contract.pk]))
    body = page.content.decode()
    for inline_prefix in ("services", "service_levels", "responsibilities", "maintenance_windows"):
        assert f'name="{inline_prefix}-TOTAL_FORMS"' in body, inline_prefix
    assert "incidents" in body  # nested under each contract service
    assert "lapses" in body  # nested under each responsibility


def test_the_admin_refuses_an_invalid_rule_with_a_message(client, book):
    client.force_login(book.operator)
    objective = ServiceLevel.objects.get(key="report-delivery")
    url = reverse("admin:contracts_servicelevel_change", args=[objective.pk])
    response = client.post(
        url,
        {
            "level": "customer",
            "provider": book.provider.pk,
            "contract": book.contract.pk,
            "key": "report-delivery",
            "name": "Reports",
            "indicator": "ratio",
            "comparator": "gte",
            "target": "99.5",
            "enabled": "on",
            "credit_rule": '{"kind": "per_step", "step": "0", "percent": "1"}',
        },
    )
    assert response.status_code == 200
    assert "step must be greater than 0" in response.content.decode()
    objective.refresh_from_db()
    assert objective.credit_rule["step"] == "0.5"


def test_operators_terminate_contracts_instead_of_deleting_them(book):
    from contracts.services import terminate_contract

    terminate_contract(contract=book.contract, end_date=book.contract.start_date)
    book.contract.refresh_from_db()
    assert book.contract.status == Contract.Status.TERMINATED


# --------------------------------------------------------------------------- lapses


class FormValues(HTMLParser):
    """The values a browser would post back from a page's forms (empty templates left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        name = a.get("name") or ""
        if "__prefix__" in name or "-empty-" in name:
            return
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.append((name, a.get("value") or "on"))
                return
            self.values.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _lapse_notifications():
    return Notification.objects.filter(event="lapse_recorded")


def test_a_lapse_added_in_the_admin_notifies_both_parties(
    client, book, django_capture_on_commit_callbacks
):
    client.force_login(book.operator)
    responsibility = ResponsibilityLapse.objects.get().responsibility
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:contracts_responsibilitylapse_add"),
            {
                "responsibility": responsibility.pk,
                "start_0": "2026-10-05",
                "start_1": "08:00:00",
                "end_0": "2026-10-05",
                "end_1": "14:00:00",
                "note": "Nobody answered the escalation line.",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    lapse = ResponsibilityLapse.objects.get(note="Nobody answered the escalation line.")
    assert lapse.recorded_by == book.operator
    assert {n.user_id for n in _lapse_notifications()} == members_of(book.provider, book.customer)


def test_a_lapse_added_inline_on_the_contract_page_notifies_both_parties(
    client, book, django_capture_on_commit_callbacks
):
    client.force_login(book.operator)
    url = reverse("admin:contracts_contract_change", args=[book.contract.pk])
    form = FormValues()
    form.feed(client.get(url).content.decode())
    data: dict[str, list[str]] = {}
    for name, value in form.values:
        data.setdefault(name, []).append(value)
    (total,) = [name for name in data if name.endswith("lapses-TOTAL_FORMS")]
    prefix = total.removesuffix("-TOTAL_FORMS")
    new = int(data[total][0])
    data[total] = [str(new + 1)]
    data.update(
        {
            f"{prefix}-{new}-start_0": ["2026-10-07"],
            f"{prefix}-{new}-start_1": ["09:00:00"],
            f"{prefix}-{new}-end_0": ["2026-10-07"],
            f"{prefix}-{new}-end_1": ["10:00:00"],
            f"{prefix}-{new}-note": ["Entered on the contract page."],
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    lapse = ResponsibilityLapse.objects.get(note="Entered on the contract page.")
    assert lapse.recorded_by == book.operator
    assert {n.user_id for n in _lapse_notifications()} == members_of(book.provider, book.customer)
    # Nothing else on the page was changed or announced again.
    assert ResponsibilityLapse.objects.count() == 2
