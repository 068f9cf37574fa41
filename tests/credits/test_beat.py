"""Celery beat, with the schedule stored in the database, drives the settlement sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from credits.models import Notification, Statement
from credits.settlement import due_periods
from tests.credits.test_settlement_worker import book_with_samples, first_of_month
from tests.factories import CustomerFactory, MembershipFactory, ProviderFactory
from tests.processes import ROOT, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.dates, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def beat_process(worker_env, tmp_path):
    log = open(tmp_path / "beat.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "slaportal",
            "beat",
            "--loglevel",
            "INFO",
            "--max-interval",
            "1",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield lambda: (tmp_path / "beat.log").read_text()
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


def test_beat_runs_the_stored_sweep_schedule_and_a_worker_settles_what_is_due(
    celery_worker_process, beat_process
):
    # The schedule as the migration creates it, made fast for the test (operators edit
    # the same row in the admin).
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Settlement sweep", defaults={"task": "credits.sweep", "interval": every_second}
    )
    provider, customer = ProviderFactory(), CustomerFactory()
    MembershipFactory(organization=provider, role="editor")
    MembershipFactory(organization=customer, role="viewer")
    today = timezone.now().date()
    book_with_samples(
        period="week",
        tz="Europe/Berlin",
        start=today - timedelta(days=today.weekday() + 14),
        provider=provider,
        customer=customer,
    )
    book_with_samples(
        period="month",
        tz="America/New_York",
        start=first_of_month(today, 2),
        provider=provider,
        customer=customer,
    )
    expected = set(due_periods(timezone.now()))
    assert expected

    settled = lambda: set(  # noqa: E731
        Statement.objects.values_list("contract_id", "period_start")
    )
    assert wait_for(lambda: expected <= settled(), timeout=90), (
        beat_process() + celery_worker_process.log()
    )
    assert "Scheduler: Sending due task Settlement sweep" in beat_process()
    assert wait_for(
        lambda: (
            Notification.objects.filter(event="statement_issued").count()
            == 2 * Statement.objects.count()
        ),
        timeout=60,
    )
    # Later sweeps find nothing new: every period is settled once.
    assert Statement.objects.count() == len(expected)
