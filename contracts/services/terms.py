"""Amending and correcting a contract's terms: its services' fees and its objectives.

Every change of a versioned term asks what it is. An **amendment** takes effect from a
period start of the contract (by default the next one) and never reaches a period that
has begun; a **correction** rewrites the version in force on a given day (by default
today) retroactively. Each is kept as a :class:`~contracts.models.TermsChange`; the row
itself (``ContractService.fee``, the objective's fields) always holds the latest version,
which is what forms show and edit.

Objectives of the corporate and service levels are shared by the contracts they apply to
(every contract of the provider; every contract of the service). Their versions are kept
per contract all the same, in each contract's own periods: an amendment takes effect from
each contract's next period start (or from a day that starts a period of every contract
still running then), a correction rewrites the version each contract had on the day
corrected. So every contract's timeline and statements name the change, its customer sees
it, and settlement reads one place (:mod:`credits.settlement.terms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

import engine
from contracts.models import Contract, ContractService, ServiceLevel, TermsChange
from contracts.models.terms import latest_version, version_in_force

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser as User

AMENDMENT = TermsChange.Kind.AMENDMENT
CORRECTION = TermsChange.Kind.CORRECTION
ORIGINAL = TermsChange.Kind.ORIGINAL
OBJECTIVE_TERMS = ("target", "comparator", "threshold", "threshold_comparator", "credit_rule")
# Kept only when agreed, so that the versions kept before they existed compare equal.
CHRONIC_TERMS = ("chronic_breaches", "chronic_window")
CHOOSE = "Say whether this is an amendment (from a period start) or a correction (retroactive)."


@dataclass(frozen=True, slots=True)
class TermsEdit:
    """How a change of terms applies: an ``amendment`` from ``effective_from`` (a period
    start; None: the next one) or a ``correction`` of the version in force on
    ``effective_from`` (None: today)."""

    kind: str = AMENDMENT
    effective_from: date | None = None
    note: str = ""


def _number(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def versioned_terms(item: ContractService | ServiceLevel) -> dict[str, Any]:
    """The terms of ``item`` that are versioned, as a :class:`TermsChange` keeps them."""
    if isinstance(item, ContractService):
        return {"fee": _number(item.fee)}
    rule = engine.parse_rule(item.credit_rule)
    terms: dict[str, Any] = {
        "target": _number(item.target),
        "comparator": item.comparator,
        "threshold": _number(item.threshold),
        "threshold_comparator": item.threshold_comparator or None,
        "credit_rule": None if rule is None else rule.to_json(),
    }
    for name in CHRONIC_TERMS:
        if getattr(item, name) is not None:
            terms[name] = getattr(item, name)
    return terms


def stored_terms(item: ContractService | ServiceLevel) -> dict[str, Any] | None:
    """The versioned terms of ``item`` as stored now; None for a new item."""
    if item.pk is None:
        return None
    stored = type(item).objects.filter(pk=item.pk).first()
    return None if stored is None else versioned_terms(stored)


def contract_of(item: ContractService | ServiceLevel) -> Contract | None:
    """The contract whose terms ``item`` is part of; None for a provider-wide objective."""
    if isinstance(item, ContractService):
        return item.contract
    if item.level in (ServiceLevel.Level.CUSTOMER, ServiceLevel.Level.CONTRACT_SERVICE):
        return item.contract
    return None


def contracts_of(item: ContractService | ServiceLevel) -> list[Contract]:
    """Every contract whose terms ``item`` is part of: its own, or for a provider-wide
    objective each contract it may apply to (ended ones too: settling one of their periods
    again must find the terms it used)."""
    contract = contract_of(item)
    if contract is not None:
        return [contract]
    if item.level == ServiceLevel.Level.SERVICE:
        found = Contract.objects.filter(services__service_id=item.service_id)
    else:
        found = Contract.objects.filter(provider_id=item.provider_id)
    return list(found.distinct().order_by("pk"))


def local_today(contract: Contract, now: datetime) -> date:
    return now.astimezone(ZoneInfo(contract.timezone)).date()


def next_period_start(contract: Contract, now: datetime) -> date:
    """The first day of the contract's next period: an amendment's default start."""
    current = engine.period_containing(
        local_today(contract, now), contract.settlement_period, contract.timezone
    )
    return current.end + timedelta(days=1)


def check_edit(
    item: ContractService | ServiceLevel, edit: TermsEdit | None, *, now: datetime
) -> TermsEdit:
    """The edit with its default date, or ``ValidationError`` naming the field: an
    amendment starts on a period start of the contract, not before the current period.
    For a provider-wide objective the default date stays empty (each contract's next
    period start) and a date given must suit every contract still running on it."""
    if edit is None:
        edit = TermsEdit()
    if item.pk is None:
        return edit  # a new fee or objective has no earlier version to amend
    if edit.kind not in (AMENDMENT, CORRECTION):
        raise ValidationError({"change": CHOOSE})
    if edit.kind == CORRECTION:
        return edit
    contract = contract_of(item)
    if contract is not None:
        if edit.effective_from is None:
            return TermsEdit(AMENDMENT, next_period_start(contract, now), edit.note)
        check_amendment_start(contract, edit.effective_from, now=now)
        return edit
    if edit.effective_from is not None:
        day = edit.effective_from
        for shared in contracts_of(item):
            if shared.end_date is None or shared.end_date >= day:
                check_amendment_start(shared, day, now=now, name=True)
    return edit


def check_amendment_start(
    contract: Contract, day: date, *, now: datetime, name: bool = False
) -> None:
    """``ValidationError`` on ``effective_from`` unless ``day`` starts a period of
    ``contract`` that has not ended (``name``: the message names the contract)."""
    kind = contract.settlement_period
    prefix = f"{contract.reference}: " if name else ""
    period = engine.period_containing(day, kind, contract.timezone)
    if period.start != day:
        raise ValidationError(
            {
                "effective_from": prefix
                + gettext(
                    "An amendment takes effect from the start of a period: %(day)s is inside "
                    "the period starting %(start)s."
                )
                % {"day": f"{day:%Y-%m-%d}", "start": f"{period.start:%Y-%m-%d}"}
            }
        )
    today = local_today(contract, now)
    current = engine.period_containing(today, kind, contract.timezone)
    if day < current.start:
        raise ValidationError(
            {
                "effective_from": prefix
                + gettext(
                    "An amendment cannot reach a period that has begun: the earliest start is "
                    "%(start)s; correct the terms instead."
                )
                % {"start": f"{current.start:%Y-%m-%d}"}
            }
        )


def _apply(item: ContractService | ServiceLevel, terms: dict[str, Any]) -> None:
    if isinstance(item, ContractService):
        item.fee = Decimal(terms["fee"])
        return
    item.target = Decimal(terms["target"])
    item.comparator = terms["comparator"]
    item.threshold = None if terms["threshold"] is None else Decimal(terms["threshold"])
    item.threshold_comparator = terms["threshold_comparator"]
    item.credit_rule = terms["credit_rule"]
    for name in CHRONIC_TERMS:
        setattr(item, name, terms.get(name))


def _item_filter(item: ContractService | ServiceLevel) -> dict[str, object]:
    if isinstance(item, ContractService):
        return {"contract_service": item}
    return {"service_level": item}


def record_terms_change(
    *,
    item: ContractService | ServiceLevel,
    before: dict[str, Any] | None,
    edit: TermsEdit,
    user: User | None = None,
    now: datetime | None = None,
) -> TermsChange | None:
    """Keep the change of ``item``'s terms from ``before`` (what was stored) to what it
    holds now (already saved), as ``edit`` says, in each contract it is part of (see
    :func:`contracts_of`); nothing for a new item or an unchanged one. Afterwards the row
    holds the latest version again (a correction of an earlier version leaves a later
    amendment in force). Call it inside the transaction that saved ``item``. Returns the
    change kept in the first contract."""
    after = versioned_terms(item)
    if before is None or before == after:
        return None
    now = now or timezone.now()
    made_by = user if user is not None and user.is_authenticated else None
    contracts = contracts_of(item)
    if not contracts:
        return None
    # Bulk writes: a corporate objective may be part of thousands of contracts.
    history: dict[int, list[TermsChange]] = {contract.pk: [] for contract in contracts}
    rows = TermsChange.objects.select_for_update().filter(
        contract__in=contracts, **_item_filter(item)
    )
    for row in rows.order_by("id"):
        history[row.contract_id].append(row)
    originals = [
        TermsChange(
            contract=contract, **_item_filter(item), kind=ORIGINAL, terms=before, made_at=now
        )
        for contract in contracts
        if not history[contract.pk]
    ]
    for original in TermsChange.objects.bulk_create(originals):
        history[original.contract_id].append(original)
    made = TermsChange.objects.bulk_create(
        TermsChange(
            contract=contract,
            **_item_filter(item),
            kind=edit.kind,
            effective_from=_start(contract, history[contract.pk], edit, now),
            terms=after,
            note=edit.note,
            made_by=made_by,
            made_at=now,
        )
        for contract in contracts
    )
    for change in made:
        history[change.contract_id].append(change)
    latest = latest_version(history[contracts[0].pk]).terms
    if latest != after:
        _apply(item, latest)
        item.save()
    return made[0]


def _start(
    contract: Contract, changes: list[TermsChange], edit: TermsEdit, now: datetime
) -> date | None:
    """The first day of the version ``edit`` sets in ``contract``: an amendment's start
    (by default the contract's next period), or the start of the version corrected."""
    if edit.kind == AMENDMENT:
        return edit.effective_from or next_period_start(contract, now)
    day = edit.effective_from or local_today(contract, now)
    return (version_in_force(changes, day) or changes[0]).effective_from
