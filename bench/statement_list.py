"""Statement list benchmark: the filtered list page, its totals and its CSV of one row per
statement, over a customer's ``--statements`` statements (default 10,000).

The book is built fresh in a database of its own (``slaportal_statement_list``, dropped
and created): one customer, ``--contracts`` monthly contracts of its provider in EUR and
USD, each statement with one line (a third of them missed their target and earned a
credit), every seventh with an open dispute. Then, in this process through Django's test
client as the customer, ``--repeat`` times each:

- ``GET /statements/?with_credit=on&breached=on`` (the first page of 50 and the totals of
  every page per currency);
- ``GET /statements/list.csv?with_credit=on&breached=on`` consumed to the end.

Prints the median and worst time of each, their queries, the CSV's rows and bytes, and the
peak of Python memory (tracemalloc) while the CSV streams: the rows are read from the
database in chunks and written one by one, so the peak stays near one chunk's rows
whatever the number of statements.

    .venv/bin/python -m bench.statement_list --statements 10000 --contracts 50 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.common import Refused, bench_url, create_database, machine, setup_django

QUERY = "with_credit=on&breached=on"


def _drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _month_end(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)


def build(statements: int, contracts: int):
    """The customer's member and the number of statements that earned a credit and missed
    a target (what the filtered list holds)."""
    from django.db import connection
    from django.utils import timezone

    from contracts.models import Membership
    from credits.models import Dispute, Statement, StatementLine
    from tests.factories import (
        ContractFactory,
        ContractServiceFactory,
        CustomerFactory,
        MembershipFactory,
        ProviderFactory,
        UserFactory,
    )

    provider = ProviderFactory(name="Bench Networks", slug="bench")
    customer = CustomerFactory(name="Bench Customer", slug="bench-customer")
    member = UserFactory(username="bench-member")
    MembershipFactory(user=member, organization=customer, role=Membership.Role.VIEWER)
    services = [
        ContractServiceFactory(
            contract=ContractFactory(
                provider=provider,
                customer=customer,
                reference=f"BENCH-{n:03d}",
                currency="EUR" if n % 2 else "USD",
            )
        )
        for n in range(contracts)
    ]
    now = timezone.now()
    rows, months = [], -(-statements // contracts)
    first = date(2000, 1, 1)
    for m in range(months):
        start = date(first.year + m // 12, m % 12 + 1, 1)
        for cs in services:
            if len(rows) == statements:
                break
            credit = Decimal("12.50") if len(rows) % 3 == 0 else Decimal("0.00")
            rows.append(
                Statement(
                    contract_id=cs.contract_id,
                    period_start=start,
                    period_end=_month_end(start),
                    currency=cs.contract.currency,
                    fees_total=Decimal("1000.00"),
                    credit_total=credit,
                    fingerprint=f"{cs.contract_id}-{start}",
                    issued_at=now,
                )
            )
    created = Statement.objects.bulk_create(rows, batch_size=2000)
    lines = StatementLine.objects.bulk_create(
        [
            StatementLine(
                statement=s,
                contract_service_id=next(
                    cs.pk for cs in services if cs.contract_id == s.contract_id
                ),
                key="availability",
                name="Availability",
                source_level="corporate",
                indicator="ratio",
                comparator="gte",
                target=Decimal("99.5"),
                measure={},
                attainment=Decimal("98") if s.credit_total else Decimal("99.9"),
                met=not s.credit_total,
                fee=Decimal("1000.00"),
                amount=s.credit_total,
                explanation="Bench.",
            )
            for s in created
        ],
        batch_size=2000,
    )
    Dispute.objects.bulk_create(
        [Dispute(line=line, reason="Bench") for line in lines[::7]], batch_size=2000
    )
    # The planner's statistics, as autovacuum would have them on a database in use.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return member, sum(1 for s in created if s.credit_total)


def _get(client, url: str) -> tuple[int, int, int]:
    """Queries, rows and bytes of one read of ``url``, a streamed body read to the end."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        size = rows = 0
        if response.streaming:
            for chunk in response.streaming_content:
                size += len(chunk)
                rows += chunk.count(b"\n")
            rows -= 1  # the header
        else:
            size = len(response.content)
            rows = response.content.count(b"<tr data-statement=")
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries), rows, size


def measure(client, url: str, repeat: int) -> tuple[list[float], int, int, int, float]:
    """Times (s), queries, rows, bytes and the peak of Python memory (MB) of ``url``: a
    first read warms the templates up, ``repeat`` reads are timed, and one more is
    traced (tracemalloc slows every allocation, so it is not timed)."""
    _get(client, url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        queries, rows, size = _get(client, url)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    _get(client, url)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return times, queries, rows, size, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    url = bench_url("statement_list")
    _drop_database(url)
    create_database(url)
    setup_django(url)
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    print(machine())
    started = time.perf_counter()
    member, expected = build(args.statements, args.contracts)
    print(
        f"book: {args.statements:,} statements of {args.contracts} contracts, {expected:,} "
        f"with a credit and breached, built in {time.perf_counter() - started:.1f} s"
    )
    client = Client()
    client.force_login(member)
    for label, path in (("list", "/statements/"), ("csv", "/statements/list.csv")):
        times, queries, rows, size, peak = measure(client, f"{path}?{QUERY}", args.repeat)
        if label == "csv" and rows != expected:
            raise Refused("bench.statement_list", f"the CSV has {rows} rows, not {expected}")
        print(
            f"{label:4}: median {statistics.median(times) * 1000:.1f} ms, worst "
            f"{max(times) * 1000:.1f} ms; {queries} queries; {rows:,} rows, {size:,} bytes; "
            f"peak Python memory {peak:.1f} MB"
        )
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"ran at {at}")


if __name__ == "__main__":
    main()
