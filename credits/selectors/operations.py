"""Reads for the people who run the portal: how far settlement and notification are behind.

These figures are the metrics' (``/metrics``): they read the whole book, not a user's
scope, and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count

import engine
from contracts.models import Contract
from credits.models import Delivery, PendingAnnouncement, Statement
from credits.settlement.periods import settle_after
from credits.settlement.sweeping import due_periods


@dataclass(frozen=True, slots=True)
class SettlementBacklog:
    """The due contract periods still without a statement, and since when the oldest of
    them has been due (None when nothing is due)."""

    due: int
    oldest_due_since: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        """How long the oldest due period has waited for its statement; 0 when none waits."""
        if self.oldest_due_since is None:
            return 0.0
        return max(0.0, (now - self.oldest_due_since).total_seconds())


def settlement_backlog(now: datetime) -> SettlementBacklog:
    """What the sweep would find due at ``now`` (its own query, read only), and when the
    longest-waiting of those periods became due: a period is due from local midnight
    ``settlement_delay_days`` after it ends, so the oldest period start is not always the
    longest wait across contracts of different zones and delays."""
    first_due: dict[int, date] = {}
    due = 0
    for contract_id, start in due_periods(now):
        due += 1
        # Oldest period first: the first one seen of each contract waited longest.
        first_due.setdefault(contract_id, start)
    if not first_due:
        return SettlementBacklog(due=0, oldest_due_since=None)
    contracts = Contract.objects.filter(pk__in=first_due).only(
        "pk", "timezone", "settlement_period", "settlement_delay_days"
    )
    oldest = min(
        settle_after(
            contract,
            engine.period_containing(
                first_due[contract.pk], contract.settlement_period, contract.timezone
            ),
        )
        for contract in contracts
    )
    return SettlementBacklog(due=due, oldest_due_since=oldest)


def statements_issued() -> int:
    """Every statement ever issued, each revision counted (statements are never deleted)."""
    return Statement.objects.count()


def deliveries_by_channel_and_status() -> dict[tuple[str, str], int]:
    """How many deliveries are pending and how many failed, per channel; every pair is
    present, zero when none."""
    watched = (Delivery.Status.PENDING, Delivery.Status.FAILED)
    counts = {(channel, status): 0 for channel in Delivery.Channel.values for status in watched}
    rows = (
        Delivery.objects.filter(status__in=watched)
        .order_by()
        .values_list("channel", "status")
        .annotate(n=Count("pk"))
    )
    for channel, status, n in rows:
        counts[channel, status] = n
    return counts


def outbox_size() -> int:
    """Statements issued whose parties are yet to be told (the announcement outbox)."""
    return PendingAnnouncement.objects.count()
