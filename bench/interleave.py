"""Before and after, request by request: the dashboard (rendered again and cached) and the
customer's statement page of two or more source trees, timed in turn on one machine.

    git worktree add /tmp/tree-before <commit>      # with .venv linked to the checkout's
    (cd /tmp/tree-before && BENCH_DATABASE_URL=…_before python -m bench.dashboard)
    (cd /tmp/tree-before && BENCH_DATABASE_URL=…_reads_before python -m bench.reads \\
        --contracts 2 --years 1 --requests 16 --rounds 1 --clients 2)
    python -m bench.interleave \\
        --tree before=/tmp/tree-before,<dashboard db url>,<reads db url> \\
        --tree after=.,<dashboard db url>,<reads db url> [--rendered 40] [--cached 120] [--pages 80]

Each tree's books come from its own ``bench.dashboard`` (which also collects the tree's
static files into ``var/bench-dashboard``) and ``bench.reads`` (the small book above is
enough for the statement page). A tree's code runs in processes of its own (its
directory first on the path, ``DEBUG=0`` as in ``bench.dashboard``), two per tree: one
on its dashboard book, one on its reads book. This process sends each of them one request
at a time, the trees in turn and in a rotated order, so that a machine shared with others
slows every tree alike; a run of one tree after another's would compare two loads.

Requests, through Django's test client (server time: middleware, queries, templates):

- ``rendered``: the dashboard with the cache emptied first (the first view after a change);
- ``cached``: the dashboard again (every other view);
- ``page``: the statement page of bench.reads' measured customer, its latest ten in turn.

Prints per tree and kind p50, p90 and mean, the queries of one request, the page size,
and each tree against the first: the ratio of the p50s and of the p90s, and the median of
the ratios of requests sent one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("rendered", "cached", "page")


def _worker(book: str, url: str) -> None:
    """Serve one tree's requests: one line in (the kind), one line out (milliseconds)."""
    sys.path.insert(0, os.getcwd())
    from bench import dashboard as bench_dashboard
    from bench.common import setup_django

    bench_dashboard._production_like_env()
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    if book == "dashboard":
        user = get_user_model().objects.get(username=bench_dashboard.USERNAME)
        paths = {"rendered": [reverse("dashboard")], "cached": [reverse("dashboard")]}
    else:
        from contracts.models import Organization
        from credits.models import Statement

        customer = Organization.objects.filter(kind="customer").order_by("pk")[0]
        user = get_user_model().objects.get(
            memberships__organization=customer, memberships__role="viewer"
        )
        latest = Statement.objects.filter(contract__customer=customer).order_by(
            "-period_start", "contract_id"
        )
        paths = {
            "page": [
                reverse("statement-detail", args=[pk])
                for pk in latest.values_list("pk", flat=True)[:10]
            ]
        }
    client = Client()
    client.force_login(user)
    sent = dict.fromkeys(paths, 0)

    def get(kind: str) -> tuple[float, int]:
        if kind == "rendered":
            cache.clear()
        path = paths[kind][sent[kind] % len(paths[kind])]
        sent[kind] += 1
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: status {response.status_code}")
        return elapsed, len(response.content)

    info = {}
    for kind in paths:
        for _ in range(3):  # warm-up: imports, templates, database caches
            get(kind)
        executed: list[str] = []

        def count(execute, sql, params, many, context, executed=executed):  # type: ignore[no-untyped-def]
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            _, size = get(kind)
        info[kind] = {"queries": len(executed), "bytes": size}
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        print(f"{get(line.strip())[0]:.3f}", flush=True)


@dataclass
class Tree:
    name: str
    path: Path
    urls: dict[str, str]
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    info: dict[str, dict[str, int]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})


def _tree(value: str) -> Tree:
    try:
        name, rest = value.split("=", 1)
        path, dashboard_url, reads_url = rest.split(",")
    except ValueError:
        raise argparse.ArgumentTypeError(
            "a tree is name=path,dashboard database URL,reads database URL"
        ) from None
    return Tree(name, Path(path).resolve(), {"dashboard": dashboard_url, "reads": reads_url})


def _start(tree: Tree) -> None:
    for book in ("dashboard", "reads"):
        tree.workers[book] = subprocess.Popen(
            [sys.executable, __file__, "--worker", book, tree.urls[book]],
            cwd=tree.path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    for book, worker in tree.workers.items():
        line = worker.stdout.readline()
        if not line:
            raise SystemExit(f"{tree.name}: the {book} worker stopped (see above)")
        tree.info.update(json.loads(line))


def _ask(tree: Tree, kind: str) -> float:
    worker = tree.workers["reads" if kind == "page" else "dashboard"]
    worker.stdin.write(kind + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        raise SystemExit(f"{tree.name}: its worker stopped during a {kind} request")
    return float(line)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.interleave", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--tree", type=_tree, action="append", default=[])
    parser.add_argument("--rendered", type=int, default=40)
    parser.add_argument("--cached", type=int, default=120)
    parser.add_argument("--pages", type=int, default=80)
    parser.add_argument("--worker", nargs=2, metavar=("BOOK", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(*args.worker)
        return 0
    if len(args.tree) < 2:
        parser.error("name at least two --tree, the first being the baseline")
    counts = {"rendered": args.rendered, "cached": args.cached, "page": args.pages}
    if min(counts.values()) < 1:
        parser.error("--rendered, --cached and --pages must be at least 1")
    trees: list[Tree] = args.tree
    try:
        for tree in trees:
            _start(tree)
        load = os.getloadavg()[0]
        started = time.strftime("%H:%M:%S", time.gmtime())
        rounds = max(counts.values())
        for n in range(rounds):
            order = trees[n % len(trees) :] + trees[: n % len(trees)]
            for kind in KINDS:
                if n < counts[kind]:
                    for tree in order:
                        tree.times[kind].append(_ask(tree, kind))
    finally:
        for tree in trees:
            for worker in tree.workers.values():
                worker.stdin.close()
                worker.wait(timeout=60)
    print(
        f"{started}–{time.strftime('%H:%M:%S', time.gmtime())} UTC, load average "
        f"{load:.1f} → {os.getloadavg()[0]:.1f}; the trees in turn, request by request"
    )
    base = trees[0]
    for kind in KINDS:
        print(f"{kind} ({counts[kind]} requests per tree):")
        for tree in trees:
            ms = tree.times[kind]
            line = (
                f"  {tree.name:>10}: p50 {statistics.median(ms):7.1f} ms, p90 {_p90(ms):7.1f} ms,"
                f" mean {statistics.fmean(ms):7.1f} ms; {tree.info[kind]['queries']} queries,"
                f" {tree.info[kind]['bytes']:,} bytes"
            )
            if tree is not base:
                own, first = ms, base.times[kind]
                paired = statistics.median(a / b for a, b in zip(own, first, strict=True))
                line += (
                    f"; ÷ {base.name}: p50 {statistics.median(own) / statistics.median(first):.2f},"
                    f" p90 {_p90(own) / _p90(first):.2f}, paired {paired:.2f}"
                )
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
