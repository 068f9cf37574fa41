"""Objectives in the browser: the hierarchy shown with its sources, override and remove,
the credit-rule editor (one set of inputs per kind, tiers as rows), errors beside the
input that caused them, and the what-if preview that saves nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.models import ContractService, ServiceLevel
from tests.contracts.conftest import REPORTS_ON_TIME, contract_objective, hourly_samples
from tests.factories import ContractServiceFactory, ServiceFactory, ServiceLevelFactory

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
# Every page is read at one fixed moment, so "this month" and "last month" hold still.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
TIERS = [
    {"bound": "99.9", "percent": "10"},
    {"bound": "99", "percent": "30"},
    {"bound": "95", "percent": "100"},
]


def objective_data(scope="customer", rule_kind="", tiers=(), **fields):
    data = {
        "scope": scope,
        "key": "report-delivery",
        "name": "Reports on time",
        "indicator": "ratio",
        "comparator": "gte",
        "target": "99.5",
        "threshold": "",
        "threshold_comparator": "",
        "enabled": "on",
        "rule_kind": rule_kind,
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "20",
    }
    for index, tier in enumerate(tiers):
        data[f"tiers-{index}-bound"] = tier.get("bound", "")
        data[f"tiers-{index}-percent"] = tier.get("percent", "")
        if tier.get("DELETE"):
            data[f"tiers-{index}-DELETE"] = "on"
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def create_url(contract):
    return reverse("contract-objective-create", args=[contract.pk])


# --------------------------------------------------------------------------- saving


def test_an_editor_saves_a_contract_wide_objective_with_a_per_step_rule(personas, editor):
    response = editor.post(
        create_url(personas.contract),
        objective_data(rule_kind="per_step", step="0.5", step_percent="1"),
    )
    assert response.status_code == 302
    sl = ServiceLevel.objects.get(contract=personas.contract, key="report-delivery")
    assert sl.level == "customer"
    assert sl.provider == personas.provider
    assert sl.credit_rule == {
        "kind": "per_step",
        "step": "0.5",
        "percent": "1",
        "max_percent": None,
    }


def test_an_editor_saves_a_one_service_objective_with_three_tiers(personas, editor):
    cs = personas.contract.services.get()
    response = editor.post(
        create_url(personas.contract),
        objective_data(
            scope=f"cs:{cs.service_id}",
            key="availability",
            name="Availability",
            indicator="uptime",
            target="99.9",
            rule_kind="tiered",
            # A blank row and a removed row are ignored.
            tiers=[
                *TIERS[:2],
                {"bound": "", "percent": ""},
                TIERS[2],
                {"bound": "1", "percent": "1", "DELETE": True},
            ],
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    sl = ServiceLevel.objects.get(contract=personas.contract, key="availability")
    assert (sl.level, sl.service_id) == ("contract_service", cs.service_id)
    assert sl.credit_rule == {"kind": "tiered", "tiers": TIERS}


def errors_of(response):
    assert response.status_code == 200
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


@pytest.mark.parametrize(
    ("fields", "input_name", "message"),
    [
        ({"rule_kind": "per_step", "step": "0", "step_percent": "1"}, "step", "step must be"),
        ({"rule_kind": "per_step", "step": "0.5"}, "step_percent", "percent is required"),
        (
            {
                "rule_kind": "per_step",
                "step": "0.5",
                "step_percent": "1",
                "step_max_percent": "150",
            },
            "step_max_percent",
            "between 0 and 100",
        ),
        ({"rule_kind": "linear", "factor": "abc"}, "factor", "must be a number"),
        (
            {"rule_kind": "flat", "flat_percent": "5", "flat_amount": "100"},
            "flat_amount",
            "either percent or amount",
        ),
        ({"rule_kind": "flat"}, "flat_percent", "needs a percent or an amount"),
        ({"rule_kind": "pool", "allocation_percent": "20"}, "rule_kind", "at-risk amount"),
        ({"rule_kind": "tiered"}, "tiers", "at least one tier"),
        ({"target": "120"}, "target", "between 0 and 100"),
        ({"indicator": "threshold"}, "threshold", "needs a threshold"),
        ({"key": "not a slug!"}, "key", "slug"),
    ],
)
def test_each_error_appears_beside_the_input_that_caused_it_and_nothing_is_saved(
    personas, editor, fields, input_name, message
):
    response = editor.post(create_url(personas.contract), objective_data(**fields))
    errors = errors_of(response)
    assert input_name in errors, errors
    assert any(message in text for text in errors[input_name]), errors
    page = response.content.decode()
    assert f'id="id_{input_name}_error"' in page
    assert not ServiceLevel.objects.filter(contract=personas.contract).exists()
    # What was typed is kept.
    assert 'value="Reports on time"' in page


def test_tiers_in_the_wrong_order_are_refused_beside_the_tiers(personas, editor):
    response = editor.post(
        create_url(personas.contract),
        objective_data(rule_kind="tiered", tiers=[TIERS[1], TIERS[0]]),
    )
    errors = errors_of(response)
    assert errors["tiers"] == [
        "tier 2: for an 'at least' objective each bound must be lower than the one before"
    ]
    page = response.content.decode()
    assert re.search(
        r'<fieldset class="tiers field-error" aria-describedby="[^"]*id_tiers_error', page
    )
    # The rows typed are shown again.
    assert 'value="99.9"' in page and 'value="99"' in page
    assert not ServiceLevel.objects.filter(contract=personas.contract).exists()


def test_a_second_objective_with_the_same_key_at_the_same_level_is_refused(personas, editor):
    url = create_url(personas.contract)
    assert editor.post(url, objective_data()).status_code == 302
    errors = errors_of(editor.post(url, objective_data(name="Again")))
    assert "already exists at this level" in errors["key"][0]
    assert ServiceLevel.objects.filter(contract=personas.contract).count() == 1


def test_add_a_tier_without_javascript_redisplays_the_form_with_one_more_row(personas, editor):
    data = objective_data(rule_kind="tiered", tiers=TIERS[:1])
    data["add_tier"] = "1"
    response = editor.post(create_url(personas.contract), data)
    assert response.status_code == 200
    assert response.context["form"].tier_formset.total_form_count() == 2
    assert 'name="tiers-1-bound"' in response.content.decode()
    assert not ServiceLevel.objects.exists()


def test_editing_a_tiered_rule_shows_its_tiers_as_rows(personas, editor):
    sl = contract_objective(
        personas,
        key="availability",
        name="Availability",
        indicator="uptime",
        target=Decimal("99.9"),
        credit_rule={"kind": "tiered", "tiers": TIERS},
    )
    url = reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    page = editor.get(url).content.decode()
    for index, tier in enumerate(TIERS):
        assert f'name="tiers-{index}-bound" value="{tier["bound"]}"' in page
    assert '<option value="tiered" selected>' in page
    # The sentence the customer reads is shown while editing.
    assert "below it the customer is credited 10 % of that month&#x27;s fee" in page
    # Saving the rows as shown (the browser posts them back with INITIAL_FORMS=3) keeps
    # them; removing the last one drops it.
    data = objective_data(
        key="availability",
        name="Availability",
        indicator="uptime",
        target="99.9",
        rule_kind="tiered",
        tiers=[*TIERS[:2], {**TIERS[2], "DELETE": True}],
    )
    data["tiers-INITIAL_FORMS"] = "3"
    assert editor.post(url, data).status_code == 302
    sl.refresh_from_db()
    assert sl.credit_rule == {"kind": "tiered", "tiers": TIERS[:2]}


def test_a_provider_editor_keeps_corporate_and_service_objectives_on_the_provider_page(
    personas, editor
):
    service = personas.contract.services.get().service
    url = reverse("objective-create", args=["acme"])
    assert editor.post(url, objective_data(scope="corporate", target="95")).status_code == 302
    response = editor.post(
        url,
        objective_data(
            scope=f"service:{service.pk}", rule_kind="linear", factor="1", linear_max_percent="25"
        ),
    )
    assert response.status_code == 302
    corporate = ServiceLevel.objects.get(level="corporate", key="report-delivery")
    by_service = ServiceLevel.objects.get(level="service", key="report-delivery")
    assert corporate.provider == by_service.provider == personas.provider
    assert by_service.service == service
    page = editor.get(reverse("objective-list", args=["acme"])).content.decode()
    assert "at least 95 % of samples each month" in page
    assert "1 % of that month&#x27;s fee per point short, at most 25 %" in page
    # Another provider's service is not a choice.
    foreign = ServiceFactory(provider=personas.other_provider)
    errors = errors_of(editor.post(url, objective_data(scope=f"service:{foreign.pk}", key="x")))
    assert "scope" in errors


# --------------------------------------------------------------------------- the hierarchy


@pytest.fixture
def hierarchy(personas):
    """Corporate availability 99.9 with tiers; ACME-1 has two services."""
    corporate = ServiceLevelFactory(
        provider=personas.provider,
        target=Decimal("99.9"),
        credit_rule={"kind": "tiered", "tiers": TIERS},
    )
    first = personas.contract.services.select_related("service").get()
    second = ContractServiceFactory(contract=personas.contract)
    return corporate, first, second


def detail(client, contract):
    return client.get(reverse("contract-detail", args=[contract.pk])).content.decode()


def section_of(page, service_name):
    start = page.index(f"<h3>{service_name}: objectives in force</h3>")
    end = page.find("<h3>", start + 10)
    return page[start : end if end != -1 else None]


def test_inherited_objectives_show_their_source_and_sentence(personas, editor, hierarchy):
    corporate, first, _second = hierarchy
    section = section_of(detail(editor, personas.contract), first.service.name)
    assert "inherited: corporate" in section
    assert f"Availability of {first.service.name} is at least 99.9 % of each month" in section
    assert f"?override={corporate.pk}&amp;scope=cs:{first.service_id}" in section
    assert f'name="service_level" value="{corporate.pk}"' in section


def test_override_prefills_a_more_specific_objective_with_the_same_key(personas, editor, hierarchy):
    corporate, first, second = hierarchy
    url = create_url(personas.contract) + f"?override={corporate.pk}&scope=cs:{first.service_id}"
    response = editor.get(url)
    form = response.context["form"]
    assert form.initial["key"] == "availability"
    assert form.initial["target"] == "99.9"
    assert form.initial["rule_kind"] == "tiered"
    assert form.initial["scope"] == f"cs:{first.service_id}"
    page = response.content.decode()
    assert 'name="tiers-2-bound" value="95"' in page
    # Saving the prefilled form with a stricter target overrides only that service.
    data = objective_data(
        scope=f"cs:{first.service_id}",
        key="availability",
        name="Availability",
        indicator="uptime",
        target="99.95",
        rule_kind="tiered",
        tiers=TIERS,
    )
    response = editor.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    page = detail(editor, personas.contract)
    first_section = section_of(page, first.service.name)
    assert "at least 99.95 %" in first_section
    assert "Overrides corporate (at least 99.9)" in first_section
    assert "inherited: corporate" in section_of(page, second.service.name)


def test_remove_switches_an_inherited_objective_off_for_one_service(personas, editor, hierarchy):
    corporate, first, second = hierarchy
    response = editor.post(
        reverse("contract-objective-remove", args=[personas.contract.pk]),
        {"service_level": corporate.pk, "service": first.service_id},
    )
    assert response.status_code == 302
    removal = ServiceLevel.objects.get(contract=personas.contract, key="availability")
    assert (removal.level, removal.service_id, removal.enabled) == (
        "contract_service",
        first.service_id,
        False,
    )
    page = detail(editor, personas.contract)
    assert "Removed for this service" in section_of(page, first.service.name)
    assert "Restore inherited" in section_of(page, first.service.name)
    assert "Removed for this service" not in section_of(page, second.service.name)
    # The corporate objective itself is untouched.
    corporate.refresh_from_db()
    assert corporate.enabled


def test_a_contract_wide_objective_is_inherited_by_every_service_of_the_contract(
    personas, editor, hierarchy
):
    _corporate, first, second = hierarchy
    editor.post(
        create_url(personas.contract),
        objective_data(key="availability", indicator="uptime", target="98"),
    )
    page = detail(editor, personas.contract)
    for cs in (first, second):
        section = section_of(page, cs.service.name)
        assert "inherited: contract-wide" in section
        assert "Overrides corporate (at least 99.9)" in section


# --------------------------------------------------------------------------- what-if


@pytest.fixture
def reporting(personas):
    """Reports on time, contract-wide, 1 % per started 0.5 points below 99.5; October had 9
    of 10 reports on time (90 %: 19 steps = 19 % of 1,000.00), September 10 of 10."""
    cs = personas.contract.services.get()
    sl = contract_objective(personas, **REPORTS_ON_TIME)
    hourly_samples(cs, datetime(2026, 10, 2, tzinfo=UTC), ok=9, total=10)
    hourly_samples(cs, datetime(2026, 9, 2, tzinfo=UTC), ok=10, total=10)
    return sl, cs


def preview_rows(response):
    preview = response.context["preview"]
    assert preview is not None and not preview.error, preview and preview.error
    return {row.period.start.month: (row.attainment, row.met, row.credit) for row in preview.rows}


def test_the_preview_shows_what_an_edited_rule_would_have_credited_without_saving(
    personas, editor, reporting
):
    sl, _cs = reporting
    url = reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    response = editor.post(
        url, objective_data(rule_kind="flat", flat_percent="5", action="preview")
    )
    rows = preview_rows(response)
    assert len(rows) == 10  # January to October 2026: the contract started on 1 January
    assert rows[10] == ("90.000 %", False, Decimal("50.00"))
    assert rows[9] == ("100.000 %", True, Decimal("0.00"))
    assert rows[8] == ("no data", None, Decimal("0.00"))
    assert response.context["preview"].total == Decimal("50.00")
    page = response.content.decode()
    assert "below it the customer is credited 5 % of that month&#x27;s fee" in page
    sl.refresh_from_db()
    assert sl.credit_rule["kind"] == "per_step"  # nothing saved


def test_the_preview_of_the_stored_rule_matches_the_worked_figures(personas, editor, reporting):
    sl, _cs = reporting
    url = reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    data = objective_data(rule_kind="per_step", step="0.5", step_percent="1", action="preview")
    rows = preview_rows(editor.post(url, data, HTTP_HX_REQUEST="true"))
    assert rows[10] == ("90.000 %", False, Decimal("190.00"))


def test_the_preview_of_a_new_objective_stores_nothing(personas, editor, reporting):
    _sl, cs = reporting
    count = ServiceLevel.objects.count()
    data = objective_data(
        scope=f"cs:{cs.service_id}",
        target="95",
        rule_kind="flat",
        flat_percent="10",
        action="preview",
    )
    response = editor.post(create_url(personas.contract), data)
    rows = preview_rows(response)
    assert rows[10] == ("90.000 %", False, Decimal("100.00"))
    assert ServiceLevel.objects.count() == count
    # The form still creates a new objective afterwards.
    assert response.context["form"].instance.pk is None
    data["action"] = "save"
    assert editor.post(create_url(personas.contract), data).status_code == 302
    assert ServiceLevel.objects.count() == count + 1


def test_the_preview_of_an_invalid_form_shows_the_errors_and_no_figures(
    personas, editor, reporting
):
    sl, _cs = reporting
    url = reverse("contract-objective-edit", args=[personas.contract.pk, sl.pk])
    response = editor.post(
        url, objective_data(rule_kind="per_step", step="-1", step_percent="1", action="preview")
    )
    assert "step" in response.context["form"].errors
    assert response.context["preview"].rows == []
    assert "Correct the errors" in response.context["preview"].error


def test_a_corporate_objective_is_previewed_on_a_chosen_contract(personas, editor, reporting):
    _sl, cs = reporting
    url = reverse("objective-create", args=["acme"])
    data = objective_data(
        scope="corporate",
        key="report-delivery",
        target="99.9",
        rule_kind="flat",
        flat_percent="3",
        action="preview",
        preview_contract=str(personas.contract.pk),
    )
    response = editor.post(url, data)
    # The contract-wide objective of ACME-1 is more specific: the corporate one does not
    # apply there, so the preview says so rather than inventing credits.
    assert response.context["preview"].contract == personas.contract
    assert response.context["preview"].rows == []
    ServiceLevel.objects.filter(contract=personas.contract).delete()
    rows = preview_rows(editor.post(url, data))
    assert rows[10] == ("90.000 %", False, Decimal("30.00"))
    assert not ServiceLevel.objects.filter(level="corporate").exists()
    assert ContractService.objects.filter(pk=cs.pk).exists()
