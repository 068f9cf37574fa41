"""The samples' month partitions (PostgreSQL): created ahead, and the months past the
retention detached and archived. The database functions that do it belong to the owner
role (migration 0010): the app's role creates and drops no table itself.

A detached month leaves its hourly rollups behind, so that its periods still settle the
same; only what the rollups cannot answer (hours not whole, a threshold with no kept
count whose bounds do not decide an hour) would miss the archived samples.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

PARTITION = re.compile(r"^contracts_measurement_y(\d{4})m(\d{2})$")


@dataclass
class PartitionsKept:
    created: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.created)} partition(s) ensured, {len(self.detached)} detached, "
            f"{len(self.archived)} archived"
        )


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_partitions() -> dict[date, str]:
    """The month partitions attached to the samples, by their first day."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'contracts_measurement'::regclass"
        )
        names = [row[0] for row in cursor.fetchall()]
    found = {}
    for name in names:
        match = PARTITION.match(name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return found


def ensure_partitions(now: datetime | None = None, ahead: int | None = None) -> list[str]:
    """The partitions of this month (UTC) and of ``ahead`` months after it, created where
    missing; returns their names."""
    if connection.vendor != "postgresql":
        return []
    month = (now or timezone.now()).astimezone(UTC).date().replace(day=1)
    ahead = settings.MEASUREMENT_PARTITIONS_AHEAD if ahead is None else ahead
    names = []
    with connection.cursor() as cursor:
        for offset in range(ahead + 1):
            cursor.execute(
                "SELECT contracts_measurement_partition(%s)", [_add_months(month, offset)]
            )
            names.append(cursor.fetchone()[0])
    return names


def _archive(name: str, directory: Path) -> Path:
    """The detached table written to ``directory`` as gzipped CSV with a header, then
    dropped; the file is complete before the table goes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv.gz"
    partial = path.with_suffix(".gz.partial")
    with connection.cursor() as cursor, gzip.open(partial, "wb") as out:
        sql = f'COPY (SELECT * FROM "{name}" ORDER BY observed_at, id) TO STDOUT WITH CSV HEADER'
        with cursor.cursor.copy(sql) as copy:
            for chunk in copy:
                out.write(chunk)
    partial.replace(path)
    with connection.cursor() as cursor:
        cursor.execute("SELECT contracts_measurement_drop_archived(%s)", [name])
    return path


def retire_partitions(
    now: datetime | None = None,
    retention_months: int | None = None,
    archive_dir: str | None = None,
) -> PartitionsKept:
    """Detach every month partition that ended more than ``retention_months`` months before
    this month (0: none), and archive it to ``archive_dir`` when one is set."""
    kept = PartitionsKept()
    months = settings.MEASUREMENT_RETENTION_MONTHS if retention_months is None else retention_months
    if connection.vendor != "postgresql" or months <= 0:
        return kept
    directory = settings.MEASUREMENT_ARCHIVE_DIR if archive_dir is None else archive_dir
    this_month = (now or timezone.now()).astimezone(UTC).date().replace(day=1)
    oldest_kept = _add_months(this_month, -months)
    for month, _name in sorted(month_partitions().items()):
        if month >= oldest_kept:
            continue
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT contracts_measurement_detach(%s)", [month])
                archived = cursor.fetchone()[0]
            if archived is None:
                continue
            kept.detached.append(archived)
            if directory:
                kept.archived.append(str(_archive(archived, Path(directory))))
    return kept


def maintain_partitions(now: datetime | None = None) -> PartitionsKept:
    """The periodic task's work: partitions ahead, and the retention applied."""
    kept = retire_partitions(now)
    kept.created = ensure_partitions(now)
    return kept
