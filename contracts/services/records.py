"""Writes of what happened to a contract's services: maintenance windows and incidents."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from contracts.models import Incident, MaintenanceWindow


def save_maintenance_window(*, maintenance_window: MaintenanceWindow) -> MaintenanceWindow:
    """Validate and store a maintenance window (time excluded from uptime)."""
    with transaction.atomic():
        maintenance_window.full_clean()
        maintenance_window.save()
    return maintenance_window


def delete_maintenance_window(*, maintenance_window: MaintenanceWindow) -> None:
    with transaction.atomic():
        maintenance_window.delete()


def _validate_incident(incident: Incident, *, exclude: Sequence[str] = ()) -> None:
    # The database enforces the incident's check constraints (end after start, a known
    # cause) and Incident.clean() and the field's choices say the same in Python with the
    # same messages: Django's re-check of them would be one query per constraint.
    incident.full_clean(exclude=exclude, validate_constraints=False)


def incident_problems(incident: Incident) -> list[str]:
    """Why an incident whose contract service was loaded from the database would be
    refused, one line per field (none when it would be stored)."""
    try:
        _validate_incident(incident, exclude=["contract_service"])
    except ValidationError as exc:
        return [f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()]
    return []


def save_incident(*, incident: Incident) -> Incident:
    """Validate and store an incident (downtime of an uptime objective)."""
    with transaction.atomic():
        _validate_incident(incident)
        incident.save()
    return incident


def record_incidents(*, incidents: Sequence[Incident]) -> list[Incident]:
    """Validate and store new incidents whose contract services the caller loaded from the
    database: one statement for the incidents and one for their history, whatever their
    number (the receivers' deliveries). Their ids are set."""
    for incident in incidents:
        # The contract service came from the database and its foreign key is enforced
        # there: checking that it exists would be a query per incident.
        _validate_incident(incident, exclude=["contract_service"])
    # bulk_create_with_history is atomic itself, without a savepoint (a round trip each).
    return bulk_create_with_history(list(incidents), Incident) if incidents else []


def save_incident_ends(*, incidents: Sequence[Incident]) -> None:
    """Validate and store new ends of stored incidents (nothing else of them changes, so a
    cause an editor reclassified stays): one update and one history statement."""
    for incident in incidents:
        _validate_incident(incident, exclude=["contract_service"])
    if incidents:
        bulk_update_with_history(list(incidents), Incident, ["ended_at"])


def delete_incident(*, incident: Incident) -> None:
    with transaction.atomic():
        incident.delete()
