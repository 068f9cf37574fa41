"""Dashboard benchmark: server time and query count of a big customer's dashboard.

    python -m bench.dashboard [--requests 200] [--years 5] [--contracts 20] [--rebuild]

Database: ``$BENCH_DATABASE_URL``, by default its own
``postgres://postgres@127.0.0.1:5432/slaportal_bench_dashboard`` (created and migrated when
missing). Statements cannot be deleted (a trigger refuses it), so ``--rebuild`` drops and
recreates that database.

The book (built once with ``bulk_create``, then reused while the month and the arguments
are the same, built again otherwise): one customer with ``--contracts`` monthly contracts
(UTC) of two services each, ``--years`` years of issued statements up to last month (four
lines each: two objectives per service, about one period in twenty with a second
revision), early warnings and the progress of every objective in this month's open
period, 200 notifications and a few responsibility lapses; next to it as many contracts of
other customers with the same history, sharing the tables. A book of an earlier month
would show no open period and fewer months: the figures would measure a lighter page.

Then ``--requests`` GETs of the dashboard (after a warm-up) through Django's test client, as
a member of the customer, with ``DEBUG=0`` (production templates and static storage): the
content comes from the cache, as for every view until something on the page changes. Then a
quarter as many with the cache emptied before each: the content is computed and rendered
again, as on the first view after a change. Each request's wall time is the server time:
the whole middleware stack, every query and the template, without a network. Prints
p50/p90/p99 and the query count of one request of each kind, and the volume behind it.
Target: p99 under 300 ms for both. A page that shows less than the book (fewer statements,
contracts or open-period objectives) is refused: status 1, one line, no figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import engine
from bench.common import ROOT, SERVER, Refused, machine, setup_django, switch_database
from bench.generate import MARKER_TABLE, ensure_marker_table

TARGET_MS = 300.0
NAME = "slaportal_bench_dashboard"
VAR_DIR = ROOT / "var" / "bench-dashboard"
USERNAME = "bench-dashboard-customer"
PASSWORD = "bench dashboard password"


def _production_like_env() -> None:
    os.environ.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "bench-dashboard-" * 4,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",
            "AXES_ENABLED": "0",
            "SLAPORTAL_VAR_DIR": str(VAR_DIR),
            "LOG_LEVEL": "WARNING",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
    )


def _drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _this_month(now: datetime) -> date:
    """The first day of the open period of the book's contracts (monthly, UTC)."""
    return now.astimezone(UTC).date().replace(day=1)


def _months(years: int, this_month: date) -> list[date]:
    """The first days of the ``12 × years`` months before ``this_month``, oldest first."""
    first = this_month
    months = []
    for _ in range(12 * years):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def _month_end(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)


OBJECTIVES = (
    ("availability", "Availability", "uptime", Decimal("99.9")),
    ("report-delivery", "Reports on time", "ratio", Decimal("99.5")),
)


def _line_specs(rng: random.Random, contract_services: list) -> list[tuple]:
    """Two objectives per service, attainment 97–100 %, 1 % per started half point."""
    specs = []
    for cs in contract_services:
        for key, name, indicator, target in OBJECTIVES:
            attainment = Decimal(rng.randint(97_000, 100_000)) / 1000
            shortfall = max(Decimal(0), target - attainment)
            percent = min((shortfall / Decimal("0.5")).to_integral_value(ROUND_CEILING), 20)
            amount = engine.quantize_money(cs.fee * percent / 100, "EUR")
            specs.append((cs, key, name, indicator, target, attainment, percent, amount))
    return specs


def book_params(*, contracts: int, years: int, seed: int, this_month: date) -> dict[str, Any]:
    return {"contracts": contracts, "years": years, "seed": seed, "open": this_month.isoformat()}


def stored_book() -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The parameters and counts of the book in the database (None: no book, or an old one
    without its marker)."""
    from django.db import connection

    with connection.cursor() as cursor:
        ensure_marker_table(cursor)
        cursor.execute(f"SELECT params, summary FROM {MARKER_TABLE} WHERE name = 'dashboard'")
        row = cursor.fetchone()
    if row is None:
        return None
    params, summary = (json.loads(v) if isinstance(v, str) else v for v in row)
    return params, summary


def build_book(*, contracts: int, years: int, seed: int, this_month: date) -> dict[str, int]:
    """Write the book with bulk inserts (statements are immutable: inserted whole); returns
    what the measured customer's page must show, also stored in the marker."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from contracts.models import (
        Contract,
        ContractService,
        Membership,
        Organization,
        Responsibility,
        ResponsibilityLapse,
        Service,
        ServiceLevel,
    )
    from credits.models import (
        EarlyWarning,
        Notification,
        OpenPeriodProgress,
        Statement,
        StatementLine,
    )

    rng = random.Random(seed)
    months = _months(years, this_month)
    now = timezone.now()
    rule = {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "20"}
    with transaction.atomic():
        provider = Organization.objects.create(
            name="Bench Provider", slug="bench-provider", kind="provider"
        )
        services = [
            Service.objects.create(provider=provider, code=f"svc-{i}", name=f"Service {i}")
            for i in range(2)
        ]
        # The objectives the statement lines are computed against (_line_specs).
        corporate = [
            ServiceLevel.objects.create(
                level="corporate",
                provider=provider,
                key=key,
                name=name,
                indicator=indicator,
                target=target,
                credit_rule=rule,
            )
            for key, name, indicator, target in OBJECTIVES
        ]
        customers = [
            Organization.objects.create(
                name=f"Bench Customer {i}", slug=f"bench-customer-{i}", kind="customer"
            )
            for i in range(2)
        ]
        user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
        Membership.objects.create(user=user, organization=customers[0], role="viewer")
        all_contracts = []
        for owner in customers:
            for index in range(contracts):
                contract = Contract.objects.create(
                    provider=provider,
                    customer=owner,
                    reference=f"{owner.slug}-{index:02d}",
                    title=f"Managed service {index}",
                    currency="EUR",
                    start_date=months[0],
                    status="active",
                    settlement_period="month",
                    credit_cap_percent=Decimal("20"),
                )
                if index % 5 == 0:
                    ServiceLevel.objects.create(
                        level="customer",
                        provider=provider,
                        contract=contract,
                        key="availability",
                        name="Availability",
                        indicator="uptime",
                        target=Decimal("99.95"),
                        credit_rule=rule,
                    )
                for service in services:
                    ContractService.objects.create(
                        contract=contract, service=service, fee=Decimal("1500.00")
                    )
                all_contracts.append(contract)
        contract_services = list(
            ContractService.objects.filter(contract__in=all_contracts).select_related("contract")
        )
        by_contract: dict[int, list[ContractService]] = {}
        for cs in contract_services:
            by_contract.setdefault(cs.contract_id, []).append(cs)

        statements: list[Statement] = []
        line_specs: list[list[tuple]] = []
        for contract in all_contracts:
            for start in months:
                revisions = 2 if rng.random() < 0.05 else 1
                for revision in range(1, revisions + 1):
                    specs = _line_specs(rng, by_contract[contract.pk])
                    fees = sum((cs.fee for cs in by_contract[contract.pk]), Decimal(0))
                    at_risk = fees * contract.credit_cap_percent / 100
                    cap = engine.apply_cap([s[7] for s in specs], at_risk, "EUR")
                    statements.append(
                        Statement(
                            contract=contract,
                            period_start=start,
                            period_end=_month_end(start),
                            revision=revision,
                            currency="EUR",
                            fees_total=fees,
                            at_risk_amount=at_risk,
                            credit_total=cap.credit_total,
                            cap_adjustment=cap.cap_adjustment,
                            fingerprint=f"bench-{contract.pk}-{start}-{revision}",
                            issued_at=now,
                        )
                    )
                    line_specs.append(specs)
        Statement.objects.bulk_create(statements, batch_size=2000)
        lines = [
            StatementLine(
                statement=statement,
                contract_service=cs,
                key=key,
                name=name,
                source_level="corporate",
                indicator=indicator,
                comparator="gte",
                target=target,
                credit_rule=rule,
                measure={"ok": 0, "total": 0},
                attainment=attainment,
                met=percent == 0,
                fee=cs.fee,
                credit_percent=percent,
                amount=amount,
                explanation=f"{attainment} % against {target} %: {percent} % of the fee.",
            )
            for statement, specs in zip(statements, line_specs, strict=True)
            for cs, key, name, indicator, target, attainment, percent, amount in specs
        ]
        StatementLine.objects.bulk_create(lines, batch_size=5000)

        current = this_month
        mine = [cs for cs in contract_services if cs.contract.customer_id == customers[0].pk]
        EarlyWarning.objects.bulk_create(
            EarlyWarning(
                contract_service=cs,
                key="availability",
                period_start=current,
                state=rng.choice(["at_risk", "breached"]),
                attainment=Decimal("99.5"),
                message="Availability: at risk, at the current rate the period ends at 99.5 %.",
            )
            for cs in mine[::7]
        )
        # The open period so far, as the early-warning run records it for every objective.
        states = ["on_track"] * 8 + ["at_risk", "breached"]
        OpenPeriodProgress.objects.bulk_create(
            OpenPeriodProgress(
                contract_service=cs,
                key=level.key,
                period_start=current,
                period_end=_month_end(current),
                service_level=level,
                indicator=level.indicator,
                comparator=level.comparator,
                target=level.target,
                attainment=Decimal(rng.randint(98_000, 100_000)) / 1000,
                state=rng.choice(states),
                explanation="",
                measured_at=now,
            )
            for cs in contract_services
            for level in corporate
        )
        Notification.objects.bulk_create(
            Notification(
                user=user,
                organization=customers[0],
                event="statement_issued",
                title=f"Statement {i}",
                link="/statements/",
                read_at=None if i % 3 else now,
            )
            for i in range(200)
        )
        for contract in all_contracts[:contracts:4]:
            responsibility = Responsibility.objects.create(
                contract=contract, title="Name a representative"
            )
            for offset in range(3):
                start = now - timedelta(days=30 * offset + 3)
                ResponsibilityLapse.objects.create(
                    responsibility=responsibility, start=start, end=start + timedelta(hours=4)
                )
        shown = {
            "contracts": contracts,
            "statements": sum(s.contract.customer_id == customers[0].pk for s in statements),
        }
        with connection.cursor() as cursor:
            ensure_marker_table(cursor)
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} (name, params, summary) VALUES ('dashboard', %s, %s)",
                [
                    json.dumps(
                        book_params(
                            contracts=contracts, years=years, seed=seed, this_month=this_month
                        )
                    ),
                    json.dumps(shown),
                ],
            )
    print(
        f"book: {len(all_contracts)} contracts ({contracts} of the measured customer), "
        f"{len(statements):,} statements, {len(lines):,} lines",
        flush=True,
    )
    return shown


def contracts_in_progress(page: str) -> set[str]:
    """The contracts of which the dashboard shows an objective of the open period (its
    rows carry both ``data-contract`` and ``data-objective``)."""
    shown = set()
    for row in re.findall(r"<tr\b[^>]*>", page):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', row))
        if "data-objective" in attributes and "data-contract" in attributes:
            shown.add(attributes["data-contract"])
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--contracts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the book")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.years < 1 or args.contracts < 1:
        parser.error("--requests, --years and --contracts must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL") or f"{SERVER}/{NAME}"
    if args.rebuild:
        _drop_database(url)
    _production_like_env()
    setup_django(url)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url},
    )

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from credits.models import Statement, StatementLine

    this_month = _this_month(timezone.now())
    params = book_params(
        contracts=args.contracts, years=args.years, seed=args.seed, this_month=this_month
    )
    stored = stored_book()
    if stored is not None and stored[0] == params:
        print("book: reused (pass --rebuild for a new one)")
        shown = stored[1]
    else:
        if stored is not None or get_user_model().objects.filter(username=USERNAME).exists():
            # Statements cannot be deleted: the database is made again.
            print("book: built for another month or other arguments; building it again")
            connection.close()
            _drop_database(url)
            switch_database(url)
        started = time.perf_counter()
        shown = build_book(
            contracts=args.contracts, years=args.years, seed=args.seed, this_month=this_month
        )
        print(f"  built in {time.perf_counter() - started:.1f} s")
    user = get_user_model().objects.get(username=USERNAME)
    visible = Statement.objects.visible_to(user)
    if visible.count() != shown["statements"]:
        raise Refused(
            "bench.dashboard",
            f"the customer sees {visible.count():,} statements, not the book's "
            f"{shown['statements']:,}: pass --rebuild",
        )
    print(
        f"measured customer: {visible.values('contract').distinct().count()} contracts, "
        f"{visible.count():,} statements, "
        f"{StatementLine.objects.visible_to(user).count():,} lines; "
        f"whole book: {Statement.objects.count():,} statements"
    )

    client = Client()
    client.force_login(user)
    path = reverse("dashboard")
    for _ in range(5):  # warm-up: imports, template loading, database caches
        assert client.get(path).status_code == 200
    executed: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    # An execute wrapper, not connection.queries: the request reconnects and resets that log.
    with connection.execute_wrapper(count):
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    in_progress = contracts_in_progress(response.content.decode())
    if len(in_progress) < shown["contracts"]:
        raise Refused(
            "bench.dashboard",
            f"the page shows the open period of {len(in_progress)} of the customer's "
            f"{shown['contracts']} contracts; the figures would measure a lighter page",
        )
    cached_queries = len(executed)
    from django.core.cache import cache

    def measure(requests: int, *, cold: bool) -> list[float]:
        seconds = []
        for _ in range(requests):
            if cold:
                cache.clear()  # as after any change: the content is rendered again
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200
        return sorted(s * 1000 for s in seconds)

    def pct(ms: list[float], share: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(share * len(ms) + 0.5) - 1))]

    def line(ms: list[float]) -> str:
        return (
            f"p50 {pct(ms, 0.50):.1f} ms, p90 {pct(ms, 0.90):.1f} ms, "
            f"p99 {pct(ms, 0.99):.1f} ms, max {ms[-1]:.1f} ms, mean {statistics.fmean(ms):.1f} ms"
        )

    cached = measure(args.requests, cold=False)
    cold_count = max(1, args.requests // 4)
    cold = measure(cold_count, cold=True)
    cache.clear()
    executed.clear()
    with connection.execute_wrapper(count):
        client.get(path)
    cold_queries = len(executed)

    print(f"machine: {machine()}")
    print(f"dashboard server time over {args.requests} requests (content cached): {line(cached)}")
    print(f"  queries per request: {cached_queries}")
    print(
        f"dashboard server time over {cold_count} requests (cache emptied before each, the "
        f"content rendered again): {line(cold)}"
    )
    print(f"  queries per request: {cold_queries}")
    print(f"page size: {len(response.content):,} bytes")
    verdict = "met" if max(pct(cached, 0.99), pct(cold, 0.99)) < TARGET_MS else "MISSED"
    print(f"target p99 < {TARGET_MS:.0f} ms, cached and rendered again: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
