"""A threshold objective with about one sample an hour (as many rollups as samples):
settling from the rollups gives the statement the samples give, also once part of the
period's samples went with a month detached by the retention (the kept counts of its hours
stay and answer for them)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection

from contracts.services.partitions import maintain_partitions
from credits.settlement import compute_period
from tests.credits.settlement_book import at, contract, objective, samples, service

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="rollups are PostgreSQL's"),
]

# Under one valued sample an hour on average: some hours have two, most one or none.
VALUES = [150, 250, None, 199.5, 200, 200.000001, 12, 480] * 60
EVERY = timedelta(minutes=55)


def sparse_book(tz: str = "UTC"):
    c = contract(tz=tz, start=date(2030, 1, 1))
    cs = service(c)
    objective(
        c,
        key="latency",
        indicator="threshold",
        target="90",
        threshold="200",
        threshold_comparator="lte",
        rule={"kind": "per_step", "step": "1", "percent": "2"},
    )
    return c, cs


def figures(c, start: date) -> tuple:
    statement = compute_period(contract=c, period_start=start)
    return statement.fingerprint, [line.figures for line in statement.lines]


def test_a_sparse_threshold_settles_the_same_after_part_of_its_samples_were_detached(
    settings,
):
    # April in Berlin begins on 31 March at 22:00 UTC: two hours of its samples lie in the
    # UTC month that the retention detaches.
    c, cs = sparse_book(tz="Europe/Berlin")
    samples(cs, "latency", at(2030, 3, 31, 22, 10), values=VALUES, every=EVERY)
    maintain_partitions(now=at(2030, 3, 5))
    settings.SETTLEMENT_READS_ROLLUPS = False
    from_samples = figures(c, date(2030, 4, 1))
    settings.SETTLEMENT_READS_ROLLUPS = True
    assert figures(c, date(2030, 4, 1)) == from_samples

    settings.MEASUREMENT_RETENTION_MONTHS = 2
    settings.MEASUREMENT_ARCHIVE_DIR = ""
    assert (
        "contracts_measurement_y2030m03_archived"
        in maintain_partitions(now=at(2030, 6, 2)).detached
    )
    assert figures(c, date(2030, 4, 1)) == from_samples
