"""Figures and labels as people read them: spaces between a reference and its title and
between a notification and its time, counts without decimals, one label per period."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from credits.contract_pages import settle_choices
from credits.models import Notification
from credits.selectors.objectives import ObjectiveStatus
from tests.factories import ContractFactory, ServiceLevelFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db


def test_the_dashboard_keeps_the_spaces_between_its_words(personas, client):
    personas.contract.title = "Sales reporting for Globex"
    personas.contract.save()
    Notification.objects.create(
        user=personas.customer_member,
        organization=personas.customer,
        event=Notification.Event.STATEMENT_ISSUED,
        title="Statement ACME-1 November 2026 (revision 1): credit 0.00 EUR",
        link="/statements/1/",
    )
    client.force_login(personas.customer_member)
    text = page_text(client.get(reverse("dashboard")).content.decode())
    assert "ACME-1 Sales reporting for Globex" in text
    assert re.search(r"credit 0\.00 EUR · \d{1,2} \w{3} \d{4} \d\d:\d\d UTC", text), text
    assert not re.search(r"ACME-1Sales|EUR\d", text)


def test_a_count_target_and_so_far_read_as_counts(personas):
    level = ServiceLevelFactory(
        provider=personas.provider,
        key="failed",
        name="Failed",
        indicator="count",
        comparator="lte",
        target="5",
    )
    cs = personas.contract.services.first()
    status = ObjectiveStatus(
        contract=personas.contract,
        contract_service=cs,
        service_level=level,
        period=None,
        progress=None,
        last_line=None,
    )
    assert status.target_text == "at most 5"


@time_machine.travel(datetime(2026, 11, 25, 12, tzinfo=UTC), tick=False)
def test_weekly_periods_have_one_label_in_the_settle_form(personas):
    weekly = ContractFactory(
        provider=personas.provider,
        customer=personas.customer,
        settlement_period="week",
        start_date=datetime(2026, 10, 5).date(),
    )
    labels = [label for _value, label in settle_choices(weekly, 2)]
    assert labels == ["Week 47 2026 (16–22 Nov)", "Week 46 2026 (9–15 Nov)"]
