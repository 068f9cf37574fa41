"""A real Celery worker, started against the real Redis, writes to the real PostgreSQL."""

import pytest

from contracts.models import Organization
from credits.tasks import ping
from tests.factories import ProviderFactory
from tests.processes import wait_for


@pytest.mark.worker
def test_a_real_worker_runs_a_task_and_its_result_reaches_postgresql(celery_worker_process):
    org = ProviderFactory(name="before")
    ping.delay(org.pk, "after the worker")
    assert wait_for(
        lambda: Organization.objects.get(pk=org.pk).name == "after the worker", timeout=30
    ), celery_worker_process.log()
