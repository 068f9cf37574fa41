"""``/metrics``: Prometheus figures of the web processes and of the book.

Two kinds, so that any number of gunicorn workers on any number of machines answer alike:

- Counted in the process (django-prometheus' requests and latencies, the samples recorded
  by ``contracts.services.record_measurements``). Under gunicorn each worker writes them to
  files in ``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn.conf.py``) and a scrape adds up
  every worker of that machine; without the directory (``runserver``, tests) the process'
  own registry is served.
- Read from the database at scrape time (statements issued, the settlement backlog and its
  lag, deliveries pending and failed per channel, the announcement outbox), at most once
  per ``METRICS_BOOK_SECONDS``: the same on every machine, and never lost when a process
  restarts.

Only addresses in ``METRICS_ALLOWED_IPS`` (loopback by default) or a request carrying
``Authorization: Bearer <METRICS_TOKEN>`` may read it; anyone else gets a 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime

import prometheus_client
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from credits.selectors import operations

BOOK_CACHE_KEY = "metrics:book"


@dataclass(frozen=True, slots=True)
class BookFigures:
    statements_issued: int
    due_periods: int
    oldest_due_since: datetime | None
    deliveries: dict[tuple[str, str], int]
    outbox_size: int


def _read_book() -> BookFigures:
    backlog = operations.settlement_backlog(timezone.now())
    return BookFigures(
        statements_issued=operations.statements_issued(),
        due_periods=backlog.due,
        oldest_due_since=backlog.oldest_due_since,
        deliveries=operations.deliveries_by_channel_and_status(),
        outbox_size=operations.outbox_size(),
    )


def book_figures() -> BookFigures:
    """The book's figures, read at most once per ``METRICS_BOOK_SECONDS`` (through the
    cache, shared by every server with ``CACHE_URL``): finding what is due is the sweep's
    own query, and Prometheus asks every server every few seconds."""
    seconds = settings.METRICS_BOOK_SECONDS
    if seconds <= 0:
        return _read_book()
    return cache.get_or_set(BOOK_CACHE_KEY, _read_book, seconds)


class BookCollector:
    """The figures the database holds, as Prometheus metrics."""

    def collect(self):
        book = book_figures()
        statements = CounterMetricFamily(
            "slaportal_statements_issued",
            "Statements issued, every revision counted (from the database).",
        )
        statements.add_metric([], book.statements_issued)
        yield statements

        due = GaugeMetricFamily(
            "slaportal_settlement_due_periods",
            "Contract periods due for settlement and still without a statement.",
        )
        due.add_metric([], book.due_periods)
        yield due
        lag = GaugeMetricFamily(
            "slaportal_sweep_lag_seconds",
            "How long the oldest due, unsettled contract period has been due (0 when none).",
        )
        # From the time of the scrape: a lag read from the cache still grows.
        backlog = operations.SettlementBacklog(book.due_periods, book.oldest_due_since)
        lag.add_metric([], backlog.lag_seconds(timezone.now()))
        yield lag

        deliveries = GaugeMetricFamily(
            "slaportal_deliveries",
            "E-mail and webhook deliveries pending or failed, by channel.",
            labels=["channel", "status"],
        )
        for (channel, status), count in book.deliveries.items():
            deliveries.add_metric([channel, status], count)
        yield deliveries

        outbox = GaugeMetricFamily(
            "slaportal_outbox_size",
            "Issued statements whose parties are yet to be notified (announcement outbox).",
        )
        outbox.add_metric([], book.outbox_size)
        yield outbox


def _process_registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return prometheus_client.REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_NETWORKS)


def _token_given(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def may_read_metrics(request: HttpRequest) -> bool:
    """The peer address, as the server saw it (``REMOTE_ADDR``; a forwarded header could
    be forged), is allowed, or the request carries the token."""
    return _token_given(request) or _address_allowed(request.META.get("REMOTE_ADDR", ""))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        return HttpResponse(
            "Metrics are readable from METRICS_ALLOWED_IPS or with the METRICS_TOKEN.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    book = CollectorRegistry(auto_describe=False)
    book.register(BookCollector())
    body = prometheus_client.generate_latest(_process_registry())
    body += prometheus_client.generate_latest(book)
    response = HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
