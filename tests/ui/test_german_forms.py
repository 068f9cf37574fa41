"""Form words that were English on German pages (the audit of #16): the objective forms'
scopes and change kinds, the lapse form of the responsibilities page, and the integration
forms' fields that took their labels from the models' English field names."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from contracts.forms.terms import TermsEditFields
from integrations.models import PrometheusSource
from tests.factories import ResponsibilityFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def test_the_objective_forms_scopes_and_change_kinds_in_german(personas, client):
    client.force_login(personas.provider_editor)
    provider_form = page_text(
        client.get(
            reverse("objective-create", args=[personas.provider.slug]), **GERMAN
        ).content.decode()
    )
    assert "Jeder Dienst jedes Vertrags (unternehmensweit)" in provider_form
    assert "in every contract" not in provider_form and "Every service" not in provider_form
    contract_form = page_text(
        client.get(
            reverse("contract-objective-create", args=[personas.contract.pk]), **GERMAN
        ).content.decode()
    )
    assert "Jeder Dienst dieses Vertrags (vertragsweit)" in contract_form
    assert " only" not in contract_form and "Every service" not in contract_form
    with translation.override("de"):
        kinds = [str(label) for _, label in TermsEditFields().fields["change"].choices]
    assert kinds[0].startswith("Eine Änderung") and kinds[1].startswith("Eine Korrektur")


def test_the_lapse_form_of_the_responsibilities_page_in_german(personas, client):
    responsibility = ResponsibilityFactory(contract=personas.contract, title="Zugang geben")
    client.force_login(personas.provider_editor)
    page = page_text(
        client.get(reverse("lapse-record", args=[responsibility.pk]), **GERMAN).content.decode()
    )
    assert "Versäumnis von „Zugang geben“ erfassen (ACME-1)" in page
    assert "Record a lapse" not in page and "will not count against" not in page


def test_the_integration_forms_name_every_field_in_german(personas, client):
    """The fields that took their labels from the models' English field names."""
    client.force_login(personas.provider_admin)

    def labels(name: str, *args: str) -> list[str]:
        url = reverse(name, args=[personas.provider.slug, *args])
        html = client.get(url, **GERMAN).content.decode()
        return [
            page_text(f"<main>{label}</main>")
            for label in re.findall(r"<label[^>]*>(.*?)</label>", html, re.S)
        ]

    receiver = " | ".join(labels("receiver-create", "tickets"))
    assert "Aktiviert" in receiver and "Enabled" not in receiver
    source = " | ".join(labels("prometheus-source-create"))
    assert "Benutzername" in source and "Username" not in source
    PrometheusSource.objects.create(  # a pull needs a source to pull from
        organization=personas.provider, name="Prometheus", base_url="https://prom.example.com"
    )
    pull = " | ".join(labels("prometheus-pull-create"))
    assert "Quelle" in pull and "Aktiviert" in pull and "Source" not in pull
    openslo = " | ".join(labels("openslo-import"))
    assert "Vertrag" in openslo and "Contract" not in openslo


def test_the_claim_lists_contract_filter_is_labelled_in_german(personas, client):
    client.force_login(personas.customer_member)
    html = client.get(reverse("claim-list"), **GERMAN).content.decode()
    label = re.search(r'<label for="id_contract"[^>]*>(.*?)</label>', html, re.S)
    assert label and page_text(f"<main>{label.group(1)}</main>").strip(" >\n:") == "Vertrag"
