"""The contract pages' words that stayed English on German pages (the audit of #16): the
contract list's state of the open period, the settle form's "(settled, revision 1)", the
contract page's "each service" and a statement line's level ("(customer)")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@time_machine.travel(datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False)
def test_the_contract_pages_words_in_german(personas, client, settled):
    fresh, statement = settled
    client.force_login(personas.provider_editor)
    html = client.get(reverse("contract-list"), **GERMAN).content.decode()
    row = re.search(r">DE-2</a>.*?</tr>", html, re.S).group(0)
    assert re.search(r'<span class="badge [a-z_]+">([^<]+)</span>', row).group(1) == (
        "zu wenige Messwerte"
    )
    page = page_text(
        client.get(reverse("contract-detail", args=[fresh.pk]), **GERMAN).content.decode()
    )
    assert "November 2026 (abgerechnet, Fassung 1)" in page
    assert "von jedem Dienst" in page and "each service" not in page
    lines = page_text(
        client.get(reverse("statement-detail", args=[statement.pk]), **GERMAN).content.decode()
    )
    assert "(vertragsweit)" in lines and "(customer)" not in lines
