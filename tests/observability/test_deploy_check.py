"""`make deploy-check`: what a release runs before it serves, in its own environment."""

from __future__ import annotations

import secrets
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.processes import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def production_env(worker_env, tmp_path) -> dict[str, str]:
    return {
        **worker_env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "sla.example.com",
        "SLAPORTAL_VAR_DIR": str(tmp_path),
    }


def beat_ran(ago: timedelta) -> None:
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.update_or_create(
        name="Settlement sweep",
        defaults={
            "task": "credits.sweep",
            "interval": every_15,
            "last_run_at": timezone.now() - ago,
        },
    )


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "deploy-check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_healthy_release_passes(production_env):
    beat_ran(timedelta(minutes=2))
    run = deploy_check(production_env)
    assert run.returncode == 0, run.stdout + run.stderr
    for step in ("check --deploy", "migrate --check", "collectstatic", "health_check healthz"):
        assert step in run.stdout
    assert "BeatRanSweep(task='credits.sweep'): OK" in run.stdout


def test_debug_on_fails_the_security_checks(production_env):
    beat_ran(timedelta(minutes=2))
    run = deploy_check({**production_env, "DEBUG": "1"})
    assert run.returncode != 0
    assert "security.W018" in run.stdout + run.stderr  # DEBUG in deployment
    assert "health_check" not in run.stdout  # stopped at the first failing step


def test_a_stopped_beat_fails_the_health_step(production_env):
    beat_ran(timedelta(hours=2))
    run = deploy_check(production_env)
    assert run.returncode != 0
    assert "BeatRanSweep(task='credits.sweep'): Unavailable: beat has not sent" in run.stdout
