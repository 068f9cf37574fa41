"""A contract's pages share their tabs: the contract, its SLA schedule, its statements and,
for the provider's editors, the upload (regression: the contract pages had none)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _tabs(html: str) -> str:
    return html.split('class="subnav contract-tabs"', 1)[1].split("</ul>", 1)[0]


def test_the_contract_pages_have_their_tabs(personas, client):
    contract = personas.contract
    client.force_login(personas.provider_editor)
    detail = _tabs(client.get(reverse("contract-detail", args=[contract.pk])).content.decode())
    assert 'aria-current="page">Overview' in detail
    assert reverse("contract-schedule", args=[contract.pk]) in detail
    assert f"{reverse('statement-list')}?contract={contract.pk}" in detail
    assert reverse("measurement-upload", args=[contract.pk]) in detail
    schedule = client.get(reverse("contract-schedule", args=[contract.pk])).content.decode()
    assert 'aria-current="page">SLA schedule' in _tabs(schedule)
    upload = client.get(reverse("measurement-upload", args=[contract.pk])).content.decode()
    assert 'aria-current="page">Upload measurements' in _tabs(upload)

    client.force_login(personas.customer_member)
    detail = _tabs(client.get(reverse("contract-detail", args=[contract.pk])).content.decode())
    assert "Overview" in detail
    assert reverse("measurement-upload", args=[contract.pk]) not in detail
