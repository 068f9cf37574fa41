"""What the credits app does when something happens in the contracts app."""

from __future__ import annotations

from typing import Any

from contracts.models import ResponsibilityLapse
from credits import notify


def announce_lapse(*, lapse: ResponsibilityLapse, **kwargs: Any) -> None:
    """Tell both parties about a new lapse: the notifications are written in the
    transaction that stores the lapse; e-mails and webhooks go after commit."""
    notify.lapse_recorded(lapse_id=lapse.pk)
