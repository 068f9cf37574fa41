"""Prometheus → samples, against a real local HTTP server answering ``query_range``: the
pull stores its progress (a missed run catches up, nothing is pulled twice), survives a
server that times out or answers 500 (error shown, retried with backoff) and NaN/Inf
samples (refused one by one, counted, shown), and never duplicates samples on retry."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from contracts.models import Measurement
from integrations import services
from integrations.models import IntegrationEvent, PrometheusPull, PrometheusSource
from integrations.services import prometheus
from tests.integrations.conftest import NOW
from tests.integrations.fake_prometheus import FakePrometheus, serve

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def private_targets(settings):
    # The fake Prometheus listens on the loopback, which a shared portal refuses.
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def fake():
    fake = FakePrometheus()
    server, _ = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def make_pull(personas, cs, fake, key="success", query="probe_success", **source_fields):
    secret = source_fields.pop("secret", None)
    source = services.save_source(
        source=PrometheusSource(
            organization=personas.provider,
            name=source_fields.pop("name", "Prometheus"),
            base_url=fake.url,
            timeout_seconds=source_fields.pop("timeout_seconds", 2),
            **source_fields,
        ),
        secret=secret,
    )
    return services.save_pull(
        pull=PrometheusPull(
            source=source,
            contract_service=cs,
            key=key,
            query=query,
            step_seconds=60,
            start_at=START,
        )
    )


def samples(cs, key="success"):
    return Measurement.objects.filter(contract_service=cs, key=key)


def test_a_pull_records_every_step_once_and_catches_up_after_a_missed_run(
    clock, personas, cs, fake
):
    pull = make_pull(personas, cs, fake)
    outcome = services.pull(pull_id=pull.pk, now=NOW)
    # 11:00 to 11:59, the last whole step before now (12:00) that has had a step to land.
    assert (outcome.recorded, outcome.refused, outcome.error) == (60, 0, "")
    pull.refresh_from_db()
    assert pull.pulled_until == datetime(2026, 11, 10, 11, 59, tzinfo=UTC)
    assert pull.samples_recorded == 60
    assert samples(cs).count() == 60
    assert set(samples(cs).values_list("ok", flat=True)) == {True}
    assert fake.requests[0]["path"] == "/api/v1/query_range"
    assert fake.requests[0]["form"]["query"] == "probe_success"
    assert fake.requests[0]["form"]["step"] == "60s"

    # Run again at once (a retried task): nothing is asked, nothing is stored twice.
    again = services.pull(pull_id=pull.pk, now=NOW)
    assert (again.recorded, again.windows) == (0, 0)
    assert len(fake.requests) == 1
    assert samples(cs).count() == 60

    # Three hours of missed runs: one pull catches up from where the last one stopped.
    later = NOW + timedelta(hours=3)
    caught = services.pull(pull_id=pull.pk, now=later)
    assert caught.recorded == 180
    assert (
        float(fake.requests[1]["form"]["start"])
        == datetime(2026, 11, 10, 12, 0, tzinfo=UTC).timestamp()
    )
    times = list(samples(cs).values_list("observed_at", flat=True))
    assert len(times) == len(set(times)) == 240


def test_long_gaps_are_pulled_in_windows_without_overlap(clock, personas, cs, fake, monkeypatch):
    monkeypatch.setattr(prometheus, "MAX_POINTS", 25)
    pull = make_pull(personas, cs, fake)
    outcome = services.pull(pull_id=pull.pk, now=NOW)
    assert outcome.windows == 3
    ranges = [(float(r["form"]["start"]), float(r["form"]["end"])) for r in fake.requests]
    assert [(end - start) / 60 for start, end in ranges] == [24, 24, 9]
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert start - end == 60
    assert samples(cs).count() == 60


def test_a_failing_prometheus_keeps_its_error_and_backs_off(clock, personas, cs, fake):
    pull = make_pull(personas, cs, fake)
    fake.mode = "500"
    first = services.pull(pull_id=pull.pk, now=NOW)
    assert first.error == "Prometheus answered HTTP 500: storage is down"
    pull.refresh_from_db()
    assert (pull.failures, pull.pulled_until, pull.last_error) == (1, None, first.error)
    assert pull.next_attempt_at == NOW + timedelta(minutes=1)
    assert not samples(cs).exists()

    services.pull(pull_id=pull.pk, now=NOW + timedelta(minutes=1))
    pull.refresh_from_db()
    assert pull.failures == 2
    assert pull.next_attempt_at == NOW + timedelta(minutes=1) + timedelta(minutes=2)
    # The due list follows the backoff.
    assert services.due_pulls(now=NOW + timedelta(minutes=2)) == []

    fake.mode = "ok"
    recovered = services.pull(pull_id=pull.pk, now=NOW + timedelta(minutes=3))
    assert recovered.error == ""
    pull.refresh_from_db()
    assert (pull.failures, pull.last_error) == (0, "")
    assert samples(cs).count() == 63  # 11:00 to 12:02
    failed = IntegrationEvent.objects.filter(outcome="failed")
    assert failed.count() == 2
    assert "storage is down" in failed.first().result


def test_backoff_doubles_up_to_an_hour():
    assert [prometheus.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 6, 7, 20)] == [
        1,
        2,
        4,
        32,
        60,
        60,
    ]


def test_a_prometheus_that_times_out_is_an_error_not_a_hang(clock, personas, cs, fake):
    pull = make_pull(personas, cs, fake, timeout_seconds=1)
    fake.mode, fake.delay = "timeout", 3
    outcome = services.pull(pull_id=pull.pk, now=NOW)
    assert outcome.error == "Prometheus did not answer within 1 s"
    pull.refresh_from_db()
    assert pull.failures == 1
    assert not samples(cs).exists()


def test_a_refused_query_and_an_unreachable_server_are_errors(clock, personas, cs, fake):
    pull = make_pull(personas, cs, fake)
    fake.mode = "error"
    assert "parse error" in services.pull(pull_id=pull.pk, now=NOW).error
    pull.source.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    pull.source.save()
    assert "could not be reached" in services.pull(pull_id=pull.pk, now=NOW).error


def test_nan_and_inf_samples_are_refused_one_by_one_counted_and_shown(
    clock, personas, cs, fake, client
):
    bad = {
        START.timestamp() + 60 * 5: "NaN",
        START.timestamp() + 60 * 6: "+Inf",
        START.timestamp() + 60 * 7: "-Inf",
    }
    fake.value = lambda t: bad.get(t, "0.25")
    pull = make_pull(personas, cs, fake, key="latency", query="probe_duration_seconds")
    outcome = services.pull(pull_id=pull.pk, now=NOW)
    assert (outcome.recorded, outcome.refused) == (57, 3)
    assert any("NaN is not a finite number" in r for r in outcome.refusals)
    assert any("+Inf is not a finite number" in r for r in outcome.refusals)
    pull.refresh_from_db()
    assert pull.samples_refused == 3
    assert pull.last_refusal.startswith("3 refused:")
    assert str(samples(cs, "latency").first().value) == "0.250000"

    client.force_login(personas.provider_viewer)
    page = client.get(f"/providers/{personas.provider.slug}/integrations/").content.decode()
    assert "NaN is not a finite number" in page
    assert "3 refused" in page


def test_a_ratio_sample_must_be_one_or_zero_and_a_count_must_not_be_negative(
    clock, personas, cs, fake
):
    fake.value = lambda t: "0.5" if t == START.timestamp() else "1"
    ratio = make_pull(personas, cs, fake)
    outcome = services.pull(pull_id=ratio.pk, now=NOW)
    assert outcome.refused == 1
    assert "compare with `bool`" in outcome.refusals[0]

    # A rule the measurement service holds (no negative count) refuses that sample only.
    fake.value = lambda t: "-1" if t == START.timestamp() else "0"
    count = make_pull(
        personas, cs, fake, key="outages", query="increase(outages[1m])", name="Second"
    )
    outcome = services.pull(pull_id=count.pk, now=NOW)
    assert (outcome.recorded, outcome.refused) == (59, 1)
    assert "a count cannot be negative" in outcome.refusals[0]


def test_binary_floats_are_read_to_six_decimals(clock, personas, cs, fake):
    fake.value = lambda t: "0.30000000000000004"
    pull = make_pull(personas, cs, fake, key="latency")
    services.pull(pull_id=pull.pk, now=NOW)
    assert {str(v) for v in samples(cs, "latency").values_list("value", flat=True)} == {"0.300000"}


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_pull_of_the_same_window_stores_it_once(clock, personas, cs, fake):
    """While this pull waits for Prometheus, another worker pulls and stores the same
    window; this one then finds the window done and stores nothing."""
    pull = make_pull(personas, cs, fake)
    outcomes = []

    def other_worker():
        import threading

        from django.db import connection

        def run():
            try:
                outcomes.append(services.pull(pull_id=pull.pk, now=NOW))
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    fake.on_request = other_worker
    mine = services.pull(pull_id=pull.pk, now=NOW)
    assert outcomes[0].recorded == 60
    assert mine.recorded == 0
    assert samples(cs).count() == 60
    assert len(fake.requests) == 2


def test_a_failure_midway_keeps_the_stored_windows_and_the_retry_continues(
    clock, personas, cs, fake, monkeypatch
):
    monkeypatch.setattr(prometheus, "MAX_POINTS", 20)
    pull = make_pull(personas, cs, fake)
    original = fake.answer
    calls = []

    def second_fails(form):
        calls.append(form)
        if len(calls) == 2:
            return 500, {"status": "error", "error": "overloaded"}
        return original(form)

    fake.answer = second_fails
    first = services.pull(pull_id=pull.pk, now=NOW)
    assert (first.recorded, first.error) == (20, "Prometheus answered HTTP 500: overloaded")
    pull.refresh_from_db()
    assert pull.pulled_until == START + timedelta(minutes=19)
    retry = services.pull(pull_id=pull.pk, now=NOW + timedelta(minutes=1))
    assert retry.recorded == 41
    times = list(samples(cs).values_list("observed_at", flat=True))
    assert len(times) == len(set(times)) == 61


def test_credentials_come_from_the_environment_or_are_stored_encrypted(
    clock, personas, cs, fake, monkeypatch
):
    monkeypatch.setenv("PROM_TOKEN_FOR_TESTS", "env-secret")
    pull = make_pull(personas, cs, fake, auth="bearer", secret_env="PROM_TOKEN_FOR_TESTS")
    services.pull(pull_id=pull.pk, now=NOW)
    assert fake.requests[-1]["authorization"] == "Bearer env-secret"

    encrypted = make_pull(
        personas,
        cs,
        fake,
        key="latency",
        name="Basic",
        auth="basic",
        username="grafana",
        secret="s3cret-password",
    )
    source = encrypted.source
    assert "s3cret-password" not in source.secret_encrypted
    services.pull(pull_id=encrypted.pk, now=NOW)
    import base64

    assert (
        fake.requests[-1]["authorization"]
        == "Basic " + base64.b64encode(b"grafana:s3cret-password").decode()
    )

    monkeypatch.delenv("PROM_TOKEN_FOR_TESTS")
    outcome = services.pull(pull_id=pull.pk, now=NOW + timedelta(minutes=5))
    assert outcome.error == "the environment variable PROM_TOKEN_FOR_TESTS is not set"
    assert "PROM_TOKEN_FOR_TESTS" not in os.environ


def test_the_schedule_and_the_task_pull_what_is_due(
    clock, personas, cs, fake, monkeypatch, migrated_schedules
):
    from integrations.tasks import tick
    from slaportal.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)

    task = PeriodicTask.objects.get(task="integrations.tick")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 1, "minutes")
    pull = make_pull(personas, cs, fake)
    assert services.due_pulls(now=NOW) == [pull.pk]
    # Claimed: the next minute's run does not send it again while a worker pulls it.
    assert services.due_pulls(now=NOW) == []
    PrometheusPull.objects.filter(pk=pull.pk).update(next_attempt_at=NOW)
    assert tick() == 1  # eager: the pull task ran in place
    assert samples(cs).count() == 60
    pull.refresh_from_db()
    assert pull.next_attempt_at == NOW + timedelta(minutes=1)


def test_a_private_address_is_refused_unless_the_operator_allows_it(personas, settings):
    from django.core.exceptions import ValidationError

    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = False
    for url in ("http://127.0.0.1:9090", "http://10.0.0.5:9090", "http://169.254.169.254/"):
        with pytest.raises(ValidationError) as refused:
            services.save_source(
                source=PrometheusSource(organization=personas.provider, name=url, base_url=url)
            )
        assert "base_url" in refused.value.message_dict
    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = True
    services.save_source(
        source=PrometheusSource(
            organization=personas.provider, name="local", base_url="http://10.0.0.5:9090"
        )
    )
    with pytest.raises(ValidationError):
        # A cloud metadata address never, whatever the setting.
        services.save_source(
            source=PrometheusSource(
                organization=personas.provider, name="meta", base_url="http://169.254.169.254/"
            )
        )


def test_the_test_pull_asks_the_last_ten_steps_and_stores_nothing(clock, personas, cs, fake):
    fake.value = lambda t: "NaN" if t == (NOW - timedelta(minutes=1)).timestamp() else "1"
    pull = make_pull(personas, cs, fake)
    answer = services.test_pull(pull=pull, now=NOW)
    assert answer["samples"] == 9
    assert len(answer["refused"]) == 1
    assert float(fake.requests[0]["form"]["start"]) == (NOW - timedelta(minutes=10)).timestamp()
    assert not samples(cs).exists()
    pull.refresh_from_db()
    assert pull.pulled_until is None
    event = IntegrationEvent.objects.get()
    assert (event.test, event.outcome) == (True, "refused")
    fake.mode = "500"
    assert "storage is down" in services.test_pull(pull=pull, now=NOW)["error"]
