"""Writes of objectives (service levels), including switching an inherited one off."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from contracts.models import Contract, Service, ServiceLevel
from contracts.services.terms import TermsEdit, check_edit, record_terms_change, stored_terms


def save_service_level(
    *, service_level: ServiceLevel, terms_edit: TermsEdit | None = None, user: Any = None
) -> ServiceLevel:
    """Validate and store an objective at any level, with its credit rule. A change of a
    contract's objective's terms is an amendment from a period start (by default the next)
    or a correction, as ``terms_edit`` says (see :mod:`contracts.services.terms`)."""
    with transaction.atomic():
        before = stored_terms(service_level)
        edit = check_edit(service_level, terms_edit, now=timezone.now())
        service_level.full_clean()
        service_level.save()
        record_terms_change(item=service_level, before=before, edit=edit, user=user)
    return service_level


def delete_service_level(*, service_level: ServiceLevel) -> None:
    """Delete an objective that no issued statement refers to.

    An objective that has been settled stays, so that its statements keep pointing at it
    (its history shows every version); it is switched off instead. Raises
    ``ValidationError`` then.
    """
    if service_level.statement_lines.exists():
        raise ValidationError(
            gettext(
                "This objective appears on issued statements and cannot be deleted; "
                "edit it or switch it off (enabled = false) instead."
            )
        )
    with transaction.atomic():
        service_level.delete()


def remove_inherited_service_level(
    *, inherited: ServiceLevel, contract: Contract, service: Service | None
) -> ServiceLevel:
    """Switch an inherited objective off for one contract (``service=None``) or one of its
    services, by adding a more specific objective of the same key with ``enabled=False``.
    The inherited objective itself stays in force everywhere else."""
    level = (
        ServiceLevel.Level.CONTRACT_SERVICE if service is not None else ServiceLevel.Level.CUSTOMER
    )
    removal = ServiceLevel(
        level=level,
        provider_id=contract.provider_id,
        contract=contract,
        service=service,
        key=inherited.key,
        name=inherited.name,
        indicator=inherited.indicator,
        comparator=inherited.comparator,
        target=inherited.target,
        threshold=inherited.threshold,
        threshold_comparator=inherited.threshold_comparator,
        enabled=False,
        credit_rule=None,
    )
    return save_service_level(service_level=removal)
