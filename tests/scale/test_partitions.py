"""The samples' month partitions: created ahead by the periodic task, samples that came
before their month's partition moved into it, and months past the retention detached and
archived while their periods still settle the same from the rollups."""

from __future__ import annotations

import csv
import gzip
from datetime import timedelta

import pytest
from django.db import connection

from contracts.models import Measurement
from contracts.services.partitions import maintain_partitions, month_partitions
from contracts.tasks import measurement_partitions
from credits.settlement import compute_period
from tests.credits.settlement_book import at, contract, objective, ratio, service

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's"),
]


def partition_of(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM contracts_measurement WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0]


def test_the_task_creates_months_ahead_and_moves_early_samples_in(settings):
    settings.MEASUREMENT_PARTITIONS_AHEAD = 2
    c = contract()
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    early = Measurement.objects.create(
        contract_service=cs, key="on-time", observed_at=at(2031, 2, 3), ok=True
    )
    assert partition_of(early.pk) == "contracts_measurement_default"

    kept = maintain_partitions(now=at(2031, 1, 20))
    assert kept.created == [
        "contracts_measurement_y2031m01",
        "contracts_measurement_y2031m02",
        "contracts_measurement_y2031m03",
    ]
    assert partition_of(early.pk) == "contracts_measurement_y2031m02"
    assert Measurement.objects.filter(pk=early.pk).exists()
    # Running again changes nothing; the task says what it did.
    assert maintain_partitions(now=at(2031, 1, 20)).created == kept.created
    assert "partition(s) ensured" in measurement_partitions()


def test_months_past_the_retention_are_detached_archived_and_still_settle(settings, tmp_path):
    c = contract()
    cs = service(c)
    objective(
        c,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "per_step", "step": "0.5", "percent": "2"},
    )
    ratio(cs, "on-time", at(2030, 3, 1), 950, 1000, every=timedelta(minutes=30))
    maintain_partitions(now=at(2030, 3, 5))
    assert {m.month for m in month_partitions()} >= {3}
    before = compute_period(contract=c, period_start=at(2030, 3, 1).date())

    settings.MEASUREMENT_RETENTION_MONTHS = 2
    settings.MEASUREMENT_ARCHIVE_DIR = str(tmp_path)
    kept = maintain_partitions(now=at(2030, 6, 2))
    assert "contracts_measurement_y2030m03_archived" in kept.detached
    assert not any(month.year == 2030 and month.month <= 3 for month in month_partitions())
    assert not Measurement.objects.filter(observed_at__lt=at(2030, 4, 1)).exists()

    archive = tmp_path / "contracts_measurement_y2030m03_archived.csv.gz"
    with gzip.open(archive, "rt") as text:
        rows = list(csv.DictReader(text))
    assert len(rows) == 1000 and sum(row["ok"] == "t" for row in rows) == 950
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('contracts_measurement_y2030m03_archived')")
        assert cursor.fetchone() == (None,)

    # The month's hours are still rolled up: the same statement without its samples.
    after = compute_period(contract=c, period_start=at(2030, 3, 1).date())
    assert after.fingerprint == before.fingerprint
    assert [line.figures for line in after.lines] == [line.figures for line in before.lines]


def test_without_an_archive_directory_the_detached_month_is_kept_as_a_table(settings):
    c = contract()
    cs = service(c)
    objective(c, key="on-time", indicator="ratio", target="99")
    ratio(cs, "on-time", at(2029, 1, 10), 5, 10)
    maintain_partitions(now=at(2029, 1, 11))
    settings.MEASUREMENT_RETENTION_MONTHS = 1
    settings.MEASUREMENT_ARCHIVE_DIR = ""
    kept = maintain_partitions(now=at(2029, 3, 1))
    assert "contracts_measurement_y2029m01_archived" in kept.detached and kept.archived == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contracts_measurement_y2029m01_archived")
        assert cursor.fetchone() == (10,)
