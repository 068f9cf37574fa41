"""Integrations benchmark: a Prometheus pull against ingesting the same points, and the
Alertmanager receiver against a plain authenticated list endpoint under the same load.

    python -m bench.integrations [--points 1000000] [--series 10] [--receiver]
                                 [--requests 2000] [--senders 16]

**Pull.** A local Prometheus (a real HTTP server in a thread, answering ``query_range``)
serves ``--series`` series of one point a minute; one ``integrations.services.pull`` takes
all ``--points`` of them (in windows of 10,000 steps, each recorded through the measurement
service). The baseline, in the same run, is the same points recorded through
``contracts.services.record_measurements`` in batches of 10,000 (the measurements API's
path, without HTTP). Target: pull ≤ 2× the baseline.

**Receiver** (``--receiver``). gunicorn with two workers; ``--senders`` threads post
Alertmanager payloads (a firing alert, then its resolution, each a new incident) to the
live receiver, and the same number of threads read ``GET /api/v1/contracts/`` with a
token, the two loads taking turns in eight rounds (so both meet the same outside load).
Prints alerts/s and each p99; target: the receiver's p99 ≤ 1.5× the list's.

Runs in its own database (``slaportal_bench_integrations``; ``$BENCH_DATABASE_URL``
overrides). Dates are fixed (2025): nothing depends on the day it runs. A step that stores
fewer rows than it was given is refused (status 1, one line, no figures).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import (
    Refused,
    bench_url,
    free_port,
    machine,
    setup_django,
    start_gunicorn,
    timed,
)

START = datetime(2025, 1, 1, tzinfo=UTC)


def build_book():
    from contracts.models import Contract, ContractService, Organization, Service, ServiceLevel

    provider, _ = Organization.objects.get_or_create(
        slug="bench-integrations", defaults={"name": "Bench provider", "kind": "provider"}
    )
    customer, _ = Organization.objects.get_or_create(
        slug="bench-integrations-customer", defaults={"name": "Bench customer", "kind": "customer"}
    )
    contract, _ = Contract.objects.get_or_create(
        provider=provider,
        reference="BENCH-INTEGRATIONS",
        defaults={
            "customer": customer,
            "title": "Integrations benchmark",
            "currency": "EUR",
            "start_date": datetime(2024, 1, 1).date(),
            "status": "active",
            "settlement_period": "month",
        },
    )
    service, _ = Service.objects.get_or_create(
        provider=provider, code="bench-web", defaults={"name": "Web"}
    )
    cs, _ = ContractService.objects.get_or_create(
        contract=contract, service=service, defaults={"fee": Decimal("1000")}
    )
    ServiceLevel.objects.get_or_create(
        provider=provider,
        level="corporate",
        key="latency",
        defaults={
            "name": "Latency",
            "indicator": "threshold",
            "target": Decimal("95"),
            "threshold": Decimal("0.3"),
            "threshold_comparator": "lte",
        },
    )
    ServiceLevel.objects.get_or_create(
        provider=provider,
        level="corporate",
        key="availability",
        defaults={"name": "Availability", "indicator": "uptime", "target": Decimal("99.9")},
    )
    return provider, cs


def count_samples() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contracts_measurement")
        return cursor.fetchone()[0]


def truncate(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


def value(t: float) -> str:
    # Latencies as Prometheus writes them: binary floats in text.
    return repr(0.1 + (int(t) // 60 % 37) / 100)


def pull_run(provider, cs, points: int, series: int) -> tuple[float, int]:
    from django.conf import settings

    from integrations import services
    from integrations.models import PrometheusPull, PrometheusSource
    from tests.integrations.fake_prometheus import FakePrometheus, serve

    settings.PROMETHEUS_ALLOW_PRIVATE_TARGETS = True
    fake = FakePrometheus(value=value, series=series)
    server, _ = serve(fake)
    try:
        PrometheusPull.objects.filter(contract_service=cs).delete()
        PrometheusSource.objects.filter(organization=provider).delete()
        source = services.save_source(
            source=PrometheusSource(
                organization=provider, name="bench", base_url=fake.url, timeout_seconds=120
            )
        )
        pull = services.save_pull(
            pull=PrometheusPull(
                source=source, contract_service=cs, key="latency", query="latency", start_at=START
            )
        )
        steps = points // series
        now = START + timedelta(minutes=steps)  # the last step pulled is one before now
        with timed() as elapsed:
            outcome = services.pull(pull_id=pull.pk, now=now)
        if outcome.error:
            raise Refused("bench.integrations", f"the pull failed: {outcome.error}")
        return elapsed[0], outcome.recorded
    finally:
        server.shutdown()
        server.server_close()


def baseline_run(cs, points: int, series: int) -> float:
    """The same points as the pull records them, through the measurement service."""
    from contracts.services import record_measurements

    steps = points // series
    items = [
        {
            "contract_service": cs.pk,
            "key": "latency",
            "observed_at": START + timedelta(minutes=step),
            "value": Decimal(value(START.timestamp() + step * 60)).quantize(Decimal("0.000001")),
        }
        for step in range(steps)
        for _ in range(series)
    ]
    with timed() as elapsed:
        for offset in range(0, len(items), 10_000):
            record_measurements(items=items[offset : offset + 10_000])
    return elapsed[0]


# The receiver's and the list's loads alternate this many times.
ROUNDS = 8


def rounds(total: int, count: int) -> list[tuple[int, int]]:
    """``count`` consecutive ranges covering ``range(total)``, each of an even length but
    the last (a firing alert and its resolution stay in one round)."""
    size = max(2, total // count // 2 * 2)
    starts = list(range(0, total, size))
    return [(start, min(start + size, total)) for start in starts]


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def receiver_run(provider, cs, url: str, requests_total: int, senders: int) -> None:
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from contracts.models import Incident, Membership
    from integrations import services
    from integrations.models import AlertMapping, Receiver

    Receiver.objects.filter(organization=provider).delete()
    receiver, secret = services.create_receiver(
        receiver=Receiver(organization=provider, kind="alertmanager", name="bench")
    )
    services.save_mapping(
        mapping=AlertMapping(
            receiver=receiver, matchers={"service": "web"}, contract_service=cs, key="availability"
        )
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-integrations")
    Membership.objects.get_or_create(user=user, organization=provider, defaults={"role": "editor"})
    token, _ = Token.objects.get_or_create(user=user)
    Incident.objects.filter(contract_service=cs).delete()

    port = free_port()
    server = start_gunicorn(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                requests.get(f"{base}/accounts/login/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        local = threading.local()

        def session() -> requests.Session:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            return local.session

        def alert(n: int) -> float:
            starts = START + timedelta(minutes=n)
            firing = n % 2 == 0
            body = {
                "version": "4",
                "status": "firing" if firing else "resolved",
                "receiver": "sla-portal",
                "groupKey": '{}:{service="web"}',
                "truncatedAlerts": 0,
                "groupLabels": {"service": "web"},
                "commonLabels": {"service": "web"},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager.bench:9093",
                "alerts": [
                    {
                        "status": "firing" if firing else "resolved",
                        "labels": {"alertname": "Down", "service": "web", "n": str(n // 2)},
                        "annotations": {},
                        "startsAt": (START + timedelta(minutes=n // 2 * 2)).isoformat(),
                        "endsAt": "0001-01-01T00:00:00Z"
                        if firing
                        else (starts + timedelta(minutes=1)).isoformat(),
                        "generatorURL": "",
                        "fingerprint": f"{n // 2:016x}",
                    }
                ],
            }
            began = time.perf_counter()
            answer = session().post(
                f"{base}/hooks/{receiver.public_id}/",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
                timeout=60,
            )
            took = time.perf_counter() - began
            if answer.status_code != 200 or answer.json()["refused"]:
                raise Refused("bench.integrations", f"receiver answered {answer.text[:200]}")
            return took

        def listing(_: int) -> float:
            began = time.perf_counter()
            answer = session().get(
                f"{base}/api/v1/contracts/",
                headers={"Authorization": f"Token {token.key}"},
                timeout=60,
            )
            took = time.perf_counter() - began
            if answer.status_code != 200:
                raise Refused("bench.integrations", f"list answered {answer.status_code}")
            return took

        # Warm both paths (imports, connections) before measuring either.
        list(ThreadPoolExecutor(senders).map(listing, range(senders)))
        # The two loads take turns in rounds, so that both meet the same outside load (a
        # shared machine's changes from one minute to the next) rather than one the first
        # half of the run and the other the second.
        alert_latencies: list[float] = []
        list_latencies: list[float] = []
        alert_seconds = 0.0
        for first, last in rounds(requests_total, ROUNDS):
            with timed() as elapsed, ThreadPoolExecutor(senders) as pool:
                alert_latencies += pool.map(alert, range(first, last))
            alert_seconds += elapsed[0]
            with ThreadPoolExecutor(senders) as pool:
                list_latencies += pool.map(listing, range(first, last))
        incidents = Incident.objects.filter(contract_service=cs).count()
        if incidents != requests_total // 2:
            raise Refused(
                "bench.integrations",
                f"the receiver recorded {incidents:,} incidents of {requests_total // 2:,}",
            )
        alert_p99, list_p99 = p99(alert_latencies), p99(list_latencies)
        print(
            f"receiver: {requests_total:,} deliveries from {senders} senders in "
            f"{alert_seconds:6.2f} s = {requests_total / alert_seconds:8,.0f} alerts/s; "
            f"p99 {alert_p99 * 1000:6.1f} ms"
        )
        print(
            f"list endpoint (GET /api/v1/contracts/, same load): p99 {list_p99 * 1000:6.1f} ms; "
            f"ratio {alert_p99 / list_p99:.2f} (target ≤ 1.50)"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--receiver", action="store_true", help="also the receiver under load")
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--senders", type=int, default=16)
    args = parser.parse_args()
    if args.points < args.series or args.series <= 0 or args.requests < 2 or args.senders < 1:
        parser.error("--points ≥ --series > 0, --requests ≥ 2 and --senders ≥ 1")
    url = setup_django(bench_url("bench_integrations"))
    print(f"machine: {machine()}")
    provider, cs = build_book()
    points = args.points // args.series * args.series

    truncate("contracts_measurement")
    baseline = baseline_run(cs, points, args.series)
    if count_samples() != points:
        raise Refused(
            "bench.integrations", f"the baseline stored {count_samples():,} of {points:,}"
        )
    print(
        f"measurement service: {points:,} points in {baseline:6.2f} s = "
        f"{points / baseline:10,.0f}/s"
    )
    truncate("contracts_measurement")
    seconds, recorded = pull_run(provider, cs, points, args.series)
    if recorded != points or count_samples() != points:
        raise Refused("bench.integrations", f"the pull stored {count_samples():,} of {points:,}")
    print(
        f"Prometheus pull:     {points:,} points in {seconds:6.2f} s = "
        f"{points / seconds:10,.0f}/s; ratio to the service {seconds / baseline:.2f} "
        "(target ≤ 2.00)"
    )
    truncate("contracts_measurement")
    if args.receiver:
        receiver_run(provider, cs, url, args.requests, args.senders)


if __name__ == "__main__":
    main()
