"""The pull schedule through a real Celery worker on the real Redis broker: beat's task,
run by the worker, enqueues the due pull, which the worker pulls from a local Prometheus
into samples, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contracts.models import Measurement
from integrations import services
from integrations.models import PrometheusPull, PrometheusSource
from integrations.tasks import tick
from tests.integrations.fake_prometheus import FakePrometheus, serve
from tests.processes import CeleryWorker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.dates, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_pulls_what_beat_finds_due(worker_env, settings, personas, cs):
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = True
    fake = FakePrometheus()
    server, _ = serve(fake)
    worker = CeleryWorker({**worker_env, "PROMETHEUS_ALLOW_PRIVATE_TARGETS": "1"}, name="pulls")
    worker.start()
    try:
        # The worker reads the real clock: the pull starts half an hour before it.
        start = (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
        source = services.save_source(
            source=PrometheusSource(organization=personas.provider, name="local", base_url=fake.url)
        )
        pull = services.save_pull(
            pull=PrometheusPull(
                source=source,
                contract_service=cs,
                key="success",
                query="probe_success",
                start_at=start,
            )
        )
        tick.delay()
        stored = Measurement.objects.filter(contract_service=cs, key="success")
        assert wait_for(lambda: stored.count() >= 28, timeout=60), worker.log()
        pull.refresh_from_db()
        assert pull.pulled_until is not None and pull.failures == 0
        # A second run finds nothing due yet, and nothing is stored twice.
        tick.delay()
        assert not wait_for(lambda: len(fake.requests) > 1, timeout=3)
        times = list(stored.values_list("observed_at", flat=True))
        assert len(times) == len(set(times))
    finally:
        worker.stop()
        server.shutdown()
        server.server_close()
