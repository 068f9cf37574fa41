"""What every contract page shares: finding the contract or provider in the user's scope,
the contract's time zone, the contract page's anchors, and showing a service's errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import engine
from contracts.models import Contract, Organization, ServiceLevel
from contracts.querysets import may_edit, organizations_of

T = TypeVar("T")

PAGE_SIZE = 25
# Closed periods offered to settle, statements on the contract page, periods previewed.
PREVIEW_PERIODS = 12
LEVEL_NAMES = {
    "corporate": _("corporate"),
    "service": _("service"),
    "customer": _("contract-wide"),
    "contract_service": _("this service"),
}


def readable_contract(request: HttpRequest, pk: int) -> Contract:
    return get_object_or_404(
        Contract.objects.visible_to(request.user).select_related("provider", "customer"), pk=pk
    )


def can_edit(user: User, contract: Contract) -> bool:
    return Contract.objects.editable_by(user).filter(pk=contract.pk).exists()


def editable_contract(request: HttpRequest, pk: int) -> Contract:
    """404 outside the user's scope, 403 inside it without the editor role."""
    contract = readable_contract(request, pk)
    if not can_edit(request.user, contract):
        raise PermissionDenied(gettext("Only the provider's editors change a contract."))
    return contract


def scoped_or_none(records: QuerySet, record_pk: int | None) -> Model | None:
    """The record an edit page is about, found only among ``records`` (404 otherwise);
    None on a "new" page."""
    return get_object_or_404(records, pk=record_pk) if record_pk else None


def provider_for(request: HttpRequest, slug: str, *, edit: bool = False) -> Organization:
    """A provider whose catalogue the user may read (and with ``edit``, change)."""
    provider = get_object_or_404(
        organizations_of(request.user, Organization.Kind.PROVIDER), slug=slug
    )
    if edit and not may_edit(request.user, provider, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied(gettext("Only the provider's editors change its catalogue."))
    return provider


def in_zone(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run a contract's record form in the contract's time zone: the times a provider types
    (maintenance, incidents, lapses) are the contract's local times. Pages that only show
    times leave the viewer's zone active (see docs/i18n.md, "Times and zones")."""

    @wraps(view)
    def wrapper(request: HttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
        tz = (
            Contract.objects.visible_to(request.user)
            .filter(pk=pk)
            .values_list("timezone", flat=True)
            .first()
        )
        if tz is None:
            raise Http404("No such contract.")
        with timezone.override(ZoneInfo(tz)):
            return view(request, pk, *args, **kwargs)

    return wrapper


def detail_url(contract: Contract, anchor: str = "") -> str:
    url = reverse("contract-detail", args=[contract.pk])
    return f"{url}#{anchor}" if anchor else url


def sentence(service_level: ServiceLevel, service_name: str, period_name: str) -> str:
    try:
        return service_level.describe(service_name=service_name, period_name=period_name)
    except (engine.ParameterError, ValueError):
        return f"{service_level.name}: this objective's stored rule cannot be read."


def apply_form_errors(form: BaseForm, error: ValidationError) -> None:
    """A service's ValidationError shown on the form (beside fields where it names them)."""
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


def saved_by(request: HttpRequest, form: BaseForm, save: Callable[[Any], T]) -> T | None:
    """What ``save`` (a service taking the form's unsaved instance) returns for a posted,
    valid form; None when nothing was posted, the form is invalid or the service refused,
    its reasons then shown beside the fields."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(form.save(commit=False))
    except ValidationError as error:
        apply_form_errors(form, error)
        return None


def capitalized(text: str) -> str:
    # Not str.capitalize(), which would lower-case the rest (a contract reference, say).
    return f"{text[:1].upper()}{text[1:]}"
