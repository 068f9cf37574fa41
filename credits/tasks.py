"""Thin Celery wrappers: they take ids, call one service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from contracts.models import Organization
from credits import notify  # noqa: F401 - registers the delivery tasks with the worker


@shared_task(name="slaportal.ping")
def ping(organization_id: int, marker: str) -> str:
    """Touches one row so that tests can see a real worker reach the database."""
    Organization.objects.filter(pk=organization_id).update(name=marker)
    return marker
