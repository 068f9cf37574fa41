"""Writes of the credits app that people make: disputes, claims, reading notifications,
and the what-if preview's trial write of an objective being edited (always rolled back).

Settlement (statements and their lines) lives in ``credits.settlement``. Views, serializers,
forms and the admin call these functions, so the browser and the API cannot disagree
about who may dispute or resolve what. Outsiders get ``DoesNotExist`` (a 404, the same
as for an id that does not exist); members without the right role get
``PermissionDenied``; bad input gets a ``ValidationError`` with a message per field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

import engine
from contracts import dates
from contracts.models import Contract, ContractService, Incident, Organization, ServiceLevel
from contracts.querysets import may_edit
from contracts.selectors import effective_service_level
from credits import notify, settlement
from credits.models import Claim, Dispute, Notification, Statement, StatementLine
from credits.settlement.periods import period_of
from engine.text import local_moment, period_label

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser as User

OPEN_DISPUTE_EXISTS = gettext_lazy("This line already has an open dispute.")


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
        raise PermissionDenied(
            gettext("Only the customer's admins and editors may dispute a line.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say why the line is disputed.")})
    earlier = Dispute.objects.filter(line=line).order_by("-pk").first()
    if earlier is not None and earlier.status == Dispute.Status.OPEN:
        raise ValidationError({"line": OPEN_DISPUTE_EXISTS})
    if earlier is not None:
        # A resolved dispute is not argued again on the same line: new grounds are a new
        # revision of the statement (its lines can be disputed) or the provider reopening.
        raise ValidationError(
            {
                "line": (
                    gettext(
                        "This line's dispute was accepted on %(day)s: dispute a line of a new "
                        "revision, or ask the provider to reopen it."
                    )
                    if earlier.status == Dispute.Status.ACCEPTED
                    else gettext(
                        "This line's dispute was rejected on %(day)s: dispute a line of a new "
                        "revision, or ask the provider to reopen it."
                    )
                )
                % {"day": f"{earlier.resolved_at:%Y-%m-%d}"}
            }
        )
    if not Statement.objects.filter(pk=line.statement_id).latest_revisions().exists():
        # Only the latest revision is payable; disputing a superseded one would go nowhere.
        raise ValidationError(
            {
                "line": gettext(
                    "This statement has been superseded by a later revision: dispute its line."
                )
            }
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


def _remedy_errors(
    status: str, remedy: str, amount: Decimal | None, currency: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if status == Dispute.Status.ACCEPTED:
        if remedy not in (Dispute.Remedy.CORRECTION, Dispute.Remedy.ADJUSTMENT):
            errors["remedy"] = (
                "Choose the remedy: correct the data or terms and settle again, or agree an "
                "adjustment amount."
            )
        elif remedy == Dispute.Remedy.ADJUSTMENT:
            places = engine.minor_units(currency)
            if amount is None or amount <= 0:
                errors["adjustment_amount"] = gettext(
                    "Give the agreed amount in %(currency)s, above 0."
                ) % {"currency": currency}
            elif amount != amount.quantize(Decimal(1).scaleb(-places)):
                errors["adjustment_amount"] = gettext(
                    "%(currency)s has at most %(places)s decimals."
                ) % {"currency": currency, "places": places}
        elif amount is not None:
            errors["adjustment_amount"] = gettext("Only an agreed adjustment has an amount.")
    elif remedy or amount is not None:
        errors["remedy"] = gettext("Only an accepted dispute has a remedy.")
    return errors


def resolve_dispute(
    *,
    dispute: Dispute | int,
    user: User,
    status: str,
    resolution: str,
    remedy: str = "",
    adjustment_amount: Decimal | None = None,
) -> Dispute:
    """The provider accepts or rejects an open dispute with a resolution; both are told.

    Accepting needs a remedy: ``correction`` (the data, an incident, a lapse or the terms
    were corrected first) or ``adjustment`` with the agreed ``adjustment_amount``. Either
    way the period is settled again in the same transaction, and the new revision cites
    the dispute (engine.totals). Rejecting needs a reason (the resolution) and changes
    nothing. Allowed to the admins and editors of the contract's provider, and to staff.
    The previous state stays in the dispute's history.
    """
    dispute_id = dispute.pk if isinstance(dispute, Dispute) else dispute
    # Raises Dispute.DoesNotExist for an outsider exactly as for a missing id.
    found = (
        Dispute.objects.visible_to(user)
        .select_related("line__statement__contract")
        .get(pk=dispute_id)
    )
    statement = found.line.statement
    contract = statement.contract
    if not may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied(
            gettext("Only the provider's admins and editors may resolve a dispute.")
        )
    if found.status != Dispute.Status.OPEN:
        raise ValidationError({"status": gettext("This dispute has already been resolved.")})
    errors: dict[str, str] = {}
    if status not in (Dispute.Status.ACCEPTED, Dispute.Status.REJECTED):
        errors["status"] = gettext("Choose accepted or rejected.")
    resolution = (resolution or "").strip()
    if not resolution:
        errors["resolution"] = (
            gettext("Give the reason for rejecting it.")
            if status == Dispute.Status.REJECTED
            else gettext("Explain the resolution.")
        )
    remedy = remedy or ""
    errors.update(_remedy_errors(status, remedy, adjustment_amount, contract.currency))
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        # The lock serialises two resolutions of one dispute: the second sees it resolved.
        locked = Dispute.objects.select_for_update().get(pk=dispute_id)
        if locked.status != Dispute.Status.OPEN:
            raise ValidationError({"status": gettext("This dispute has already been resolved.")})
        locked.status = status
        locked.resolution = resolution
        locked.remedy = remedy if status == Dispute.Status.ACCEPTED else ""
        locked.adjustment_amount = (
            adjustment_amount if remedy == Dispute.Remedy.ADJUSTMENT else None
        )
        locked.resolved_by = user
        locked.resolved_at = now
        locked._history_user = user
        locked.save()
        if status == Dispute.Status.ACCEPTED:
            try:
                settlement.settle_period(
                    contract=contract, period_start=statement.period_start, now=now
                )
            except settlement.SettlementError as exc:
                raise ValidationError({"remedy": str(exc)}) from None
        notify.dispute_resolved(dispute_id=locked.pk)
    return locked


def reopen_dispute(*, dispute: Dispute | int, user: User) -> Dispute:
    """The provider reopens a dispute it rejected (new evidence, a second look): the
    customer's new grounds on the same line. Both parties are told. An accepted dispute has
    moved money already: its line's new revision is disputed instead."""
    dispute_id = dispute.pk if isinstance(dispute, Dispute) else dispute
    found = (
        Dispute.objects.visible_to(user)
        .select_related("line__statement__contract")
        .get(pk=dispute_id)
    )
    contract = found.line.statement.contract
    if not may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied(
            gettext("Only the provider's admins and editors may reopen a dispute.")
        )
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute_id)
        if locked.status != Dispute.Status.REJECTED:
            raise ValidationError(
                {
                    "status": gettext("This dispute is open already.")
                    if locked.status == Dispute.Status.OPEN
                    else "An accepted dispute has been settled: dispute the line of its new "
                    "revision instead."
                }
            )
        locked.status = Dispute.Status.OPEN
        locked.resolution = ""
        locked.resolved_by = None
        locked.resolved_at = None
        locked.reopened_at = timezone.now()
        locked._history_user = user
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise ValidationError({"line": OPEN_DISPUTE_EXISTS}) from None
        notify.dispute_reopened(dispute_id=locked.pk)
    return locked


def claim_deadline(contract: Contract, period: engine.Period) -> datetime:
    """The last moment a claim of ``period`` may be filed: ``claim_window_days`` after the
    period ends (local midnight after its last day, in the contract's time zone)."""
    return period.end_at + timedelta(days=contract.claim_window_days)


def claim_deadline_of(claim: Claim) -> datetime:
    """The deadline of the claim's period (what a later claim of it is refused with)."""
    contract = claim.contract_service.contract
    period = engine.Period(claim.period_start, claim.period_end, contract.timezone)
    return claim_deadline(contract, period)


def _claim_period(
    contract: Contract, started_at: datetime, ended_at: datetime, now: datetime
) -> engine.Period:
    """The closed period of ``contract`` the outage lies in, still open to claims; or a
    ``ValidationError`` naming the field and why (the deadline, for a late claim)."""
    if not contract.claim_window_days:
        raise ValidationError(
            {
                "contract_service": gettext("%(contract)s does not allow claims (no claim window).")
                % {"contract": contract.reference}
            }
        )
    if (reason := settlement.why_not_settled(contract)) is not None:
        raise ValidationError({"contract_service": reason})
    out_of_range = {
        name: dates.OUT_OF_RANGE
        for name, value in (("started_at", started_at), ("ended_at", ended_at))
        if not dates.is_within_range(value)
    }
    if out_of_range:
        raise ValidationError(out_of_range)
    if ended_at <= started_at:
        raise ValidationError({"ended_at": gettext("The end must be after the start.")})
    if ended_at > now:
        raise ValidationError({"ended_at": gettext("A claim reports an outage that is over.")})
    kind, tz = contract.settlement_period, contract.timezone
    local_day = started_at.astimezone(ZoneInfo(tz)).date()
    try:
        period = period_of(contract, engine.period_containing(local_day, kind, tz).start)
    except settlement.SettlementError as exc:
        raise ValidationError({"started_at": str(exc)}) from None
    label = period_label(period.start, period.end)
    if ended_at > period.end_at:
        raise ValidationError(
            {
                "ended_at": gettext(
                    "A claim covers one settlement period: %(period)s ends at %(end)s; claim "
                    "the rest separately."
                )
                % {"period": label, "end": local_moment(period.end_at, contract.timezone)}
            }
        )
    if period.end_at > now:
        raise ValidationError(
            {
                "started_at": gettext(
                    "%(period)s has not ended yet: claims are for closed periods (ask the "
                    "provider to record the incident)."
                )
                % {"period": label}
            }
        )
    deadline = claim_deadline(contract, period)
    if now > deadline:
        raise ValidationError(
            {
                "started_at": ngettext(
                    "Too late: claims for %(period)s could be filed until %(deadline)s "
                    "(%(days)s day after the period ended).",
                    "Too late: claims for %(period)s could be filed until %(deadline)s "
                    "(%(days)s days after the period ended).",
                    contract.claim_window_days,
                )
                % {
                    "period": label,
                    "deadline": local_moment(deadline, contract.timezone),
                    "days": contract.claim_window_days,
                }
            }
        )
    return period


def file_claim(
    *,
    contract_service: ContractService | int,
    user: User,
    started_at: datetime,
    ended_at: datetime,
    description: str,
    key: str = "availability",
    now: datetime | None = None,
) -> Claim:
    """A customer claims an outage the provider did not record, in a closed period of a
    contract that allows claims, before its deadline; both parties are told.

    Allowed to the admins and editors of the contract's customer, and to staff. Raises
    ``ContractService.DoesNotExist`` for an outsider exactly as for a missing id, and a
    ``ValidationError`` per field otherwise (a late claim names the deadline).
    """
    cs_id = (
        contract_service.pk if isinstance(contract_service, ContractService) else contract_service
    )
    found = (
        ContractService.objects.visible_to(user).select_related("contract", "service").get(pk=cs_id)
    )
    contract = found.contract
    if not may_edit(user, contract.customer_id, kind=Organization.Kind.CUSTOMER):
        raise PermissionDenied(gettext("Only the customer's admins and editors may file a claim."))
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": gettext("Describe the outage you claim.")})
    key = (key or "").strip() or "availability"
    objective = effective_service_level(found, key)
    if objective is None or objective.indicator != ServiceLevel.Indicator.UPTIME:
        # Its incident would count against nothing: the claim could never change a figure.
        raise ValidationError(
            {
                "key": gettext(
                    "No uptime objective %(key)s applies to %(service)s in %(contract)s."
                )
                % {"key": repr(key), "service": found.service.name, "contract": contract.reference}
            }
        )
    now = now or timezone.now()
    period = _claim_period(contract, started_at, ended_at, now)
    claim = Claim(
        contract_service=found,
        key=key,
        started_at=started_at,
        ended_at=ended_at,
        description=description,
        period_start=period.start,
        period_end=period.end,
        filed_by=user,
        filed_at=now,
    )
    claim.full_clean(exclude=["filed_by", "resolved_by", "incident"])
    claim._history_user = user
    with transaction.atomic():
        claim.save()
        # Written with the claim (both or neither); sent once it is committed.
        notify.claim_filed(claim_id=claim.pk)
    return claim


def resolve_claim(
    *,
    claim: Claim | int,
    user: User,
    status: str,
    resolution: str = "",
    now: datetime | None = None,
) -> Claim:
    """The provider accepts or rejects an open claim; both parties are told.

    Accepting records the claimed outage as a provider incident (overlapping incidents
    count each minute once) and, where the period has a statement, settles it again in the
    same transaction: the new revision counts the outage and cites the claim. Rejecting
    needs a reason and changes nothing. Allowed to the admins and editors of the
    contract's provider, and to staff.
    """
    claim_id = claim.pk if isinstance(claim, Claim) else claim
    # Raises Claim.DoesNotExist for an outsider exactly as for a missing id.
    found = (
        Claim.objects.visible_to(user).select_related("contract_service__contract").get(pk=claim_id)
    )
    contract = found.contract_service.contract
    if not may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied(
            gettext("Only the provider's admins and editors may decide a claim.")
        )
    if found.status != Claim.Status.OPEN:
        raise ValidationError({"status": gettext("This claim has already been decided.")})
    errors: dict[str, str] = {}
    if status not in (Claim.Status.ACCEPTED, Claim.Status.REJECTED):
        errors["status"] = gettext("Choose accepted or rejected.")
    resolution = (resolution or "").strip()
    if status == Claim.Status.REJECTED and not resolution:
        errors["resolution"] = "Give the reason for rejecting the claim."
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        # Settlers of the contract take turns on its row (credits.settlement.issue): holding
        # it while the incident is recorded and the statement looked for, a settler running
        # now either issued its statement already (settled again below) or computes once
        # this commits (and counts the incident). Never a statement that misses the claim.
        Contract.objects.select_for_update(no_key=True).get(pk=contract.pk)
        # The lock serialises two decisions of one claim: the second sees it decided.
        locked = Claim.objects.select_for_update().get(pk=claim_id)
        if locked.status != Claim.Status.OPEN:
            raise ValidationError({"status": gettext("This claim has already been decided.")})
        locked.status = status
        locked.resolution = resolution
        locked.resolved_by = user
        locked.resolved_at = now
        locked._history_user = user
        if status == Claim.Status.ACCEPTED:
            incident = Incident(
                contract_service_id=locked.contract_service_id,
                key=locked.key,
                started_at=locked.started_at,
                ended_at=locked.ended_at,
                cause=Incident.Cause.PROVIDER,
                description=f"Claim #{locked.pk}: {locked.description}",
            )
            incident._history_user = user
            incident.save()
            locked.incident = incident
        locked.save()
        if (
            status == Claim.Status.ACCEPTED
            and Statement.objects.filter(
                contract=contract, period_start=locked.period_start
            ).exists()
        ):
            try:
                settlement.settle_period(
                    contract=contract, period_start=locked.period_start, now=now
                )
            except settlement.SettlementError as exc:
                raise ValidationError({"status": str(exc)}) from None
        notify.claim_resolved(claim_id=locked.pk)
    return locked


def mark_notifications_read(*, user: User, ids: Iterable[Any] | None = None) -> int:
    """Mark the user's unread notifications read (all, or those of ``ids``).

    Ids of other people's notifications are ignored as if they did not exist. Returns the
    number marked.
    """
    notifications = Notification.objects.visible_to(user).unread()
    if ids is not None:
        if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
            raise ValidationError({"ids": gettext("Give a list of notification ids.")})
        wanted: set[int] = set()
        for value in ids:
            if isinstance(value, int) and not isinstance(value, bool):
                wanted.add(value)
            elif isinstance(value, str) and value.strip().isdigit():
                wanted.add(int(value))
            else:
                raise ValidationError(
                    {"ids": gettext("%(value)s is not a notification id.") % {"value": repr(value)}}
                )
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
