"""Writes of a provider's catalogue and of its contracts with the services they include."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext

from contracts.models import Contract, ContractService, Service, ServiceLevel
from contracts.services.terms import TermsEdit, check_edit, record_terms_change, stored_terms


def save_service(*, service: Service) -> Service:
    """Validate and store a service of a provider's catalogue."""
    with transaction.atomic():
        service.full_clean()
        service.save()
    return service


def delete_service(*, service: Service) -> None:
    """Delete a service of the catalogue; one that is part of a contract is protected."""
    with transaction.atomic():
        service.delete()


def save_contract(*, contract: Contract) -> Contract:
    """Validate and store a contract's header with the model's own rules."""
    with transaction.atomic():
        contract.full_clean()
        contract.save()
    return contract


def terminate_contract(*, contract: Contract, end_date: Any = None) -> Contract:
    """Contracts are terminated, never deleted, so that their statements stay readable."""
    with transaction.atomic():
        contract.status = Contract.Status.TERMINATED
        if end_date is not None:
            contract.end_date = end_date
        contract.full_clean()
        contract.save()
    return contract


def delete_contract(*, contract: Contract) -> None:
    """Delete a contract; one with statements is protected (terminate it instead)."""
    with transaction.atomic():
        contract.delete()


def save_contract_service(
    *,
    contract_service: ContractService,
    terms_edit: TermsEdit | None = None,
    user: Any = None,
) -> ContractService:
    """Validate and store a service of a contract and its fee per period. A changed fee is
    an amendment from a period start (by default the next) or a correction, as
    ``terms_edit`` says (see :mod:`contracts.services.terms`)."""
    with transaction.atomic():
        before = stored_terms(contract_service)
        edit = check_edit(contract_service, terms_edit, now=timezone.now())
        contract_service.full_clean()
        contract_service.save()
        record_terms_change(item=contract_service, before=before, edit=edit, user=user)
    return contract_service


def remove_contract_service(*, contract_service: ContractService) -> None:
    """Take a service out of a contract, with its samples, incidents and objectives.

    A service that appears on an issued statement stays: statements are never rewritten.
    Raises ``ValidationError`` then.
    """
    # Checked first: deleting its objectives would otherwise touch issued lines, which the
    # database refuses with an error that is no use to the user.
    if contract_service.statement_lines.exists():
        raise ValidationError(
            gettext(
                gettext(
                    "This service appears on issued statements and cannot be removed; "
                    "end the contract or set its fee instead."
                )
            )
        )
    with transaction.atomic():
        ServiceLevel.objects.filter(
            level=ServiceLevel.Level.CONTRACT_SERVICE,
            contract_id=contract_service.contract_id,
            service_id=contract_service.service_id,
        ).delete()
        try:
            with transaction.atomic():
                contract_service.delete()
        except ProtectedError:
            raise ValidationError(
                gettext(
                    "This service appears on issued statements and cannot be removed; "
                    "end the contract or set its fee instead."
                )
            ) from None
