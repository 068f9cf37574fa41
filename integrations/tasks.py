"""Thin Celery wrappers of the integrations: they take ids, call one service, and are
safe to run twice. Services never import this module."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from integrations import services


@shared_task(name="integrations.tick", ignore_result=True)
def tick() -> int:
    """Celery beat's entry point, every minute: enqueue each due Prometheus pull, push
    firing alerts' incidents to now and prune the log; returns how many pulls were sent."""
    now = timezone.now()
    due = services.due_pulls(now=now)
    for pull_id in due:
        pull_prometheus.delay(pull_id)
    services.extend_open_incidents(now=now)
    services.prune_events()
    return len(due)


@shared_task(name="integrations.pull_prometheus", ignore_result=True)
def pull_prometheus(pull_id: int) -> dict:
    """Pull one query's due points. A failure is kept on the pull's row, which sets its
    next attempt (the backoff); Celery does not retry it on its own."""
    return services.pull(pull_id=pull_id, now=timezone.now()).as_dict()
