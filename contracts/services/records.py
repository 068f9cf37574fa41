"""Writes of what happened to a contract's services: maintenance windows and incidents."""

from __future__ import annotations

from django.db import transaction

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


def save_incident(*, incident: Incident) -> Incident:
    """Validate and store an incident (downtime of an uptime objective)."""
    with transaction.atomic():
        incident.full_clean()
        incident.save()
    return incident


def delete_incident(*, incident: Incident) -> None:
    with transaction.atomic():
        incident.delete()
