"""Thin Celery wrappers for the contracts app: each calls one service."""

from __future__ import annotations

from celery import shared_task

from contracts.services.partitions import maintain_partitions


@shared_task(name="contracts.measurement_partitions", ignore_result=True)
def measurement_partitions() -> str:
    """Daily: the samples' month partitions created ahead, the retention applied."""
    return str(maintain_partitions())
