"""A claim accepted while a real Celery worker settles the same period: one consistent chain
of revisions, whose latest counts the claimed outage and cites the claim.

The worker runs on the real clock, so the book lies in the months before today (relative
dates that never become "future" ones).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import Incident
from credits import tasks
from credits.models import Claim, Statement
from credits.services import file_claim, resolve_claim
from credits.settlement import due_periods, settle_period
from tests.credits.settlement_book import contract, objective, service
from tests.factories import MembershipFactory, UserFactory
from tests.processes import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.dates, pytest.mark.django_db(transaction=True)]


def first_of_month(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def test_a_claim_accepted_while_the_sweep_settles_leaves_one_chain_of_revisions(
    personas, celery_worker_process
):
    today = timezone.now().date()
    last_month = first_of_month(today, 1)
    c = contract(
        provider=personas.provider,
        customer=personas.customer,
        start=first_of_month(today, 3),
        delay=0,
    )
    c.claim_window_days = 366
    c.save()
    cs = service(c, fee="1000.00")
    # 120 minutes recorded: about 99.72 % (10 %); with the claim's 180, 240 counted once:
    # below 99.5 % in a month of any length (30 %).
    objective(
        c,
        key="availability",
        indicator="uptime",
        target="99.9",
        rule={
            "kind": "tiered",
            "tiers": [{"bound": "99.9", "percent": "10"}, {"bound": "99.5", "percent": "30"}],
        },
    )
    day = datetime(last_month.year, last_month.month, 5, tzinfo=UTC)
    Incident.objects.create(
        contract_service=cs,
        started_at=day + timedelta(hours=10),
        ended_at=day + timedelta(hours=12),
    )
    editor = UserFactory(username="customer-editor")
    MembershipFactory(user=editor, organization=personas.customer, role="editor")
    claim = file_claim(
        contract_service=cs,
        user=editor,
        started_at=day + timedelta(hours=11),
        ended_at=day + timedelta(hours=14),
        description="Down all morning.",
    )
    due = {(c.pk, start) for c_id, start in due_periods(timezone.now()) if c_id == c.pk}
    assert (c.pk, last_month) in due and len(due) == 3

    # The sweep's tasks and the acceptance race for the contract's periods.
    tasks.sweep_task.delay()
    resolve_claim(claim=claim, user=personas.provider_editor, status="accepted")

    def settled() -> bool:
        return due <= set(Statement.objects.values_list("contract_id", "period_start"))

    assert wait_for(settled, timeout=90), celery_worker_process.log()
    revisions = Counter(Statement.objects.filter(contract=c).values_list("period_start", flat=True))
    # Every other period once; the claim's period revision 1, and 2 only if the sweep
    # issued 1 before the acceptance: never two of one revision, never a gap.
    assert {start: n for start, n in revisions.items() if start != last_month} == {
        start: 1 for _, start in due if start != last_month
    }
    chain = list(
        Statement.objects.filter(contract=c, period_start=last_month)
        .order_by("revision")
        .values_list("revision", flat=True)
    )
    assert chain in ([1], [1, 2]), chain
    latest = Statement.objects.get(contract=c, period_start=last_month, revision=chain[-1])
    assert latest.credit_total == Decimal("300.00")
    assert [row.claim_id for row in latest.adjustments.all()] == [claim.pk]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ACCEPTED
    # Nothing is missing from the chain: settling again issues nothing new.
    again = settle_period(contract=c, period_start=last_month)
    assert (again.created, again.statement.pk) == (False, latest.pk)
