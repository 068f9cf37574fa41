"""Both parties' records: the customer records lapses of its own responsibilities and
contests the provider's; the provider keeps or withdraws; both are told; relief follows
the outcome, and a closed period is settled again as a correction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from contracts.models import Membership, Responsibility, ResponsibilityLapse
from credits.models import Notification, Statement
from credits.settlement import settle_period
from tests.credits.settlement_book import at, contract, objective, service
from tests.factories import IncidentFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

E3_TIERS = {
    "kind": "tiered",
    "tiers": [
        {"bound": "99.99", "percent": "10"},
        {"bound": "99.0", "percent": "30"},
        {"bound": "95.0", "percent": "100"},
    ],
}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def book(personas, time_machine):
    """Acme's contract with Globex: availability relieved by a responsibility; September's
    provider outage of 200 minutes inside a lapse the provider recorded; a Globex editor."""
    time_machine.move_to(datetime(2026, 10, 5, 9, tzinfo=UTC), tick=False)
    c = contract(provider=personas.provider, customer=personas.customer, reference="ACME-9")
    cs = service(c)
    availability = objective(
        c, key="availability", indicator="uptime", target="99.99", rule=E3_TIERS
    )
    responsibility = Responsibility.objects.create(contract=c, title="Name a representative")
    responsibility.service_levels.add(availability)
    start = at(2026, 9, 14, 8)
    lapse = ResponsibilityLapse.objects.create(
        responsibility=responsibility,
        start=start,
        end=start + timedelta(hours=6),
        recorded_by=personas.provider_editor,
    )
    down = start + timedelta(hours=1)
    IncidentFactory(contract_service=cs, started_at=down, ended_at=down + timedelta(minutes=200))
    editor = UserFactory(username="globex-editor")
    MembershipFactory(user=editor, organization=personas.customer, role=Membership.Role.EDITOR)
    statement = settle_period(contract=c, period_start=date(2026, 9, 1)).statement
    return c, responsibility, lapse, editor, statement


def told(event: str) -> set[int]:
    return set(Notification.objects.filter(event=event).values_list("user_id", flat=True))


def test_a_customer_editor_records_a_lapse_of_its_own_responsibility(book, personas):
    _, responsibility, _, editor, _ = book
    response = api(editor).post(
        "/api/v1/responsibility-lapses/",
        {
            "responsibility": responsibility.pk,
            "start": "2026-10-01T10:00:00Z",
            "end": "2026-10-01T11:00:00Z",
            "note": "Our representative was on leave.",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["recorded_for"] == "customer"
    assert response.json()["status"] == "recorded"
    # Both parties hear of it, but for the editor who recorded it.
    assert personas.provider_admin.pk in told("lapse_recorded")
    assert editor.pk not in told("lapse_recorded")
    # Nobody contests the customer's own admission.
    contest = api(editor).post(
        f"/api/v1/responsibility-lapses/{response.json()['id']}/contest/", {"reason": "x"}
    )
    assert contest.status_code == 400
    assert "recorded this lapse itself" in contest.json()["lapse"][0]


def test_withdrawing_a_contested_lapse_settles_the_closed_period_again(
    book, personas, django_capture_on_commit_callbacks
):
    c, _, lapse, editor, first = book
    assert first.lines.get().measure["relieved_seconds"] == 200 * 60
    assert first.credit_total == 0

    contested = api(editor).post(
        f"/api/v1/responsibility-lapses/{lapse.pk}/contest/",
        {"reason": "Our representative answered every call."},
    )
    assert contested.status_code == 200, contested.json()
    assert contested.json()["status"] == "contested"
    assert personas.provider_admin.pk in told("lapse_contested")
    assert editor.pk not in told("lapse_contested")  # the one who contested

    with django_capture_on_commit_callbacks(execute=True):
        decided = api(personas.provider_editor).post(
            f"/api/v1/responsibility-lapses/{lapse.pk}/decide/",
            {"outcome": "withdrawn", "resolution": "The call log agrees with the customer."},
        )
    assert decided.status_code == 200, decided.json()
    assert decided.json()["status"] == "withdrawn"
    assert {personas.provider_admin.pk, editor.pk} <= told("lapse_resolved")

    # September is settled again: revision 2 without the relief, revision 1 kept.
    revisions = Statement.objects.filter(contract=c, period_start=date(2026, 9, 1))
    assert list(revisions.values_list("revision", flat=True)) == [2, 1]
    second = revisions.get(revision=2)
    line = second.lines.get()
    assert line.measure["relieved_seconds"] == 0
    assert line.measure["downtime_seconds"] == 200 * 60
    assert second.credit_total > 0
    assert told("statement_issued") >= {editor.pk, personas.provider_admin.pk}


def test_keeping_a_contested_lapse_changes_no_statement(book, personas):
    c, _, lapse, editor, _ = book
    api(editor).post(f"/api/v1/responsibility-lapses/{lapse.pk}/contest/", {"reason": "No."})
    decided = api(personas.provider_admin).post(
        f"/api/v1/responsibility-lapses/{lapse.pk}/decide/",
        {"outcome": "kept", "resolution": "The representative was unreachable."},
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "kept"
    assert Statement.objects.filter(contract=c).count() == 1
    assert told("lapse_resolved") >= {editor.pk}


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "errors"),
    [
        ("editor", "contest", {"reason": "  "}, 400, {"reason": ["This field may not be blank."]}),
        ("editor", "contest", {}, 400, {"reason": ["This field is required."]}),
        ("provider_editor", "contest", {"reason": "x"}, 403, None),
        ("customer_member", "contest", {"reason": "x"}, 403, None),
        ("other_customer_member", "contest", {"reason": "x"}, 404, None),
        (
            "provider_editor",
            "decide",
            {"outcome": "withdrawn", "resolution": "x"},
            400,
            {"lapse": ["Only a contested lapse can be kept or withdrawn."]},
        ),
        (
            "provider_editor",
            "decide",
            {"outcome": "forgotten", "resolution": "x"},
            400,
            {"outcome": ['"forgotten" is not a valid choice.']},
        ),
        ("editor", "decide", {"outcome": "withdrawn", "resolution": "x"}, 403, None),
    ],
)
def test_bad_contests_and_decisions_change_nothing(book, personas, who, path, body, status, errors):
    _, _, lapse, editor, _ = book
    user = editor if who == "editor" else getattr(personas, who)
    response = api(user).post(f"/api/v1/responsibility-lapses/{lapse.pk}/{path}/", body)
    assert response.status_code == status
    if errors:
        assert response.json() == errors
    lapse.refresh_from_db()
    assert lapse.status == "recorded" and lapse.contest_reason == ""
    assert not told("lapse_contested")


def test_a_lapse_is_contested_once(book):
    _, _, lapse, editor, _ = book
    first = api(editor).post(f"/api/v1/responsibility-lapses/{lapse.pk}/contest/", {"reason": "a"})
    again = api(editor).post(f"/api/v1/responsibility-lapses/{lapse.pk}/contest/", {"reason": "b"})
    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json() == {"lapse": ["This lapse was already contested (contested)."]}


def test_the_responsibilities_page_lets_each_party_do_its_part(book, personas, client):
    _, responsibility, lapse, editor, _ = book
    client.force_login(editor)
    page = client.get("/responsibilities/").content.decode()
    assert f"/responsibilities/{responsibility.pk}/lapses/new/" in page
    assert f"/lapses/{lapse.pk}/contest/" in page
    assert f"/lapses/{lapse.pk}/decide/" not in page
    client.post(f"/lapses/{lapse.pk}/contest/", {"reason": "We were there."})

    client.force_login(personas.provider_editor)
    page = client.get("/responsibilities/").content.decode()
    assert f"/lapses/{lapse.pk}/decide/" in page
    assert "Contested: We were there." in page
    client.post(f"/lapses/{lapse.pk}/decide/", {"outcome": "kept", "resolution": "Logs."})
    lapse.refresh_from_db()
    assert lapse.status == "kept"

    client.force_login(personas.customer_member)  # a viewer: reads only
    page = client.get("/responsibilities/").content.decode()
    assert f"/responsibilities/{responsibility.pk}/lapses/new/" not in page
    assert client.get(f"/responsibilities/{responsibility.pk}/lapses/new/").status_code == 404


def test_a_customer_editor_records_a_lapse_in_the_browser(book, client):
    _, responsibility, _, editor, _ = book
    client.force_login(editor)
    response = client.post(
        f"/responsibilities/{responsibility.pk}/lapses/new/",
        {"start": "2026-10-02T09:00", "end": "2026-10-02T08:00", "note": ""},
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()
    response = client.post(
        f"/responsibilities/{responsibility.pk}/lapses/new/",
        {"start": "2026-10-02T09:00", "end": "2026-10-02T10:00", "note": "On leave."},
    )
    assert response.status_code == 302
    recorded = ResponsibilityLapse.objects.get(note="On leave.")
    assert recorded.recorded_for == "customer" and recorded.recorded_by == editor
