"""Claims through the API and the browser pages: filing, deciding, lists with filters,
bad input per field, and the scope (viewers cannot file, outsiders get 404)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from contracts.models import ContractService, Incident
from credits.models import Claim, Statement
from credits.services import file_claim, resolve_claim
from credits.settlement import settle_period
from tests.api.conftest import client_for, url
from tests.credits.settlement_book import at, contract, objective, service
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    # November 2026 has closed; its claims may be filed until 2026-12-31 00:00 UTC.
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


@pytest.fixture
def wan(personas) -> ContractService:
    c = contract(provider=personas.provider, customer=personas.customer, reference="WAN-1")
    c.claim_window_days = 30
    c.save()
    cs = service(c, fee="1000.00", name="Managed WAN")
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={"kind": "per_step", "step": "0.1", "percent": "5"},
    )
    Incident.objects.create(
        contract_service=cs, started_at=at(2026, 11, 5, 10), ended_at=at(2026, 11, 5, 12)
    )
    settle_period(contract=c, period_start=NOVEMBER, now=NOW, announce=False)
    return cs


def body(cs: ContractService, **changes) -> dict:
    return {
        "contract_service": cs.pk,
        "started_at": "2026-11-05T11:00:00Z",
        "ended_at": "2026-11-05T14:00:00Z",
        "description": "The WAN was down.",
        **changes,
    }


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --------------------------------------------------------------------------- API


def test_a_customer_editor_files_and_the_provider_accepts_through_the_api(
    personas, wan, customer_editor
):
    filed = client_for(customer_editor).post(url("claim"), body(wan), format="json")

    assert filed.status_code == 201, filed.content
    claim = filed.json()
    assert {k: claim[k] for k in ("contract", "period_start", "period_end", "status")} == {
        "contract": wan.contract_id,
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "status": "open",
    }
    assert claim["deadline"] == "2026-12-31T00:00:00Z"
    assert (claim["key"], claim["incident"], claim["revisions"]) == ("availability", None, [])

    decided = client_for(personas.provider_editor).patch(
        url("claim", claim["id"]), {"status": "accepted"}, format="json"
    )

    assert decided.status_code == 200, decided.content
    revised = Statement.objects.get(contract=wan.contract, revision=2)
    assert decided.json()["status"] == "accepted"
    assert decided.json()["incident"] == Claim.objects.get().incident_id is not None
    assert decided.json()["revisions"] == [revised.pk]
    statement = client_for(personas.customer_member).get(url("statement", revised.pk)).json()
    assert statement["credit_total"] == "250.00"
    (row,) = statement["adjustments"]
    assert (row["kind"], row["amount"], row["claim"]) == ("claim", "0.00", claim["id"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"started_at": "yesterday"}, "started_at"),
        ({"description": ""}, "description"),
        ({"contract_service": "abc"}, "contract_service"),
        ({"started_at": "2026-11-05T15:00:00Z"}, "ended_at"),
        ({"started_at": "2026-12-02T10:00:00Z", "ended_at": "2026-12-02T11:00:00Z"}, "started_at"),
        ({"started_at": "1900-01-01T00:00:00Z"}, "started_at"),
        ({"key": "not a slug"}, "key"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_files_nothing(
    wan, customer_editor, changes, field
):
    response = client_for(customer_editor).post(url("claim"), body(wan, **changes), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Claim.objects.exists()


def test_a_late_claim_is_a_400_naming_the_deadline(wan, customer_editor, time_machine):
    time_machine.move_to(datetime(2026, 12, 31, 0, 1, tzinfo=UTC), tick=False)

    response = client_for(customer_editor).post(url("claim"), body(wan), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "started_at": [
            "Too late: claims for November 2026 could be filed until 2026-12-31 00:00 UTC "
            "(30 days after the period ended)."
        ]
    }


def test_a_rejection_without_a_reason_is_a_400(personas, wan, customer_editor):
    claim = file_claim(
        contract_service=wan,
        user=customer_editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="Down.",
    )
    api = client_for(personas.provider_editor)

    refused = api.patch(url("claim", claim.pk), {"status": "rejected"}, format="json")
    unknown = api.patch(url("claim", claim.pk), {"status": "maybe"}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {"resolution": ["Give the reason for rejecting the claim."]}
    assert unknown.status_code == 400 and "status" in unknown.json()
    claim.refresh_from_db()
    assert claim.status == "open"


def test_claims_are_listed_with_filters_and_only_within_scope(
    personas, wan, customer_editor, django_assert_max_num_queries
):
    span = {"user": customer_editor, "description": "Down."}
    first = file_claim(
        contract_service=wan, started_at=at(2026, 11, 5, 11), ended_at=at(2026, 11, 5, 14), **span
    )
    second = file_claim(
        contract_service=wan, started_at=at(2026, 11, 9, 8), ended_at=at(2026, 11, 9, 9), **span
    )
    resolve_claim(claim=second, user=personas.provider_editor, status="rejected", resolution="Up.")
    api = client_for(personas.customer_member)

    def ids(**params) -> list[int]:
        response = api.get(url("claim"), params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [second.pk, first.pk]
    assert ids(status="open") == [first.pk]
    assert ids(status="rejected") == [second.pk]
    assert ids(contract=wan.contract_id, period_start="2026-11-01") == [second.pk, first.pk]
    assert ids(period_start="2026-10-01") == []
    assert ids(contract_service=wan.pk, period_start_after="2026-11-01") == [second.pk, first.pk]
    assert api.get(url("claim"), {"status": "maybe"}).status_code == 400
    with django_assert_max_num_queries(8):
        assert api.get(url("claim")).status_code == 200
    # Outsiders see none of them, and a claim of theirs is a 404.
    outsider = client_for(personas.other_customer_member)
    assert outsider.get(url("claim")).json()["count"] == 0
    assert outsider.get(url("claim", first.pk)).status_code == 404
    assert (
        outsider.patch(url("claim", first.pk), {"status": "accepted"}, format="json").status_code
        == 404
    )


def test_the_contract_api_sets_the_claim_window(personas):
    c = contract(provider=personas.provider, customer=personas.customer, reference="WIN-1")
    api = client_for(personas.provider_editor)

    assert api.get(url("contract", c.pk)).json()["claim_window_days"] == 0
    refused = api.patch(url("contract", c.pk), {"claim_window_days": 400}, format="json")
    changed = api.patch(url("contract", c.pk), {"claim_window_days": 30}, format="json")

    assert refused.status_code == 400 and "claim_window_days" in refused.json()
    assert changed.status_code == 200 and changed.json()["claim_window_days"] == 30


# --------------------------------------------------------------------------- pages


def test_a_customer_editor_files_a_claim_in_the_browser_and_errors_come_back_beside_fields(
    wan, customer_editor
):
    page = browser(customer_editor)
    assert page.get("/claims/new/").status_code == 200
    form = {
        "contract_service": wan.pk,
        "started_at": "2026-11-05T11:00",
        "ended_at": "2026-11-05T10:00",
        "description": "",
    }

    refused = page.post("/claims/new/", form)

    assert refused.status_code == 400
    errors = refused.context["form"].errors
    assert set(errors) == {"description"}
    refused = page.post("/claims/new/", {**form, "description": "Down."})
    assert refused.status_code == 400
    assert refused.context["form"].errors == {"ended_at": ["The end must be after the start."]}
    assert not Claim.objects.exists()

    filed = page.post(
        "/claims/new/", {**form, "ended_at": "2026-11-05T14:00", "description": "Down."}
    )

    claim = Claim.objects.get()
    assert filed.status_code == 302 and filed.url == f"/claims/{claim.pk}/"
    assert claim.filed_by == customer_editor


def test_viewers_and_providers_cannot_file_and_outsiders_get_404(personas, wan, customer_editor):
    for user in (personas.customer_member, personas.provider_editor):
        assert browser(user).get("/claims/new/").status_code == 403
    claim = file_claim(
        contract_service=wan,
        user=customer_editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="Down.",
    )
    for user in (personas.other_customer_member, personas.other_provider_member):
        page = browser(user)
        assert page.get(f"/claims/{claim.pk}/").status_code == 404
        assert page.post(f"/claims/{claim.pk}/resolve/", {"status": "accepted"}).status_code == 404
    # The customer reads it without the decision form; a customer's decision is refused.
    customer = browser(customer_editor)
    shown = customer.get(f"/claims/{claim.pk}/")
    assert shown.status_code == 200 and shown.context["form"] is None
    assert customer.post(f"/claims/{claim.pk}/resolve/", {"status": "accepted"}).status_code == 403
    claim.refresh_from_db()
    assert claim.status == "open"


def test_the_provider_rejects_in_the_browser_only_with_a_reason(personas, wan, customer_editor):
    claim = file_claim(
        contract_service=wan,
        user=customer_editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="Down.",
    )
    page = browser(personas.provider_editor)
    assert page.get(f"/claims/{claim.pk}/").context["form"] is not None

    refused = page.post(f"/claims/{claim.pk}/resolve/", {"status": "rejected", "resolution": ""})

    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "resolution": ["Give the reason for rejecting the claim."]
    }
    done = page.post(
        f"/claims/{claim.pk}/resolve/", {"status": "rejected", "resolution": "Up all day."}
    )
    assert done.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.resolution) == ("rejected", "Up all day.")


def test_both_portals_list_claims_with_filters(personas, wan, customer_editor):
    first = file_claim(
        contract_service=wan,
        user=customer_editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="Down in the morning.",
    )
    for user in (personas.provider_viewer, personas.customer_member):
        page = browser(user)
        listed = page.get("/claims/")
        assert [c.pk for c in listed.context["page"]] == [first.pk]
        assert (
            page.get("/claims/", {"status": "rejected"}).context["page"].object_list.exists()
            is False
        )
        by_period = page.get("/claims/", {"contract": wan.contract_id, "period": "2026-11-17"})
        assert [c.pk for c in by_period.context["page"]] == [first.pk]
        assert (
            page.get("/claims/", {"period": "2026-10-17"}).context["page"].object_list.exists()
            is False
        )
        assert page.get("/claims/", {"period": "not a day"}).status_code == 400
    assert (
        browser(personas.other_customer_member).get("/claims/").context["page"].object_list.exists()
        is False
    )
    # A filter on another's contract is refused as an unknown choice, never shown.
    outsider = browser(personas.other_customer_member)
    assert outsider.get("/claims/", {"contract": wan.contract_id}).status_code == 400


def test_the_contract_form_sets_the_claim_window_and_an_empty_one_keeps_it(personas):
    from django.urls import reverse

    from tests.contracts.test_views import _contract_data

    page = browser(personas.provider_editor)
    data = _contract_data(provider=personas.provider.pk, customer=personas.customer.pk)

    created = page.post(reverse("contract-create"), data)
    made = personas.provider.contracts_as_provider.get(reference="ACME-9")
    assert created.status_code == 302 and made.claim_window_days == 0
    refused = page.post(
        reverse("contract-edit", args=[made.pk]), {**data, "claim_window_days": "400"}
    )
    assert refused.status_code in (200, 400)
    assert "claim_window_days" in refused.context["form"].errors
    page.post(reverse("contract-edit", args=[made.pk]), {**data, "claim_window_days": "45"})
    made.refresh_from_db()
    assert made.claim_window_days == 45
    page.post(reverse("contract-edit", args=[made.pk]), {**data, "title": "Renamed"})
    made.refresh_from_db()
    assert (made.title, made.claim_window_days) == ("Renamed", 45)
    assert (
        "within 45 days after a period ends" in page.get(f"/contracts/{made.pk}/").content.decode()
    )


def test_the_claim_list_page_costs_the_same_queries_for_one_claim_or_many(
    personas, wan, customer_editor
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page = browser(personas.provider_viewer)

    def queries_of_the_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert page.get("/claims/").status_code == 200
        return len(captured)

    file_claim(
        contract_service=wan,
        user=customer_editor,
        started_at=at(2026, 11, 5, 11),
        ended_at=at(2026, 11, 5, 14),
        description="Down.",
    )
    one = queries_of_the_list()
    for day in (9, 10, 11):
        file_claim(
            contract_service=wan,
            user=customer_editor,
            started_at=at(2026, 11, day, 8),
            ended_at=at(2026, 11, day, 9),
            description="Down again.",
        )

    assert queries_of_the_list() == one
    # Session, user, memberships, the filter form's contracts, can-file, count, page…
    assert one <= 8, one
