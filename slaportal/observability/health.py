"""``/healthz``: the checks a load balancer and an operator ask before trusting a process.

django-health-check runs them; ``/healthz/`` answers 200 when all pass and 500 naming the
failing ones, as HTML, or JSON with ``Accept: application/json`` or ``?format=json``.
The database (and its replica when one is configured), the cache, the broker, that every
migration this code knows is applied, and that Celery beat has run the settlement sweep
on time. ``/healthz/web/`` checks only what a web server needs to answer (databases,
cache, migrations): the load balancer's probe, which an outage of beat, the broker or the
workers must not fail. ``/healthz/workers/`` asks the Celery workers themselves (a ping
over the broker).
"""

from __future__ import annotations

import dataclasses
import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

SWEEP_TASK = "credits.sweep"

# Set once every migration was found applied: migrations are not unapplied under a
# running process, and loading the migration graph on every probe costs ~0.1 s.
_migrations_applied = False


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):
    """Every migration of the code this process runs is applied to the database: a web
    server started before ``migrate`` finished would otherwise serve pages whose tables or
    columns do not exist yet."""

    alias: str = DEFAULT_DB_ALIAS

    def run(self) -> None:
        global _migrations_applied
        if _migrations_applied:
            return
        try:
            executor = MigrationExecutor(connections[self.alias])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise ServiceUnavailable("cannot read the applied migrations") from exc
        finally:
            # Checks run in threads of their own, whose connections nothing else closes.
            connections[self.alias].close()
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
            more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
            raise ServiceUnavailable(f"{len(plan)} migration(s) not applied: {names}{more}")
        _migrations_applied = True


@dataclasses.dataclass
class BeatRanSweep(HealthCheck):
    """Celery beat sent the settlement sweep when its schedule said it would.

    Beat (django-celery-beat's DatabaseScheduler) records each run in the periodic task's
    ``last_run_at``, writing it back every few minutes; the check fails once the next run
    is overdue by more than ``BEAT_HEALTH_GRACE_SECONDS`` — beat stopped, or none was
    started — and when no enabled schedule sends the sweep at all."""

    task: str = SWEEP_TASK

    def run(self) -> None:
        try:
            self.check_schedules()
        finally:
            # Checks run in threads of their own, whose connections nothing else closes.
            connections[DEFAULT_DB_ALIAS].close()

    def check_schedules(self) -> None:
        from django_celery_beat.models import PeriodicTask

        # Beat's own state is read where beat writes it.
        schedules = PeriodicTask.objects.using(DEFAULT_DB_ALIAS).filter(
            task=self.task, enabled=True
        )
        try:
            schedules = list(schedules.select_related("interval", "crontab", "solar", "clocked"))
        except DatabaseError as exc:
            raise ServiceUnavailable("cannot read the beat schedule") from exc
        if not schedules:
            raise ServiceUnavailable(f"no enabled periodic task runs {self.task}")
        grace = datetime.timedelta(seconds=settings.BEAT_HEALTH_GRACE_SECONDS)
        now = timezone.now()
        for periodic in schedules:
            # Never run yet: it has been due since it was scheduled (or last edited).
            since = periodic.last_run_at or periodic.date_changed
            overdue = -periodic.schedule.remaining_estimate(since)
            if overdue <= grace:
                return
        minutes = round((now - since).total_seconds() / 60)
        when = "last run" if periodic.last_run_at else "never run; scheduled"
        raise ServiceUnavailable(
            f"beat has not sent {self.task} for {minutes} min ({when} "
            f"{since:%Y-%m-%d %H:%M} UTC); is exactly one beat running?"
        )


def _broker_check() -> tuple[str, dict] | None:
    """A ping of the broker when it is Redis; the embedded default (a directory) needs none."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None

    def client():
        from redis.asyncio import Redis

        return Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)

    return ("health_check.contrib.redis.Redis", {"client_factory": client})


def web_checks() -> list:
    """What a web server needs to answer pages: its databases, its cache, its schema."""
    checks: list = [("health_check.checks.Database", {"alias": alias}) for alias in connections]
    return [*checks, ("health_check.checks.Cache", {"alias": "default"}), MigrationsApplied]


def portal_checks() -> list:
    """Everything the portal needs to do its work, settling and notifying included."""
    checks = [*web_checks(), BeatRanSweep]
    broker = _broker_check()
    if broker:
        checks.append(broker)
    return checks


class PortalHealthView(HealthCheckView):
    """The checks are read from the settings on each request, so that a changed setting
    (in tests, a broker URL) is what the next probe checks."""

    def get_checks(self):
        self.checks = portal_checks()
        return super().get_checks()


class WebHealthView(HealthCheckView):
    """For a load balancer: beat stopping or the broker going away is no reason to take
    every web server out of rotation, so this probe leaves them out."""

    def get_checks(self):
        self.checks = web_checks()
        return super().get_checks()


class WorkersHealthView(HealthCheckView):
    checks = (("health_check.contrib.celery.Ping", {"timeout": datetime.timedelta(seconds=3)}),)
