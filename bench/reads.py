"""Read benchmark: latency of the customer's statements and dashboard under concurrency.

    python -m bench.reads [--requests 800] [--clients 16] [--years 5] [--contracts 20]

Builds (or reuses) in its own database (``slaportal_bench_reads``) a book in which one
customer holds ``--contracts`` monthly contracts with ``--years`` years of issued
statements (settled by the real ``settle_period``), next to ten times as many contracts of
other customers with their last three months settled. The book's months are the latest
ones due for every contract whatever the day (see ``bench.generate``); a customer with
fewer statements than ``--contracts`` × 12 × ``--years`` is refused (status 1, one line).
Starts gunicorn with 2 workers (``DEBUG=0``, persistent database connections) on 127.0.0.1
and, after a warm-up, sends each endpoint ``--requests`` requests from
``--clients`` concurrent clients (a thread each, with its own ``requests.Session``), in
rounds that alternate the endpoints so that a noisy neighbour hits them all alike:

- ``GET /api/v1/statements/?page_size=20`` (pages 1–10) as the customer: 20 statements
  per page with their lines;
- the customer's statement page (``/statements/<id>/``, the latest ten statements);
- the customer's dashboard page (URL name ``dashboard``), when it exists;
- the baseline: ``GET /api/v1/organizations/?page_size=50`` as an operator, a plain
  50-row DRF list.

Prints p50/p90/p99 and throughput per endpoint and each one's p99 against the baseline's.
Targets: p99 ≤ 150 ms and ≤ 1.5× the plain list.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.common import (
    Refused,
    bench_url,
    free_port,
    machine,
    process_env,
    progress,
    setup_django,
    start_gunicorn,
)
from tests.processes import wait_for

P99_TARGET_MS = 150.0
PLAIN_STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
RATIO_TARGET = 1.5


@dataclass
class Endpoint:
    name: str
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any], str | None] = lambda response: None
    latencies: list[float] = field(default_factory=list)
    # One client at a time: the time a worker spends on a request, without queueing.
    alone: list[float] = field(default_factory=list)
    errors: int = 0
    reported: bool = False
    seconds: float = 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


# --------------------------------------------------------------------------- the book


def prepare_book(contracts: int, years: int, seed: int) -> tuple[dict[str, Any], int]:
    """The book and its statements; returns its summary and the number of statements."""
    from django.db import connection
    from django.utils import timezone

    from bench.generate import BookSpec, loaded_book, write_book
    from contracts.models import Contract
    from credits.models import Statement
    from credits.settlement import due_periods, settle_period

    # Ten times as many contracts of other customers: their statements share the tables,
    # and the book has over 50 organisations for the plain 50-row list.
    spec = BookSpec(
        contracts=contracts * 11,
        months=12 * years,
        samples_per_objective=20,
        seed=seed,
        periods=("month",),
        all_active=True,
        first_customer_contracts=contracts,
    )
    summary = loaded_book(spec)
    with connection.cursor() as cursor:
        cursor.execute("SELECT params FROM bench_book WHERE name = 'statements'")
        row = cursor.fetchone()
    settled = row is not None and summary is not None
    if settled:
        print("book: reused, with its statements (bench_book marker matches)")
    else:
        if summary is None:
            summary = write_book(spec, report=lambda line: print(f"  {line}", flush=True))
        contracts_by_id = {c.pk: c for c in Contract.objects.all()}
        mine = {pk for pk, c in contracts_by_id.items() if c.customer_id == measured_customer()}
        # The book's periods only: on the first days of a month some contracts already owe
        # the month after the book, which has no samples.
        until = date.fromisoformat(summary["last_day"])
        in_book = [(c, d) for c, d in due_periods(timezone.now()) if d <= until]
        recent = set(sorted({d for _, d in in_book})[-3:])
        # The customer's whole history; the others' last three months.
        due = [(c, d) for c, d in in_book if c in mine or d in recent]
        started = time.perf_counter()
        for done, (contract_id, start) in enumerate(due, start=1):
            # announce=False: no notification e-mails for 60 months of history.
            settle_period(
                contract=contracts_by_id[contract_id],
                period_start=start,
                only_if_unsettled=True,
                announce=False,
            )
            if done % 50 == 0 or done == len(due):
                progress(done, len(due), "settling")
        print(f"  {len(due):,} statements settled in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_book (name, params, summary) VALUES ('statements', %s, %s)",
                [json.dumps(spec.key()), json.dumps({"statements": len(due)})],
            )
    return summary, Statement.objects.count()


def measured_customer() -> int:
    """The measured customer: the first one, which holds ``--contracts`` contracts."""
    from contracts.models import Organization

    return (
        Organization.objects.filter(kind="customer").order_by("pk").values_list("pk", flat=True)[0]
    )


def credentials() -> tuple[str, str, str, int, int]:
    """The customer's token and session, an operator's token; the customer's statement and
    contract counts."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from contracts.models import Contract, Organization
    from credits.models import Statement

    user_model = get_user_model()
    customer = Organization.objects.get(pk=measured_customer())
    member = user_model.objects.get(memberships__organization=customer, memberships__role="viewer")
    token, _ = Token.objects.get_or_create(user=member)
    session = SessionStore()
    session[SESSION_KEY] = str(member.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = member.get_session_auth_hash()
    session.save()
    operator, _ = user_model.objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True, "email": "operator@example.com"}
    )
    operator_token, _ = Token.objects.get_or_create(user=operator)
    statements = Statement.objects.filter(contract__customer=customer).count()
    contracts = Contract.objects.filter(customer=customer).count()
    return token.key, session.session_key, operator_token.key, statements, contracts


# --------------------------------------------------------------------------- the server


# --------------------------------------------------------------------------- load


def load(
    base: str,
    endpoint: Endpoint,
    count: int,
    clients: int,
    record: bool = True,
    alone: bool = False,
) -> None:
    """``count`` requests to the endpoint from ``clients`` threads, closed loop."""
    import requests

    local = threading.local()

    def one(n: int) -> tuple[str, Any]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(endpoint.headers)
            for name, value in endpoint.cookies.items():
                session.cookies.set(name, value, domain="127.0.0.1")
        path = endpoint.paths[n % len(endpoint.paths)]
        start = time.perf_counter()
        response = session.get(base + path, timeout=60)
        elapsed = time.perf_counter() - start
        if alone:
            endpoint.alone.append(elapsed)
        elif record:
            endpoint.latencies.append(elapsed)
        return path, response

    # The client's own garbage collection would pause all its threads at once and be
    # charged to the server: collected before the clock starts, off while it runs.
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            responses = list(pool.map(one, range(count)))
        if record and not alone:
            endpoint.seconds += time.perf_counter() - started
    finally:
        gc.enable()
    # Every response is checked, after the clock: decoding a page in one of the client's
    # threads would hold the GIL that the others need to read theirs, and inflate the
    # latency of large responses by the client's own work.
    for path, response in responses:
        problem = (
            f"HTTP {response.status_code}" if response.status_code != 200 else None
        ) or endpoint.check(response)
        if problem and record and not alone:
            endpoint.errors += 1
        if problem and not endpoint.reported:
            endpoint.reported = True  # the first problem only: the count says the rest
            sys.stderr.write(f"\n  {endpoint.name} {path}: {problem}\n")


def check_statements(response: Any) -> str | None:
    body = response.json()
    results = body.get("results", [])
    if len(results) != 20 or not all(r.get("lines") for r in results):
        return f"expected 20 statements with lines, got {len(results)}"
    return None


def check_plain(response: Any) -> str | None:
    results = response.json().get("results", [])
    return None if len(results) == 50 else f"expected 50 rows, got {len(results)}"


def check_statement_page(response: Any) -> str | None:
    return None if 'class="line"' in response.text else "no statement line"


def check_dashboard(response: Any) -> str | None:
    return None if "<canvas" in response.text or "<svg" in response.text else "no chart"


PACKAGES = [
    ("rest_framework/", "DRF (serializers, renderer)"),
    ("django/template", "Django templates"),
    ("django/db", "Django ORM"),
    ("psycopg", "psycopg (waiting on PostgreSQL)"),
    ("/engine/", "credit engine (rule parsing, money)"),
    ("json", "JSON"),
    ("django/", "Django (other)"),
    ("credits/", "portal code"),
    ("contracts/", "portal code"),
]


def profile_in_process(endpoints: list[Endpoint], session_user: Any, requests: int = 20) -> None:
    """Each endpoint under cProfile in this process (Django's test client, no HTTP): time
    per request, queries, and where the time goes by package."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    print(f"profile (in this process, {requests} requests each, cProfile):")
    # The pages name static files: without collectstatic there is no manifest to read
    # their hashed names from, and DEBUG=0 would refuse every page that names one.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC_STORAGE}}
    with override_settings(
        ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, STORAGES=storages
    ):
        for endpoint in endpoints:
            client = Client()
            headers = {
                f"HTTP_{k.upper().replace('-', '_')}": v for k, v in endpoint.headers.items()
            }
            if endpoint.cookies:
                client.force_login(session_user)
            for path in endpoint.paths[:3]:
                client.get(path, **headers)  # warm
            queries = {"count": 0, "seconds": 0.0}

            def counting(
                execute: Any, sql: str, params: Any, many: bool, context: Any, box: dict = queries
            ) -> Any:
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    box["count"] += 1
                    box["seconds"] += time.perf_counter() - started

            profiler = cProfile.Profile()
            started = time.perf_counter()
            with connection.execute_wrapper(counting):
                profiler.enable()
                for n in range(requests):
                    client.get(endpoint.paths[n % len(endpoint.paths)], **headers)
                profiler.disable()
            seconds = time.perf_counter() - started
            by_package: dict[str, float] = {}
            stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
            for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
                label = next((lbl for key, lbl in PACKAGES if key in filename), "Python (other)")
                by_package[label] = by_package.get(label, 0.0) + tottime
            total = sum(by_package.values()) or 1
            shares = ", ".join(
                f"{label} {100 * value / total:.0f} %"
                for label, value in sorted(by_package.items(), key=lambda kv: -kv[1])
                if value / total >= 0.03
            )
            print(
                f"  {endpoint.name.split(':')[0]}: {1000 * seconds / requests:.1f} ms/request "
                f"under the profiler, {queries['count'] / requests:.0f} queries "
                f"({1000 * queries['seconds'] / requests:.1f} ms); by package: {shares}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reads", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=800, help="per endpoint")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--contracts", type=int, default=20, help="of the measured customer")
    parser.add_argument("--years", type=int, default=5, help="of monthly statements")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (gthread, keep-alive); 1: sync workers",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile each endpoint in this process"
    )
    args = parser.parse_args(argv)
    if not 16 <= args.requests <= 20_000 or not 1 <= args.clients <= 64:
        parser.error("--requests must be 16–20,000 and --clients 1–64")
    if not 1 <= args.contracts <= 200 or not 1 <= args.years <= 10:
        parser.error("--contracts must be 1–200 and --years 1–10")
    if not 1 <= args.rounds <= args.requests:
        parser.error("--rounds must be between 1 and --requests")
    if not 1 <= args.threads <= 16:
        parser.error("--threads must be 1–16")

    # The same secret as the server's, or it could not read the session made here.
    for name in ("CELERY_BROKER_URL", "SECRET_KEY"):
        os.environ[name] = process_env("")[name]
    url = setup_django(bench_url("bench_reads"))
    print(f"machine: {machine()}")
    summary, statements_total = prepare_book(args.contracts, args.years, args.seed)
    token, session_key, operator_token, statements, contracts = credentials()
    if statements < contracts * 12 * args.years:
        raise Refused(
            "bench.reads",
            f"the customer has {statements:,} statements, not the book's "
            f"{contracts * 12 * args.years:,} ({contracts} contracts × {12 * args.years} "
            "months): drop the database slaportal_bench_reads and run again",
        )
    print(
        f"book: {summary['contracts']:,} contracts, {statements_total:,} statements; the "
        f"customer: {contracts} contracts, {statements:,} statements "
        f"({statements // max(contracts, 1)} months each)"
    )
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    endpoints = [
        Endpoint(
            "plain list: GET /api/v1/organizations/?page_size=50 (operator)",
            ["/api/v1/organizations/?page_size=50"],
            headers={"Authorization": f"Token {operator_token}"},
            check=check_plain,
        ),
        Endpoint(
            "statements: GET /api/v1/statements/?page_size=20 (customer, pages 1-10)",
            [
                f"/api/v1/statements/?page_size=20&page={page}"
                for page in range(1, max(1, min(10, statements // 20)) + 1)
            ],
            headers={"Authorization": f"Token {token}"},
            check=check_statements,
        ),
    ]
    # The customer's statement page (HTML, session): the latest statements of the first
    # contracts, each with its lines, rules, explanations and revisions.
    from credits.models import Statement

    pages = [
        reverse("statement-detail", args=[pk])
        for pk in Statement.objects.filter(contract__customer_id=measured_customer())
        .order_by("-period_start", "contract_id")
        .values_list("pk", flat=True)[:10]
    ]
    endpoints.append(
        Endpoint(
            "statement page: GET /statements/<id>/ (customer, session, 10 statements)",
            pages,
            cookies={settings.SESSION_COOKIE_NAME: session_key},
            check=check_statement_page,
        )
    )
    try:
        dashboard = reverse("dashboard")
    except NoReverseMatch:
        print("dashboard: the URL name 'dashboard' does not exist yet; skipped")
    else:
        endpoints.append(
            Endpoint(
                f"dashboard: GET {dashboard} (customer, session)",
                [dashboard],
                cookies={settings.SESSION_COOKIE_NAME: session_key},
                check=check_dashboard,
            )
        )

    port = free_port()
    server = start_gunicorn(url, port, threads=args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        def answers() -> bool:
            try:
                requests.get(base + "/accounts/login/", timeout=2)
                return True
            except requests.RequestException:
                return False

        if not wait_for(answers, timeout=60, interval=0.3):
            raise SystemExit("gunicorn did not answer within 60 s")
        for endpoint in endpoints:
            load(base, endpoint, max(50, args.clients * 4), args.clients, record=False)
        for endpoint in endpoints:
            load(base, endpoint, 40, 1, alone=True)
        per_round = args.requests // args.rounds
        for round_number in range(args.rounds):
            for endpoint in endpoints:
                load(base, endpoint, per_round, args.clients)
            progress(round_number + 1, args.rounds, "rounds")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    workers = "sync" if args.threads == 1 else f"gthread, {args.threads} threads each"
    print(
        f"{args.clients} concurrent clients, gunicorn 2 workers ({workers}; DEBUG=0, "
        "DB_CONN_MAX_AGE=600), "
        f"{per_round * args.rounds} requests per endpoint in {args.rounds} alternating rounds:"
    )
    plain_p99 = percentile(endpoints[0].latencies, 0.99) * 1000
    for endpoint in endpoints:
        values = endpoint.latencies
        p50, p90, p99 = (percentile(values, q) * 1000 for q in (0.50, 0.90, 0.99))
        print(
            f"  {endpoint.name}\n"
            f"    p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  p99 {p99:6.1f} ms  mean "
            f"{statistics.fmean(values) * 1000:6.1f} ms  {len(values) / endpoint.seconds:6.1f} "
            f"req/s  errors {endpoint.errors}"
            + ("" if endpoint is endpoints[0] else f"  p99 ratio to plain {p99 / plain_p99:.2f}")
            + f"\n    one client alone: p50 {percentile(endpoint.alone, 0.5) * 1000:6.1f} ms"
        )
    print("targets:")
    for endpoint in endpoints[1:]:
        p99 = percentile(endpoint.latencies, 0.99) * 1000
        short = endpoint.name.split(":")[0]
        print(
            f"  {short}: p99 {p99:.0f} ms ≤ {P99_TARGET_MS:.0f} ms: "
            f"{'met' if p99 <= P99_TARGET_MS else 'MISSED'}; ratio {p99 / plain_p99:.2f} ≤ "
            f"{RATIO_TARGET}: {'met' if p99 / plain_p99 <= RATIO_TARGET else 'MISSED'}"
        )
    if args.profile:
        from django.contrib.auth import get_user_model

        member = get_user_model().objects.get(
            memberships__organization_id=measured_customer(), memberships__role="viewer"
        )
        profile_in_process(endpoints, member)
    return 0 if all(endpoint.errors == 0 for endpoint in endpoints) else 1


if __name__ == "__main__":
    raise SystemExit(main())
