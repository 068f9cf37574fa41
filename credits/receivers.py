"""What the credits app does when something happens in the contracts or people apps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.models import ResponsibilityLapse
from credits import notify, settlement
from credits.models import Statement
from people.models import Invitation


def announce_lapse(*, lapse: ResponsibilityLapse, **kwargs: Any) -> None:
    """Tell both parties about a new lapse: the notifications are written in the
    transaction that stores the lapse; e-mails and webhooks go after commit."""
    notify.lapse_recorded(lapse_id=lapse.pk)


def announce_lapse_contest(*, lapse: ResponsibilityLapse, **kwargs: Any) -> None:
    """Tell both parties that the customer contested a lapse."""
    notify.lapse_contested(lapse_id=lapse.pk)


def settle_after_lapse_decision(*, lapse: ResponsibilityLapse, **kwargs: Any) -> None:
    """Tell both parties how a contest ended; if the lapse was withdrawn, settle again
    every period it touched that has a statement: the relief it gave goes, and where the
    figures change a corrected revision is issued (and announced) as any correction is.
    A period whose figures do not change keeps its statement."""
    notify.lapse_resolved(lapse_id=lapse.pk)
    if lapse.relieves:
        return
    contract_id = lapse.responsibility.contract_id
    # A day either side: periods are aligned in the contract's zone, the lapse in UTC;
    # settling a period the lapse did not touch only returns its statement.
    starts = (
        Statement.objects.filter(
            contract_id=contract_id,
            period_start__lte=(lapse.end + timedelta(days=1)).date(),
            period_end__gte=(lapse.start - timedelta(days=1)).date(),
        )
        .values_list("period_start", flat=True)
        .distinct()
        .order_by("period_start")
    )
    pairs = [(contract_id, start) for start in starts]
    if pairs:
        settlement.settle_periods(pairs)


def announce_member(*, invitation: Invitation, **kwargs: Any) -> None:
    """Tell the organisation joined (and the provider that invited) of its new member."""
    notify.member_joined(invitation_id=invitation.pk)
