"""The open period's state and target in the reader's language (the audit of #16: "at least
95 %" and "too few samples" on the German dashboard and objective page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from contracts.models import Membership
from credits.selectors.objectives import state_words
from credits.settlement import warn_early
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import MembershipFactory, UserFactory
from tests.ui.pagetext import page_text

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def _viewer(organization):
    user = UserFactory()
    MembershipFactory(user=user, organization=organization, role=Membership.Role.VIEWER)
    return user


def _dashboard_cells(client, reference: str, key: str) -> tuple[str, str]:
    """The target cell and the state badge of one objective's row on the German dashboard
    (the row's stored explanation beside the badge is the early warning's, not checked)."""
    html = client.get(reverse("dashboard"), **GERMAN).content.decode()
    row = re.search(
        rf'<tr data-state="[a-z_]+" data-contract="{reference}" data-objective="{key}">(.*?)</tr>',
        html,
        re.S,
    )
    assert row, html
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    badge = re.search(r'<span class="badge [a-z_]+">([^<]+)</span>', row.group(1)).group(1)
    return cells[4].strip(), badge


@time_machine.travel(datetime(2026, 11, 10, 12, tzinfo=UTC), tick=False)
def test_the_open_periods_state_and_target_are_german_on_german_pages(personas, client):
    fresh = contract(reference="DE-1", provider=personas.provider, customer=personas.customer)
    cs = service(fresh)
    objective(fresh, key="few", indicator="ratio", target="95")
    objective(fresh, key="fine", indicator="ratio", target="99.5")
    ratio(cs, "few", at(2026, 11, 10, 9), ok=3, total=4)
    ratio(cs, "fine", at(2026, 11, 10, 9), ok=20, total=20)
    warn_early(contract=fresh)
    client.force_login(_viewer(personas.customer))

    assert _dashboard_cells(client, "DE-1", "few") == ("mindestens 95 %", "zu wenige Messwerte")
    assert _dashboard_cells(client, "DE-1", "fine") == ("mindestens 99,5 %", "im Plan")
    page = page_text(
        client.get(reverse("objective-detail", args=[cs.pk, "few"]), **GERMAN).content.decode()
    )
    assert "zu wenige Messwerte Bisherige Zielerreichung" in page
    # English stays as it was.
    assert _dashboard_cells(client, "DE-1", "few") != ("at least 95 %", "too few samples")
    english = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "at least 95 %" in english and ">too few samples<" in english


def test_every_state_has_its_words_in_both_languages():
    english = {state: state_words(state) for state in ("on_track", "at_risk", "too_few")}
    assert english == {"on_track": "on track", "at_risk": "at risk", "too_few": "too few samples"}
    with translation.override("de"):
        german = [state_words(s) for s in ("on_track", "at_risk", "breached", "no_data", "too_few")]
    assert german == ["im Plan", "gefährdet", "verfehlt", "noch keine Daten", "zu wenige Messwerte"]
