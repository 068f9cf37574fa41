"""/healthz: each check passes against the real services and fails, naming itself, when
its service is away (a closed port), behind (a migration not applied) or stopped (beat)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from slaportal.observability import health
from tests.observability.support import free_port
from tests.processes import ROOT

# The checks run in threads of their own, with connections of their own: they see only
# committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "Settlement sweep"


def sweep_schedule(last_run_ago: timedelta | None, *, every: int = 15, enabled: bool = True):
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="minutes")
    task, _ = PeriodicTask.objects.update_or_create(
        name=SWEEP,
        defaults={"task": "credits.sweep", "interval": interval, "enabled": enabled},
    )
    last_run_at = None if last_run_ago is None else timezone.now() - last_run_ago
    # update(): saving would move date_changed, and signals would touch beat's change stamp.
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=last_run_at)
    return task


def healthz(client, path: str = "/healthz/"):
    response = client.get(path, HTTP_ACCEPT="application/json")
    return response.status_code, json.loads(response.content)


def failing(results: dict) -> dict:
    return {check: outcome for check, outcome in results.items() if outcome != "OK"}


@pytest.fixture(autouse=True)
def forget_applied_migrations(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_all_pass_against_the_real_services(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    sweep_schedule(timedelta(minutes=3))
    status, results = healthz(client)
    assert status == 200, results
    assert failing(results) == {}
    names = " ".join(results)
    for check in ("Database(alias='default')", "Cache(", "MigrationsApplied", "BeatRanSweep"):
        assert check in names
    assert "Redis(" in names


def test_html_for_a_person_and_json_when_asked(client):
    sweep_schedule(timedelta(minutes=1))
    page = client.get("/healthz/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    by_query = client.get("/healthz/?format=json")
    assert by_query["Content-Type"] == "application/json"
    assert set(json.loads(by_query.content).values()) == {"OK"}
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]


def test_the_broker_on_a_closed_port_fails(client, settings):
    sweep_schedule(timedelta(minutes=1))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, results = healthz(client)
    assert status == 500
    (broker,) = failing(results)
    assert broker.startswith("Redis(")
    assert results[broker].startswith("Unavailable: Unable to connect to Redis")


def test_the_embedded_broker_has_no_broker_check(client, settings):
    sweep_schedule(timedelta(minutes=1))
    settings.CELERY_BROKER_URL = "filesystem://localhost//"
    status, results = healthz(client)
    assert status == 200
    assert not any(check.startswith("Redis(") for check in results)


def test_a_shared_cache_on_a_closed_port_fails(client, settings):
    sweep_schedule(timedelta(minutes=1))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    status, results = healthz(client)
    assert status == 500
    assert failing(results) == {"Cache(alias='default')": "Unexpected Result: Connection Error"}


def test_a_shared_cache_on_redis_passes(client, settings):
    sweep_schedule(timedelta(minutes=1))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
        }
    }
    status, results = healthz(client)
    assert status == 200, results


def test_a_migration_not_applied_fails_naming_it(client):
    sweep_schedule(timedelta(minutes=1))
    recorder = MigrationRecorder(connection)
    last = max(name for app, name in recorder.applied_migrations() if app == "credits")
    recorder.record_unapplied("credits", last)
    try:
        status, results = healthz(client)
    finally:
        recorder.record_applied("credits", last)
    assert status == 500
    assert failing(results) == {
        "MigrationsApplied(alias='default')": f"Unavailable: 1 migration(s) not applied: "
        f"credits.{last}"
    }
    # Applied again: healthy again.
    assert healthz(client)[0] == 200


class TestBeat:
    def test_a_recent_run_passes(self, client):
        sweep_schedule(timedelta(minutes=14))
        assert healthz(client)[0] == 200

    def test_overdue_within_the_grace_passes(self, client, settings):
        # Beat writes its runs back every 3 minutes: a run due 4 minutes ago may be done.
        settings.BEAT_HEALTH_GRACE_SECONDS = 300
        sweep_schedule(timedelta(minutes=19))
        assert healthz(client)[0] == 200

    def test_beat_stopped_fails(self, client, settings):
        settings.BEAT_HEALTH_GRACE_SECONDS = 300
        sweep_schedule(timedelta(minutes=21))
        status, results = healthz(client)
        assert status == 500
        ((check, outcome),) = failing(results).items()
        assert check == "BeatRanSweep(task='credits.sweep')"
        assert outcome.startswith("Unavailable: beat has not sent credits.sweep for 21 min")
        assert "exactly one beat" in outcome

    def test_a_longer_interval_is_read_from_the_schedule(self, client):
        sweep_schedule(timedelta(minutes=50), every=60)
        assert healthz(client)[0] == 200
        sweep_schedule(timedelta(minutes=70), every=60)
        assert healthz(client)[0] == 500

    def test_never_run_counts_from_when_it_was_scheduled(self, client):
        task = sweep_schedule(None)
        assert healthz(client)[0] == 200
        PeriodicTask.objects.filter(pk=task.pk).update(
            date_changed=timezone.now() - timedelta(hours=1)
        )
        assert healthz(client)[0] == 500

    def test_no_enabled_schedule_fails(self, client):
        sweep_schedule(timedelta(minutes=1), enabled=False)
        status, results = healthz(client)
        assert status == 500
        assert failing(results) == {
            "BeatRanSweep(task='credits.sweep')": "Unavailable: no enabled periodic task runs "
            "credits.sweep"
        }


def run_health_command(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "health_check", "healthz", "--no-http"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_passes_and_fails_with_the_database(worker_env):
    """`manage.py health_check healthz --no-http` (what `make deploy-check` runs) in a
    process of its own: healthy on the test database, and the database named when its
    server is a closed port."""
    sweep_schedule(timedelta(minutes=1))
    healthy = run_health_command(worker_env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "Database(alias='default'): OK" in healthy.stdout

    gone = {**worker_env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"}
    down = run_health_command(gone)
    assert down.returncode == 1, down.stdout + down.stderr
    assert "Database(alias='default'): Unavailable: connection failed" in down.stdout


@pytest.mark.worker
def test_workers_answer_the_ping(client, celery_worker_process):
    status, results = healthz(client, "/healthz/workers/")
    assert status == 200, results


def test_no_worker_fails_the_ping(client):
    status, results = healthz(client, "/healthz/workers/")
    assert status == 500
    assert list(results.values()) == ["Unavailable: Celery workers unavailable"]


def test_the_load_balancers_probe_ignores_beat_and_the_broker(client, settings):
    sweep_schedule(timedelta(hours=3))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert healthz(client)[0] == 500
    status, results = healthz(client, "/healthz/web/")
    assert status == 200, results
    assert {check.split("(")[0] for check in results} == {
        "Database",
        "Cache",
        "MigrationsApplied",
    }


def test_the_load_balancers_probe_fails_without_the_schema(client):
    recorder = MigrationRecorder(connection)
    last = max(name for app, name in recorder.applied_migrations() if app == "contracts")
    recorder.record_unapplied("contracts", last)
    try:
        status, results = healthz(client, "/healthz/web/")
    finally:
        recorder.record_applied("contracts", last)
    assert status == 500
    assert list(failing(results)) == ["MigrationsApplied(alias='default')"]
