"""Claims (SPEC §6): a customer editor reports an outage the provider did not record, in a
closed period, before the contract's deadline; the provider accepts it (an incident is
recorded and a revision cites the claim) or rejects it with a reason; both parties hear of
each step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contracts.models import ContractService, Incident
from credits.models import Claim, Notification, Statement
from credits.services import file_claim, resolve_claim
from credits.settlement import settle_period
from tests.credits.settlement_book import at, contract, objective, service
from tests.credits.test_notify import members_of
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
# November 2026 in UTC: 30 days, 43,200 minutes; it ends at 2026-12-01 00:00 UTC.
SETTLED = datetime(2026, 12, 3, 12, tzinfo=UTC)
FILED = datetime(2026, 12, 10, 9, tzinfo=UTC)


@pytest.fixture
def customer_editor(personas):
    user = UserFactory(username="customer-editor")
    MembershipFactory(user=user, organization=personas.customer, role="editor")
    return user


@pytest.fixture
def wan(personas) -> ContractService:
    """1,000.00 EUR a month; availability 99.9 %, 5 % of the fee per started 0.1 point
    short; a 120-minute provider incident on 5 November 10:00–12:00 UTC; claims for 30
    days after a period ends."""
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
        contract_service=cs,
        started_at=at(2026, 11, 5, 10),
        ended_at=at(2026, 11, 5, 12),
        cause="provider",
    )
    return cs


@pytest.fixture
def statement(wan) -> Statement:
    return settle_period(
        contract=wan.contract, period_start=NOVEMBER, now=SETTLED, announce=False
    ).statement


def latest(contract_id: int, period_start: date = NOVEMBER) -> Statement:
    return Statement.objects.filter(contract_id=contract_id, period_start=period_start).latest(
        "revision"
    )


def claim_of(cs: ContractService, user, start: datetime, end: datetime, **kw) -> Claim:
    return file_claim(
        contract_service=cs,
        user=user,
        started_at=start,
        ended_at=end,
        description="The WAN was down and no incident was recorded.",
        now=kw.pop("now", FILED),
        **kw,
    )


def test_an_accepted_claim_overlapping_a_recorded_incident_counts_each_minute_once(
    personas, wan, statement, customer_editor
):
    # By hand, revision 1: 120 min down of 43,200 → 99.7222 %, 0.1778 short → 2 started
    # steps → 10 % of 1,000.00 = 100.00 EUR.
    assert statement.credit_total == Decimal("100.00")
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))
    assert (claim.status, claim.period_start, claim.period_end) == (
        "open",
        NOVEMBER,
        date(2026, 11, 30),
    )

    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)

    claim.refresh_from_db()
    assert claim.status == "accepted"
    assert (claim.incident.started_at, claim.incident.ended_at, claim.incident.cause) == (
        at(2026, 11, 5, 11),
        at(2026, 11, 5, 14),
        "provider",
    )
    # The union 10:00–14:00 is 240 minutes, not 120 + 180 = 300: 42,960 / 43,200 =
    # 99.4444 %, 0.4556 short → 5 started steps → 25 % = 250.00 EUR (300 minutes would
    # have made 6 steps, 300.00).
    revised = latest(wan.contract_id)
    assert revised.revision == 2
    line = revised.lines.get()
    assert line.attainment.quantize(Decimal("0.0001")) == Decimal("99.4444")
    assert (line.credit_percent, line.amount) == (Decimal("25"), Decimal("250.00"))
    assert revised.credit_total == Decimal("250.00")
    # The revision cites the claim in a row of 0 below its lines.
    (row,) = revised.adjustments.all()
    assert (row.kind, row.amount, row.claim_id) == ("claim", Decimal("0.00"), claim.pk)
    assert row.explanation == (
        f"Claim #{claim.pk} accepted: the outage it reports (Managed WAN, 2026-11-05 11:00 "
        "to 14:00 UTC) is counted as a provider incident in the lines above."
    )
    # Revision 1 is kept unchanged; settling again with nothing new returns revision 2.
    statement.refresh_from_db()
    assert statement.credit_total == Decimal("100.00")
    again = settle_period(contract=wan.contract, period_start=NOVEMBER, now=FILED)
    assert (again.created, again.statement.pk) == (False, revised.pk)


def test_a_claim_inside_a_recorded_incident_still_issues_a_revision_citing_it(
    personas, wan, statement, customer_editor
):
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 10, 30), at(2026, 11, 5, 11, 30))

    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)

    revised = latest(wan.contract_id)
    assert revised.revision == 2
    assert revised.credit_total == statement.credit_total == Decimal("100.00")
    assert revised.adjustments.get().claim_id == claim.pk


def test_a_claim_accepted_before_the_period_is_settled_is_cited_by_its_first_statement(
    personas, wan, customer_editor
):
    claim = claim_of(wan, customer_editor, at(2026, 11, 20, 8), at(2026, 11, 20, 9))
    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)
    assert not Statement.objects.filter(contract=wan.contract).exists()

    first = settle_period(contract=wan.contract, period_start=NOVEMBER, now=FILED).statement

    # 120 + 60 = 180 minutes: 99.5833 %, 0.3167 short → 4 steps → 20 % = 200.00 EUR.
    assert (first.revision, first.credit_total) == (1, Decimal("200.00"))
    assert first.adjustments.get().claim_id == claim.pk


def test_a_claim_one_minute_after_the_deadline_is_refused_naming_the_deadline(
    personas, customer_editor, time_machine
):
    c = contract(provider=personas.provider, customer=personas.customer, tz="Europe/Berlin")
    c.claim_window_days = 30
    c.save()
    cs = service(c)
    objective(c, key="availability", indicator="uptime", target="99.9")
    # November ends at 2026-12-01 00:00 CET; 30 days later: 2026-12-31 00:00 CET, which is
    # 2026-12-30 23:00 UTC.
    start, end = at(2026, 11, 9, 10, tz="Europe/Berlin"), at(2026, 11, 9, 11, tz="Europe/Berlin")
    time_machine.move_to(datetime(2026, 12, 30, 23, 1, tzinfo=UTC), tick=False)

    with pytest.raises(ValidationError) as excinfo:
        claim_of(cs, customer_editor, start, end, now=None)

    assert excinfo.value.message_dict == {
        "started_at": [
            "Too late: claims for November 2026 could be filed until 2026-12-31 00:00 CET "
            "(30 days after the period ended)."
        ]
    }
    assert not Claim.objects.exists()
    assert not Notification.objects.filter(event="claim_filed").exists()
    # On the deadline itself the claim is still in time.
    time_machine.move_to(datetime(2026, 12, 30, 23, 0, tzinfo=UTC), tick=False)
    claim = claim_of(cs, customer_editor, start, end, now=None)
    assert claim.filed_at == datetime(2026, 12, 30, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "now", "field", "words"),
    [
        (at(2026, 11, 5, 14), at(2026, 11, 5, 13), FILED, "ended_at", "after the start"),
        (at(2026, 11, 30, 23), at(2026, 12, 1, 1), FILED, "ended_at", "one settlement period"),
        (at(2026, 12, 2, 8), at(2026, 12, 2, 9), FILED, "started_at", "has not ended yet"),
        (at(2025, 12, 2, 8), at(2025, 12, 2, 9), FILED, "started_at", "starts on 2026-01-01"),
    ],
)
def test_a_claim_outside_one_closed_period_of_the_contract_is_refused(
    wan, customer_editor, start, end, now, field, words
):
    with pytest.raises(ValidationError) as excinfo:
        claim_of(wan, customer_editor, start, end, now=now)

    assert list(excinfo.value.message_dict) == [field]
    assert words in excinfo.value.message_dict[field][0]
    assert not Claim.objects.exists()


def test_a_contract_without_a_claim_window_allows_no_claims(wan, customer_editor):
    wan.contract.claim_window_days = 0
    wan.contract.save()

    with pytest.raises(ValidationError, match="does not allow claims"):
        claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))


def test_a_claim_needs_a_description(wan, customer_editor):
    with pytest.raises(ValidationError) as excinfo:
        file_claim(
            contract_service=wan,
            user=customer_editor,
            started_at=at(2026, 11, 5, 11),
            ended_at=at(2026, 11, 5, 14),
            description="  ",
            now=FILED,
        )
    assert list(excinfo.value.message_dict) == ["description"]


@pytest.mark.parametrize("key", ["latency", "reports"])
def test_a_claim_counts_against_an_uptime_objective_of_the_service(wan, customer_editor, key):
    objective(wan.contract, key="reports", indicator="ratio", target="99")

    with pytest.raises(ValidationError) as excinfo:
        claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14), key=key)

    assert excinfo.value.message_dict == {
        "key": [f"No uptime objective '{key}' applies to Managed WAN in WAN-1."]
    }
    assert not Claim.objects.exists()


def test_a_rejection_needs_a_reason_and_changes_no_money(personas, wan, statement, customer_editor):
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))

    with pytest.raises(ValidationError) as excinfo:
        resolve_claim(claim=claim, user=personas.provider_editor, status="rejected")
    assert excinfo.value.message_dict == {
        "resolution": ["Give the reason for rejecting the claim."]
    }
    with pytest.raises(ValidationError) as excinfo:
        resolve_claim(claim=claim, user=personas.provider_editor, status="maybe")
    assert list(excinfo.value.message_dict) == ["status"]
    claim.refresh_from_db()
    assert claim.status == "open"

    resolve_claim(
        claim=claim,
        user=personas.provider_editor,
        status="rejected",
        resolution="Our probes saw the WAN up all afternoon.",
        now=FILED,
    )

    claim.refresh_from_db()
    assert (claim.status, claim.incident_id) == ("rejected", None)
    assert claim.resolution == "Our probes saw the WAN up all afternoon."
    assert Incident.objects.count() == 1
    assert latest(wan.contract_id).pk == statement.pk
    with pytest.raises(ValidationError, match="already been decided"):
        resolve_claim(claim=claim, user=personas.provider_editor, status="accepted")


def test_both_parties_are_told_when_a_claim_is_filed_accepted_and_its_revision_issued(
    personas, wan, statement, customer_editor, django_capture_on_commit_callbacks
):
    both = members_of(personas.provider, personas.customer)
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))

    filed = Notification.objects.filter(event="claim_filed")
    assert {n.user_id for n in filed} == both
    assert filed.first().title == (
        f"Claim filed: claim #{claim.pk} on WAN-1 (Managed WAN, 2026-11-05 11:00 to 14:00 UTC)"
    )
    assert filed.first().link == f"/claims/{claim.pk}/"

    with django_capture_on_commit_callbacks(execute=True):
        resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)

    decided = Notification.objects.filter(event="claim_resolved")
    assert {n.user_id for n in decided} == both
    assert "accepted the claim" in decided.first().body
    issued = Notification.objects.filter(event="statement_issued")
    assert {n.user_id for n in issued} == both
    assert {n.title for n in issued} == {
        "Statement WAN-1 November 2026 (revision 2): credit 250.00 EUR"
    }


def test_a_rejection_is_told_to_both_parties_with_its_reason(
    personas, wan, statement, customer_editor
):
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))

    resolve_claim(
        claim=claim, user=personas.provider_editor, status="rejected", resolution="Up all day."
    )

    decided = Notification.objects.filter(event="claim_resolved")
    assert {n.user_id for n in decided} == members_of(personas.provider, personas.customer)
    assert decided.first().body.endswith("rejected the claim. Reason: Up all day.")
    assert not Notification.objects.filter(event="statement_issued").exists()


def test_only_the_customers_editors_file_and_only_the_providers_editors_decide(
    personas, wan, statement, customer_editor
):
    span = (at(2026, 11, 5, 11), at(2026, 11, 5, 14))
    # A customer viewer and the provider's editors see the service but may not claim.
    for user in (personas.customer_member, personas.provider_editor, personas.provider_admin):
        with pytest.raises(PermissionDenied):
            claim_of(wan, user, *span)
    # Outsiders do not find the service at all, as if it did not exist.
    for user in (personas.other_customer_member, personas.other_provider_member):
        with pytest.raises(ContractService.DoesNotExist):
            claim_of(wan, user, *span)
    assert not Claim.objects.exists()

    claim = claim_of(wan, customer_editor, *span)

    for user in (customer_editor, personas.customer_member, personas.provider_viewer):
        with pytest.raises(PermissionDenied):
            resolve_claim(claim=claim, user=user, status="rejected", resolution="No.")
    for user in (personas.other_customer_member, personas.other_provider_member):
        with pytest.raises(Claim.DoesNotExist):
            resolve_claim(claim=claim, user=user, status="rejected", resolution="No.")
    claim.refresh_from_db()
    assert claim.status == "open"
    # The operator may do both.
    resolve_claim(claim=claim, user=personas.operator, status="accepted", now=FILED)
    assert latest(wan.contract_id).revision == 2


def test_the_claim_keeps_its_history(personas, wan, statement, customer_editor):
    claim = claim_of(wan, customer_editor, at(2026, 11, 5, 11), at(2026, 11, 5, 14))
    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted", now=FILED)

    steps = list(claim.history.order_by("history_id").values_list("status", "history_user"))
    assert steps == [("open", customer_editor.pk), ("accepted", personas.provider_editor.pk)]
    assert timedelta(0) < claim.ended_at - claim.started_at
