"""Samples from an uploaded CSV file, stored all or nothing through ``record_measurements``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contracts.models import Contract
from contracts.services.measurements import (
    MAX_BATCH,
    MEASUREMENT_FIELDS,
    BatchRejected,
    record_measurements,
)


@dataclass(frozen=True, slots=True)
class CsvRowError:
    """A bad row of an uploaded CSV file: ``line`` counts from 1, the header included;
    ``None`` for a fault of the file as a whole."""

    line: int | None
    field: str
    message: str


class CsvRejected(Exception):
    """A CSV file with at least one bad row; nothing of it was stored."""

    def __init__(self, errors: Sequence[CsvRowError]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} problem(s); nothing was stored")


def record_measurements_csv(
    *, content: bytes | str, contract: Contract, contract_services: Any
) -> int:
    """Store the samples of a CSV file (columns ``contract_service,key,observed_at,value,
    ok``) for one contract, all or nothing, through :func:`record_measurements`.

    ``contract_service`` is the contract service's id or its service's code.
    ``contract_services`` is the scope the caller may write to. Raises ``CsvRejected``
    listing every bad row with its line number in the file.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CsvRejected([CsvRowError(None, "file", "the file is not UTF-8 text")]) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [name for name in ("contract_service", "key", "observed_at") if name not in header]
    unknown = [name for name in header if name not in MEASUREMENT_FIELDS]
    errors: list[CsvRowError] = []
    if not header:
        raise CsvRejected([CsvRowError(None, "file", "the file is empty")])
    if missing:
        errors.append(CsvRowError(1, "header", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        errors.append(CsvRowError(1, "header", f"unknown column(s): {', '.join(unknown)}"))
    if errors:
        raise CsvRejected(errors)

    scope = contract_services.filter(contract=contract).select_related("service")
    by_code = {cs.service.code: cs.pk for cs in scope}
    items: list[dict[str, str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                errors.append(CsvRowError(line, "row", "more values than columns"))
                continue
            item = {name: (row.get(name) or "").strip() for name in header}
            ref = item.get("contract_service", "")
            if ref and not ref.isdigit():
                if ref not in by_code:
                    errors.append(
                        CsvRowError(
                            line, "contract_service", f"no service {ref!r} in {contract.reference}"
                        )
                    )
                    continue
                item["contract_service"] = str(by_code[ref])
            items.append(item)
            lines.append(line)
    except csv.Error as exc:
        errors.append(CsvRowError(reader.line_num, "file", f"unreadable CSV: {exc}"))
    if len(items) + len(errors) > MAX_BATCH:
        raise CsvRejected([CsvRowError(None, "file", f"at most {MAX_BATCH:,} rows per file")])
    if not items and not errors:
        raise CsvRejected([CsvRowError(None, "file", "the file has no rows")])
    stored = 0
    try:
        if errors:
            # Still check the other rows, so that one upload reports every bad row.
            with transaction.atomic():
                if items:
                    record_measurements(items=items, contract_services=scope)
                transaction.set_rollback(True)
        else:
            stored = record_measurements(items=items, contract_services=scope)
    except BatchRejected as rejected:
        for error in rejected.errors:
            line = lines[error.index] if error.index < len(lines) else None
            errors.append(CsvRowError(line, error.field, error.message))
    if errors:
        errors.sort(key=lambda e: (e.line or 0, e.field))
        raise CsvRejected(errors)
    return stored
