"""The contract's plain records: maintenance windows and incidents (the exclusions), and
the delete page they share with lapses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.forms import BaseModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from contracts import services
from contracts.forms import IncidentForm, MaintenanceWindowForm
from contracts.models import Contract, Incident, MaintenanceWindow, ResponsibilityLapse
from contracts.views.common import (
    detail_url,
    editable_contract,
    in_zone,
    scoped_or_none,
)


@dataclass(frozen=True)
class Records:
    """A kind of record kept on the contract page with a plain form and delete page."""

    noun: str  # names the kind in code (assertions); people read the sentences below
    # Whole sentences per kind (German declines each noun differently): the new and edit
    # pages' titles, the message on saving, the delete question's object (%(record)s:
    # the record) and the message on deleting.
    new_title: Any
    edit_title: Any
    saved: Any
    what: Any
    deleted: Any
    anchor: str  # the contract page's section that lists them
    of_contract: Callable[[Contract], QuerySet]  # any other id is a 404
    delete: Callable[[Any], None]  # the service that deletes one
    # The service that validates and stores one from the plain form; lapses have a form
    # of their own (recording one tells both parties).
    save: Callable[[Any], Any] | None = None
    # What the edit page lists of the record's past versions, oldest first.
    history: Callable[[Any], list[Change]] | None = None


@dataclass(frozen=True)
class Change:
    at: Any
    by: str
    what: str


def incident_changes(incident: Incident) -> list[Change]:
    """Each stored version of an incident: when, by whom (a receiver writes as nobody),
    and its cause then, so that a reclassification is seen with its author."""
    versions = incident.history.select_related("history_user").order_by("history_date")
    return [
        Change(
            at=v.history_date,
            by=str(v.history_user) if v.history_user else gettext("an integration or the system"),
            what=(
                gettext("created: cause %(cause)s, %(start)s–%(end)s")
                if v.history_type == "+"
                else gettext("changed: cause %(cause)s, %(start)s–%(end)s")
            )
            % {
                "cause": Incident.Cause(v.cause).label.lower(),
                "start": f"{localtime(v.started_at):%Y-%m-%d %H:%M}",
                "end": f"{localtime(v.ended_at):%Y-%m-%d %H:%M}",
            },
        )
        for v in versions
    ]


LAPSES = Records(
    "lapse",
    _("New lapse"),
    _("Edit lapse"),
    _("Lapse saved."),
    _("the lapse %(record)s"),
    _("The lapse %(record)s deleted."),
    "responsibilities",
    lambda contract: ResponsibilityLapse.objects.filter(responsibility__contract=contract),
    lambda lapse: services.delete_lapse(lapse=lapse),
)
MAINTENANCE_WINDOWS = Records(
    "maintenance window",
    _("New maintenance window"),
    _("Edit maintenance window"),
    _("Maintenance window saved."),
    _("the maintenance window %(record)s"),
    _("The maintenance window %(record)s deleted."),
    "maintenance",
    lambda contract: MaintenanceWindow.objects.filter(contract=contract),
    lambda window: services.delete_maintenance_window(maintenance_window=window),
    lambda window: services.save_maintenance_window(maintenance_window=window),
)
INCIDENTS = Records(
    "incident",
    _("New incident"),
    _("Edit incident"),
    _("Incident saved."),
    _("the incident %(record)s"),
    _("The incident %(record)s deleted."),
    "incidents",
    lambda contract: Incident.objects.filter(contract_service__contract=contract),
    lambda incident: services.delete_incident(incident=incident),
    lambda incident: services.save_incident(incident=incident),
    incident_changes,
)


def record_form(
    request: HttpRequest,
    contract: Contract,
    records: Records,
    record_pk: int | None,
    form_class: type[BaseModelForm],
) -> HttpResponse:
    assert records.save is not None, f"{records.noun}s have no plain form"
    instance = scoped_or_none(records.of_contract(contract), record_pk)
    form = form_class(request.POST or None, instance=instance, contract=contract)
    if request.method == "POST" and form.is_valid():
        records.save(form.save(commit=False))
        messages.success(request, str(records.saved))
        return redirect(detail_url(contract, records.anchor))
    return render(
        request,
        "contracts/simple_form.html",
        {
            "form": form,
            "contract": contract,
            "title": records.edit_title if instance else records.new_title,
            "timezone_note": contract.timezone,
            "cancel_url": detail_url(contract, records.anchor),
            "changes": records.history(instance) if records.history and instance else None,
        },
    )


def record_delete(
    request: HttpRequest, contract: Contract, records: Records, record_pk: int
) -> HttpResponse:
    record = get_object_or_404(records.of_contract(contract), pk=record_pk)
    what = records.what % {"record": record}
    back = detail_url(contract, records.anchor)
    if request.method == "POST":
        records.delete(record)
        messages.success(request, records.deleted % {"record": record})
        return redirect(back)
    return render(
        request,
        "contracts/confirm_delete.html",
        {"contract": contract, "what": what, "cancel_url": back},
    )


@login_required
@in_zone
@require_http_methods(["GET", "POST"])
def maintenance_form(request: HttpRequest, pk: int, mw_pk: int | None = None) -> HttpResponse:
    contract = editable_contract(request, pk)
    return record_form(request, contract, MAINTENANCE_WINDOWS, mw_pk, MaintenanceWindowForm)


@login_required
@in_zone
@require_http_methods(["GET", "POST"])
def maintenance_delete(request: HttpRequest, pk: int, mw_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    return record_delete(request, contract, MAINTENANCE_WINDOWS, mw_pk)


@login_required
@in_zone
@require_http_methods(["GET", "POST"])
def incident_form(request: HttpRequest, pk: int, incident_pk: int | None = None) -> HttpResponse:
    contract = editable_contract(request, pk)
    return record_form(request, contract, INCIDENTS, incident_pk, IncidentForm)


@login_required
@in_zone
@require_http_methods(["GET", "POST"])
def incident_delete(request: HttpRequest, pk: int, incident_pk: int) -> HttpResponse:
    contract = editable_contract(request, pk)
    return record_delete(request, contract, INCIDENTS, incident_pk)
