"""Ingestion benchmark: samples/s through the service function (and the HTTP API) vs COPY.

    python -m bench.ingest [--samples 1000000] [--batch 10000] [--http] [--http-batch 5000]

Measures, in the same run and on the same rows: ``psql``'s text ``COPY`` of the rows from a
file (the baseline), psycopg's ``COPY`` of the rows typed in Python (``write_row``),
``contracts.services.record_measurements`` in batches (validation and all), and with
``--http`` the ``POST /api/v1/measurements/`` endpoint under gunicorn with two workers and
two clients. Prints samples/s and the ratio of each to ``psql``'s ``COPY``. Targets:
service ≥ 0.6, HTTP ≥ 0.4. Runs in its own database (``slaportal_bench_ingest``;
``$BENCH_DATABASE_URL`` overrides), whose measurements it empties between steps. The
samples' dates are fixed (October 2026): nothing depends on the day it runs. A step that
stores fewer rows than it was given is refused (status 1, one line, no figures).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import (
    Refused,
    bench_url,
    free_port,
    machine,
    progress,
    setup_django,
    start_gunicorn,
    timed,
)

# Ratios to psql's text COPY of the same rows (issue 19).
SERVICE_TARGET = 0.6
HTTP_TARGET = 0.4


def build_book(services: int = 10):
    from contracts.models import Contract, ContractService, Organization, Service, ServiceLevel

    provider, _ = Organization.objects.get_or_create(
        slug="bench-ingest-provider", defaults={"name": "Bench provider", "kind": "provider"}
    )
    customer, _ = Organization.objects.get_or_create(
        slug="bench-ingest-customer", defaults={"name": "Bench customer", "kind": "customer"}
    )
    contract, _ = Contract.objects.get_or_create(
        provider=provider,
        reference="BENCH-INGEST",
        defaults={
            "customer": customer,
            "title": "Ingestion benchmark",
            "currency": "EUR",
            "start_date": datetime(2026, 1, 1).date(),
            "status": "active",
            "settlement_period": "month",
        },
    )
    ServiceLevel.objects.get_or_create(
        provider=provider,
        level="corporate",
        key="report-delivery",
        defaults={"name": "Reports on time", "indicator": "ratio", "target": Decimal("99")},
    )
    ServiceLevel.objects.get_or_create(
        provider=provider,
        level="corporate",
        key="speed",
        defaults={
            "name": "Speed",
            "indicator": "threshold",
            "target": Decimal("95"),
            "threshold": Decimal("100"),
            "threshold_comparator": "gte",
        },
    )
    ids = []
    for n in range(services):
        service, _ = Service.objects.get_or_create(
            provider=provider, code=f"bench-{n}", defaults={"name": f"Bench service {n}"}
        )
        cs, _ = ContractService.objects.get_or_create(
            contract=contract, service=service, defaults={"fee": Decimal("1000")}
        )
        ids.append(cs.pk)
    return provider, ids


def make_items(ids: list[int], count: int, seed: int = 7) -> list[dict]:
    """Samples as a monitoring system sends them: JSON-ish strings."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    items = []
    for n in range(count):
        at = (start + timedelta(seconds=n * 2)).isoformat()
        if n % 2:
            items.append(
                {
                    "contract_service": ids[n % len(ids)],
                    "key": "report-delivery",
                    "observed_at": at,
                    "ok": rng.random() < 0.99,
                }
            )
        else:
            items.append(
                {
                    "contract_service": ids[n % len(ids)],
                    "key": "speed",
                    "observed_at": at,
                    "value": f"{rng.uniform(80, 130):.2f}",
                }
            )
    return items


def check_stored(step: str, expected: int) -> None:
    """Refuse a step that stored fewer (or more) samples than it was given."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contracts_measurement")
        stored = cursor.fetchone()[0]
    if stored != expected:
        raise Refused("bench.ingest", f"{step} stored {stored:,} of {expected:,} samples")


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE contracts_measurement")


def copy_baseline(items: list[dict]) -> float:
    """COPY of the same rows, already typed: what PostgreSQL itself can take."""
    from django.db import connection, transaction

    rows = [
        (
            item["contract_service"],
            item["key"],
            datetime.fromisoformat(item["observed_at"]),
            Decimal(item["value"]) if "value" in item else None,
            item.get("ok"),
        )
        for item in items
    ]
    sql = "COPY contracts_measurement (contract_service_id, key, observed_at, value, ok) FROM STDIN"
    with timed() as elapsed, transaction.atomic(), connection.cursor() as cursor:  # noqa: SIM117
        # The raw psycopg cursor exists only inside Django's cursor context.
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    return elapsed[0]


def _copy_text(items: list[dict]) -> str:
    """The rows in COPY's text format, as a monitoring export would hand them to psql."""
    null = "\\N"
    lines = []
    for item in items:
        value = item.get("value")
        ok = item.get("ok")
        value_text = null if value is None else value
        ok_text = null if ok is None else "t" if ok else "f"
        lines.append(
            f"{item['contract_service']}\t{item['key']}\t{item['observed_at']}\t"
            f"{value_text}\t{ok_text}\n"
        )
    return "".join(lines)


def psql_copy_baseline(items: list[dict], url: str) -> float:
    """``psql``'s text ``COPY`` of the same rows from a file: the database's own pace, with
    no Python in the way (the issue's baseline)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as data:
        data.write(_copy_text(items))
    try:
        command = (
            "\\copy contracts_measurement (contract_service_id, key, observed_at, value, ok) "
            f"FROM '{data.name}'"
        )
        with timed() as elapsed:
            subprocess.run(
                ["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", command],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    finally:
        os.unlink(data.name)
    return elapsed[0]


def service_run(items: list[dict], batch: int) -> float:
    from contracts.services import record_measurements

    with timed() as elapsed:
        for offset in range(0, len(items), batch):
            record_measurements(items=items[offset : offset + batch])
            progress(min(offset + batch, len(items)), len(items), "service")
    return elapsed[0]


def http_run(items: list[dict], batch: int, provider, url: str) -> float:
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from contracts.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-ingest")
    Membership.objects.get_or_create(user=user, organization=provider, defaults={"role": "editor"})
    token, _ = Token.objects.get_or_create(user=user)
    port = free_port()
    server = start_gunicorn(url, port)
    try:
        session = requests.Session()
        endpoint = f"http://127.0.0.1:{port}/api/v1/measurements/"
        for _ in range(100):
            try:
                session.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
                break
            except requests.RequestException:  # not up yet, or too slow under load
                time.sleep(0.2)
        bodies = [
            json.dumps(items[offset : offset + batch]).encode()
            for offset in range(0, len(items), batch)
        ]
        headers = {"Authorization": f"Token {token.key}", "Content-Type": "application/json"}
        done = 0

        def post(body: bytes) -> int:
            response = requests.post(endpoint, data=body, headers=headers, timeout=120)
            if response.status_code != 201:
                raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
            return response.json()["created"]

        with timed() as elapsed, ThreadPoolExecutor(max_workers=2) as pool:
            for created in pool.map(post, bodies):
                done += created
                progress(done, len(items), "http   ")
        return elapsed[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--http", action="store_true", help="also measure the HTTP API")
    parser.add_argument("--http-batch", type=int, default=5_000)
    args = parser.parse_args()
    if args.samples <= 0 or not 0 < args.batch <= 10_000 or not 0 < args.http_batch <= 10_000:
        parser.error("--samples must be positive and batches between 1 and 10,000")
    url = setup_django(bench_url("bench_ingest"))
    print(f"machine: {machine()}")
    provider, ids = build_book()
    items = make_items(ids, args.samples)
    truncate()
    psql_seconds = psql_copy_baseline(items, url)
    check_stored("psql COPY", args.samples)
    psql_rate = args.samples / psql_seconds
    print(
        f"psql COPY (text): {args.samples:,} rows in {psql_seconds:6.2f} s = {psql_rate:10,.0f}/s"
    )
    truncate()
    copy_seconds = copy_baseline(items)
    check_stored("COPY", args.samples)
    copy_rate = args.samples / copy_seconds
    print(
        f"psycopg COPY (typed rows): {args.samples:,} rows in {copy_seconds:6.2f} s = "
        f"{copy_rate:10,.0f}/s"
    )
    truncate()
    service_seconds = service_run(items, args.batch)
    check_stored("the service function", args.samples)
    service_rate = args.samples / service_seconds
    print(
        f"service function:  {args.samples:,} rows in {service_seconds:6.2f} s = "
        f"{service_rate:10,.0f}/s  ratio to psql COPY {service_rate / psql_rate:.2f} "
        f"(target ≥ {SERVICE_TARGET}), to psycopg COPY {service_rate / copy_rate:.2f}"
    )
    if args.http:
        truncate()
        http_seconds = http_run(items, args.http_batch, provider, url)
        check_stored("the HTTP API", args.samples)
        http_rate = args.samples / http_seconds
        print(
            f"HTTP API (gunicorn, 2 workers, batches of {args.http_batch:,}): {http_seconds:6.2f} s"
            f" = {http_rate:10,.0f}/s  ratio to psql COPY {http_rate / psql_rate:.2f} "
            f"(target ≥ {HTTP_TARGET}), to psycopg COPY {http_rate / copy_rate:.2f}"
        )
    truncate()


if __name__ == "__main__":
    main()
