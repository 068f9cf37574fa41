"""Writes of the credits app that people make: disputes, reading notifications, and the
what-if preview's trial write of an objective being edited (always rolled back).

Settlement (statements and their lines) lives in ``credits.settlement``. Views, serializers,
forms and the admin call these functions, so the browser and the API cannot disagree
about who may dispute or resolve what. Outsiders get ``DoesNotExist`` (a 404, the same
as for an id that does not exist); members without the right role get
``PermissionDenied``; bad input gets a ``ValidationError`` with a message per field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import engine
from contracts.models import Contract, Organization, ServiceLevel
from contracts.querysets import may_edit
from credits import notify, settlement
from credits.models import Dispute, Notification, Statement, StatementLine

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser as User

OPEN_DISPUTE_EXISTS = "This line already has an open dispute."


def _visible_line(user: User, line: StatementLine | int) -> StatementLine:
    line_id = line.pk if isinstance(line, StatementLine) else line
    # Raises StatementLine.DoesNotExist for an outsider exactly as for a missing id.
    return (
        StatementLine.objects.visible_to(user).select_related("statement__contract").get(pk=line_id)
    )


def open_dispute(*, line: StatementLine | int, user: User, reason: str) -> Dispute:
    """A customer disputes a statement line; both parties are told.

    The notifications are written in the dispute's transaction and sent after it commits:
    a dispute that is rolled back tells nobody, a committed one cannot be forgotten.

    Allowed to the admins and editors of the line's customer organisation, and to staff.
    A line has at most one open dispute (the database holds that rule too).
    """
    line = _visible_line(user, line)
    if not may_edit(user, line.statement.contract.customer_id):
        raise PermissionDenied("Only the customer's admins and editors may dispute a line.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the line is disputed."})
    if Dispute.objects.filter(line=line, status=Dispute.Status.OPEN).exists():
        raise ValidationError({"line": OPEN_DISPUTE_EXISTS})
    if not Statement.objects.filter(pk=line.statement_id).latest_revisions().exists():
        # Only the latest revision is payable; disputing a superseded one would go nowhere.
        raise ValidationError(
            {"line": "This statement has been superseded by a later revision: dispute its line."}
        )
    dispute = Dispute(line=line, reason=reason, opened_by=user)
    dispute._history_user = user
    try:
        with transaction.atomic():
            dispute.save()
            # Written with the dispute (both or neither); sent once it is committed.
            notify.dispute_opened(dispute_id=dispute.pk)
    except IntegrityError:
        # Another request opened one between our check and our insert.
        raise ValidationError({"line": OPEN_DISPUTE_EXISTS}) from None
    return dispute


def resolve_dispute(*, dispute: Dispute | int, user: User, status: str, resolution: str) -> Dispute:
    """The provider accepts or rejects an open dispute with a resolution; both are told.

    Allowed to the admins and editors of the contract's provider, and to staff. The
    previous state stays in the dispute's history.
    """
    dispute_id = dispute.pk if isinstance(dispute, Dispute) else dispute
    # Raises Dispute.DoesNotExist for an outsider exactly as for a missing id.
    found = (
        Dispute.objects.visible_to(user)
        .select_related("line__statement__contract")
        .get(pk=dispute_id)
    )
    contract = found.line.statement.contract
    if not may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied("Only the provider's admins and editors may resolve a dispute.")
    errors: dict[str, str] = {}
    if status not in (Dispute.Status.ACCEPTED, Dispute.Status.REJECTED):
        errors["status"] = "Choose accepted or rejected."
    resolution = (resolution or "").strip()
    if not resolution:
        errors["resolution"] = "Explain the resolution."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The lock serialises two resolutions of one dispute: the second sees it resolved.
        locked = Dispute.objects.select_for_update().get(pk=dispute_id)
        if locked.status != Dispute.Status.OPEN:
            raise ValidationError({"status": "This dispute has already been resolved."})
        locked.status = status
        locked.resolution = resolution
        locked.resolved_by = user
        locked.resolved_at = timezone.now()
        locked._history_user = user
        locked.save()
        notify.dispute_resolved(dispute_id=locked.pk)
    return locked


def mark_notifications_read(*, user: User, ids: Iterable[Any] | None = None) -> int:
    """Mark the user's unread notifications read (all, or those of ``ids``).

    Ids of other people's notifications are ignored as if they did not exist. Returns the
    number marked.
    """
    notifications = Notification.objects.visible_to(user).unread()
    if ids is not None:
        if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
            raise ValidationError({"ids": "Give a list of notification ids."})
        wanted: set[int] = set()
        for value in ids:
            if isinstance(value, int) and not isinstance(value, bool):
                wanted.add(value)
            elif isinstance(value, str) and value.strip().isdigit():
                wanted.add(int(value))
            else:
                raise ValidationError({"ids": f"{value!r} is not a notification id."})
        notifications = notifications.filter(pk__in=wanted)
    return notifications.update(read_at=timezone.now())


def mark_notification(*, notification: Notification, read: bool) -> Notification:
    """Mark one notification read (keeping when it was first read) or unread again."""
    if read and notification.read_at is None:
        notification.read_at = timezone.now()
    elif not read:
        notification.read_at = None
    notification.save(update_fields=["read_at"])
    return notification


def what_if_lines(
    *,
    service_level: ServiceLevel,
    objective: engine.Objective,
    contract: Contract,
    periods: Sequence[engine.Period],
) -> list[tuple[engine.Period, settlement.ComputedLine]]:
    """What ``service_level`` as edited (not saved) would have decided over ``periods``
    of ``contract``: the lines it decides in each period, computed from the stored data.

    Nothing is stored. An objective edited in place is put in for the computation only;
    a new one, or one changing level, changes which objective wins where, so it is
    written inside a transaction that is always rolled back. A more specific objective of
    the same key keeps deciding where it applies. Raises ``SettlementError``.
    """
    instance = service_level
    was_new = instance.pk is None
    unchanged_scope = not was_new and (
        ServiceLevel.objects.filter(pk=instance.pk)
        .values_list("level", "contract_id", "service_id")
        .first()
        == (instance.level, instance.contract_id, instance.service_id)
    )
    target_id = instance.pk
    try:
        if unchanged_scope:
            overrides = {instance.pk: objective}
            computed = [
                settlement.compute_period(
                    contract=contract, period_start=p.start, objective_overrides=overrides
                )
                for p in periods
            ]
        else:
            with transaction.atomic():
                instance.save()
                target_id = instance.pk
                computed = [
                    settlement.compute_period(contract=contract, period_start=p.start)
                    for p in periods
                ]
                transaction.set_rollback(True)
    finally:
        if was_new:
            instance.pk = None
            instance._state.adding = True
    return [
        (statement.period, line)
        for statement in computed
        for line in statement.lines
        if line.service_level.pk == target_id
    ]
