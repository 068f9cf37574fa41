"""Writes of the customer's responsibilities and of their lapses, which both parties hear of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction

from contracts.models import Responsibility, ResponsibilityLapse, ServiceLevel
from contracts.querysets import may_edit
from contracts.signals import lapse_recorded


def record_lapse(
    *,
    responsibility: Responsibility | int,
    start: datetime,
    end: datetime,
    note: str,
    user: User | None,
) -> ResponsibilityLapse:
    """Record an interval in which the customer did not meet a responsibility.

    Incidents and samples of the objectives the responsibility affects that fall inside
    the lapse are relief for the provider (SPEC §3), so both parties are told once the
    lapse is committed. Admins and editors of either party (and staff) may record one;
    an outsider gets ``Responsibility.DoesNotExist``, as for a missing id. ``user=None``
    is the system itself (a command, a data import). Bad input raises a
    ``ValidationError`` per field and stores nothing.
    """
    responsibility_id = (
        responsibility.pk if isinstance(responsibility, Responsibility) else responsibility
    )
    scope = Responsibility.objects if user is None else Responsibility.objects.visible_to(user)
    responsibility = scope.select_related("contract").get(pk=responsibility_id)
    contract = responsibility.contract
    if user is not None and not may_edit(user, contract.provider_id, contract.customer_id):
        raise PermissionDenied("Only the parties' admins and editors may record a lapse.")
    lapse = ResponsibilityLapse(
        responsibility=responsibility,
        start=start,
        end=end,
        note=(note or "").strip(),
        recorded_by=user,
    )
    return save_lapse(lapse=lapse, user=user)


def save_lapse(*, lapse: ResponsibilityLapse, user: User | None) -> ResponsibilityLapse:
    """Validate and store a lapse the caller may write (``record_lapse`` checks that for
    the pages and the API; the admin is for operators).

    A new lapse is announced with ``contracts.signals.lapse_recorded`` in the same
    transaction, so that the parties' notifications are written with it (both or
    neither), wherever it was entered.
    """
    adding = lapse._state.adding
    if adding and lapse.recorded_by_id is None and user is not None:
        lapse.recorded_by = user
    lapse.full_clean()
    lapse._history_user = user
    with transaction.atomic():
        lapse.save()
        if adding:
            lapse_recorded.send(sender=ResponsibilityLapse, lapse=lapse)
    return lapse


def delete_lapse(*, lapse: ResponsibilityLapse) -> None:
    """Delete a lapse: incidents and samples inside it count again from the next
    settlement on (issued statements keep what they said)."""
    with transaction.atomic():
        lapse.delete()


def save_responsibility(
    *, responsibility: Responsibility, service_levels: Iterable[ServiceLevel] | None = None
) -> Responsibility:
    """Validate and store a customer responsibility and, when given, the objectives its
    lapses relieve."""
    with transaction.atomic():
        responsibility.full_clean()
        responsibility.save()
        if service_levels is not None:
            responsibility.service_levels.set(service_levels)
    return responsibility


def delete_responsibility(*, responsibility: Responsibility) -> None:
    """Delete a responsibility with its lapses."""
    with transaction.atomic():
        responsibility.delete()
