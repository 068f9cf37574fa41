"""Writes of the customer's responsibilities and of their lapses, which both parties hear of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from contracts.models import Responsibility, ResponsibilityLapse, ServiceLevel
from contracts.querysets import may_edit
from contracts.signals import lapse_contested, lapse_recorded, lapse_resolved

Party = ResponsibilityLapse.Party
Status = ResponsibilityLapse.Status


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
        raise PermissionDenied(gettext("Only the parties' admins and editors may record a lapse."))
    # The provider's lapse may be contested by the customer; the customer's own may not
    # be contested by anyone (it is the customer's admission).
    by_customer = user is not None and not may_edit(user, contract.provider_id)
    lapse = ResponsibilityLapse(
        responsibility=responsibility,
        start=start,
        end=end,
        note=(note or "").strip(),
        recorded_by=user,
        recorded_for=Party.CUSTOMER if by_customer else Party.PROVIDER,
    )
    return save_lapse(lapse=lapse, user=user)


def _visible_lapse(user: User, lapse: ResponsibilityLapse | int) -> ResponsibilityLapse:
    lapse_id = lapse.pk if isinstance(lapse, ResponsibilityLapse) else lapse
    # Raises DoesNotExist for an outsider exactly as for a missing id.
    return (
        ResponsibilityLapse.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("responsibility__contract")
        .get(pk=lapse_id)
    )


def contest_lapse(
    *, lapse: ResponsibilityLapse | int, user: User, reason: str
) -> ResponsibilityLapse:
    """The customer contests a lapse the provider recorded, saying why; both parties are
    told. The lapse keeps relieving the provider until the provider withdraws it.

    Allowed to the customer's admins and editors (and staff). Only a lapse the provider
    recorded, and only once: a lapse already contested, kept or withdrawn is a
    ``ValidationError``, as is a blank reason; nothing changes then.
    """
    with transaction.atomic():
        lapse = _visible_lapse(user, lapse)
        contract = lapse.responsibility.contract
        if not may_edit(user, contract.customer_id):
            raise PermissionDenied(
                gettext("Only the customer's admins and editors may contest a lapse.")
            )
        reason = (reason or "").strip()
        if lapse.recorded_for != Party.PROVIDER:
            raise ValidationError(
                {
                    "lapse": gettext(
                        "The customer recorded this lapse itself; there is nothing to contest."
                    )
                }
            )
        if lapse.status != Status.RECORDED:
            state = lapse.get_status_display().lower()
            raise ValidationError(
                {
                    "lapse": gettext("This lapse was already contested (%(state)s).")
                    % {"state": state}
                }
            )
        if not reason:
            raise ValidationError({"reason": gettext("Say why the lapse is contested.")})
        lapse.status = Status.CONTESTED
        lapse.contest_reason = reason
        lapse.contested_by = user
        lapse.contested_at = timezone.now()
        lapse._history_user = user
        lapse.save()
        lapse_contested.send(sender=ResponsibilityLapse, lapse=lapse)
    return lapse


def resolve_lapse_contest(
    *, lapse: ResponsibilityLapse | int, user: User, outcome: str, resolution: str
) -> ResponsibilityLapse:
    """The provider keeps or withdraws a contested lapse (``outcome`` "kept" or
    "withdrawn"), saying why; both parties are told. A withdrawn lapse relieves nothing
    from then on: the receivers of ``lapse_resolved`` settle the closed periods it
    touched again, which issues a corrected revision where the figures change.

    Allowed to the provider's admins and editors (and staff); the lapse must be contested.
    """
    with transaction.atomic():
        lapse = _visible_lapse(user, lapse)
        contract = lapse.responsibility.contract
        if not may_edit(user, contract.provider_id, kind="provider"):
            raise PermissionDenied(
                gettext("Only the provider's admins and editors may decide a contest.")
            )
        errors = {}
        if lapse.status != Status.CONTESTED:
            errors["lapse"] = gettext("Only a contested lapse can be kept or withdrawn.")
        if outcome not in (Status.KEPT, Status.WITHDRAWN):
            errors["outcome"] = gettext(
                "Unknown outcome %(outcome)s: choose kept or withdrawn."
            ) % {"outcome": repr(outcome)}
        resolution = (resolution or "").strip()
        if not resolution:
            errors["resolution"] = gettext("Say why the lapse is kept or withdrawn.")
        if errors:
            raise ValidationError(errors)
        lapse.status = outcome
        lapse.resolution = resolution
        lapse.resolved_by = user
        lapse.resolved_at = timezone.now()
        lapse._history_user = user
        lapse.save()
        lapse_resolved.send(sender=ResponsibilityLapse, lapse=lapse)
    return lapse


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
