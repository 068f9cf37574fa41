"""Samples in: ``record_measurements`` is the one way samples enter the portal.

A batch is validated as a whole and written in one statement (PostgreSQL ``COPY``), or
rejected whole with the index, field and reason of every bad item.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from contracts.metrics import SAMPLES_RECORDED
from contracts.models import ContractService, Measurement, ServiceLevel
from contracts.selectors import candidate_service_levels, resolve
from contracts.services.open_periods import measure_open_periods_soon
from engine.numbers import is_plain_integer, is_plain_number
from slaportal.db import copy_lines, insert_rows

MAX_BATCH = 10_000
MEASUREMENT_FIELDS = ("contract_service", "key", "observed_at", "value", "ok")
_KEY = re.compile(r"^[-a-zA-Z0-9_]+$")
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f"}
# Value column: 20 digits, 6 after the point.
_MAX_VALUE = Decimal("1e14")
# Samples from outside any plausible contract would only break reads later.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_LARGEST_OFFSET = timedelta(hours=15, minutes=59)
# A sample as stored: contract service id, key, observed_at, value, ok.
Row = tuple[int, str, datetime, Decimal | None, bool | None]


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchRejected(Exception):
    """A batch with at least one bad item; nothing of it was stored."""

    def __init__(self, errors: Sequence[ItemError], message: str = "") -> None:
        self.errors = list(errors)
        super().__init__(message or f"{len(self.errors)} bad item(s); nothing was stored")


def _parse_bool(raw: Any) -> bool | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be true or false")


def _parse_decimal(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    if isinstance(raw, str) and not is_plain_number(raw):
        raise ValueError("must be a number in digits 0-9")
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if abs(value) >= _MAX_VALUE:
        raise ValueError("is too large")
    if value.as_tuple().exponent < -6:  # type: ignore[operator]
        # Rounding would move a sample across a threshold without anyone noticing.
        raise ValueError("has at most 6 decimals")
    return value


def parse_aware_datetime(raw: Any) -> datetime:
    """An ISO 8601 date-time with its UTC offset (samples and tickets alike): a local
    time without one could be any of 26 hours."""
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time with offset") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a UTC offset, e.g. 2026-10-01T12:00:00+00:00")
    # Python reads offsets up to ±23:59; PostgreSQL refuses those beyond ±15:59 (no zone
    # on Earth is past ±14:00), so such a time is a typo to report, not a crash.
    if abs(value.utcoffset()) > _LARGEST_OFFSET:
        raise ValueError("has a UTC offset beyond ±15:59")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not _EARLIEST <= in_utc < _LATEST:
        raise ValueError(f"must lie between {_EARLIEST:%Y} and {_LATEST:%Y}")
    return value


def parse_contract_service_id(raw: Any) -> int:
    """The id of a contract service as posted (an integer, or digits 0-9 in a string): int()
    would also take 3.5 as 3, "３" or "1_0"."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and is_plain_integer(raw):
        return int(raw)
    raise ValueError("must be a contract service id")


def _objectives_by_service(
    contract_services: Iterable[ContractService],
) -> dict[int, dict[str, ServiceLevel]]:
    contract_services = list(contract_services)
    contracts = {cs.contract_id: cs.contract for cs in contract_services}
    levels = candidate_service_levels(
        contracts=contracts.values(), contract_services=contract_services
    )
    return {
        cs.pk: {sl.key: sl for sl in resolve(cs, contracts[cs.contract_id], levels).service_levels}
        for cs in contract_services
    }


def record_measurements(
    *, items: Sequence[Mapping[str, Any]], contract_services: Any = None
) -> int:
    """Validate a batch of samples as a whole and store it in one statement.

    ``contract_services`` is the queryset the caller may write to (the API passes the
    user's editable scope); an id outside it is reported exactly like a missing one.
    Returns the number of samples stored; raises ``BatchRejected`` and stores nothing
    when any item is bad.
    """
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise BatchRejected([ItemError(0, "non_field_errors", "expected a list of samples")])
    if len(items) == 0:
        raise BatchRejected([ItemError(0, "non_field_errors", "the batch is empty")])
    if len(items) > MAX_BATCH:
        raise BatchRejected(
            [ItemError(0, "non_field_errors", f"at most {MAX_BATCH:,} samples per batch")],
        )

    ids: set[int] = set()
    for item in items:
        if type(item) is dict and type(cs_id := item.get("contract_service")) is int:
            ids.add(cs_id)
        elif isinstance(item, Mapping):
            with contextlib.suppress(ValueError):
                ids.add(parse_contract_service_id(item.get("contract_service")))
    scope = contract_services if contract_services is not None else ContractService.objects
    known = scope.filter(pk__in=ids).select_related("contract")
    objectives = _objectives_by_service(known)
    plain = _plain_kinds(objectives)

    errors: list[ItemError] = []
    rows: list[Row] = []
    lines: list[str] = []
    for index, item in enumerate(items):
        # Most samples are plain: read them quickly; anything else is read by the full
        # check, which names each fault exactly.
        fast = _plain_sample(item, plain)
        if fast is not None:
            if not errors:
                rows.append(fast[0])
                lines.append(fast[1])
            continue
        row, item_errors = _checked_sample(index, item, objectives)
        if item_errors:
            errors.extend(item_errors)
        elif not errors:
            rows.append(row)  # type: ignore[arg-type]
            lines.append(_copy_line(row))  # type: ignore[arg-type]
    if errors:
        raise BatchRejected(errors)
    _store(rows, lines)
    measure_open_periods_soon(cs.contract_id for cs in known)
    # Counted once the samples are committed: a batch rolled back with its caller's
    # transaction was never recorded.
    transaction.on_commit(functools.partial(SAMPLES_RECORDED.inc, len(rows)))
    return len(rows)


def _store(rows: list[Row], lines: list[str]) -> None:
    """The batch in one ``COPY`` of its lines on PostgreSQL; the embedded SQLite has no
    ``COPY`` and takes the rows in a bulk insert."""
    if connection.vendor == "postgresql":
        copy_lines(Measurement, MEASUREMENT_FIELDS, lines)
    else:
        insert_rows(Measurement, MEASUREMENT_FIELDS, rows)


_ALLOWED_FIELDS = frozenset((*MEASUREMENT_FIELDS, "id"))
_NULL = "\\N"
_COPY_BOOL = {None: _NULL, True: "t", False: "f"}
_RATIO, _THRESHOLD, _COUNT = (
    ServiceLevel.Indicator.RATIO,
    ServiceLevel.Indicator.THRESHOLD,
    ServiceLevel.Indicator.COUNT,
)


def _plain_kinds(objectives: dict[int, dict[str, ServiceLevel]]) -> dict[int, dict[str, str]]:
    """Per contract service, the indicator of each key a sample may name as it is (a slug
    of at most 60 characters, not measured by uptime)."""
    return {
        cs_id: {
            key: level.indicator
            for key, level in levels.items()
            if isinstance(key, str)
            and _KEY.match(key)
            and len(key) <= 60
            and level.indicator in (_RATIO, _THRESHOLD, _COUNT)
        }
        for cs_id, levels in objectives.items()
    }


def _plain_sample(item: Any, plain: dict[int, dict[str, str]]) -> tuple[Row, str] | None:
    """The row and COPY line of a sample that is plainly right (an int id in scope, a known
    key, an ISO date-time with offset in range, a value in digits or none, ok as a boolean
    or none), or ``None``: the full check (:func:`_checked_sample`) decides. Accepts only
    what the full check accepts, and reads it the same."""
    try:
        if type(item) is not dict or not _ALLOWED_FIELDS.issuperset(item):
            return None
        cs_id = item.get("contract_service")
        if type(cs_id) is not int:
            return None
        key = item.get("key")
        indicator = plain[cs_id][key]
        raw_at = item.get("observed_at")
        observed_at = datetime.fromisoformat(raw_at)
        offset = observed_at.utcoffset()
        if offset is None or abs(offset) > _LARGEST_OFFSET:
            return None
        if not _EARLIEST <= observed_at < _LATEST:
            return None
        raw_value = item.get("value")
        if raw_value is None:
            value = None
            value_text = _NULL
        elif (type(raw_value) is str and raw_value.isascii() and "_" not in raw_value) or type(
            raw_value
        ) is int:
            value = Decimal(raw_value)
            if (
                not value.is_finite() or abs(value) >= _MAX_VALUE or value.as_tuple().exponent < -6  # type: ignore[operator]
            ):
                return None
            value_text = str(value)
        else:
            return None
        ok = item.get("ok")
        if ok is not None and type(ok) is not bool:
            return None
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None
    if indicator == _RATIO:
        if ok is None:
            return None
    elif indicator == _THRESHOLD:
        if value is None:
            return None
    elif value is not None and value < 0:
        return None
    # The usual ISO form goes to PostgreSQL as it came; any other, rewritten in UTC.
    at_text = raw_at if _PLAIN_ISO.fullmatch(raw_at) else observed_at.astimezone(UTC).isoformat()
    return (
        (cs_id, key, observed_at, value, ok),
        f"{cs_id}\t{key}\t{at_text}\t{value_text}\t{_COPY_BOOL[ok]}\n",
    )


_PLAIN_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?[+-][0-9]{2}:[0-9]{2}"
)


def _copy_line(row: Row) -> str:
    cs_id, key, observed_at, value, ok = row
    value_text = _NULL if value is None else str(value)
    at_text = observed_at.astimezone(UTC).isoformat()
    return f"{cs_id}\t{key}\t{at_text}\t{value_text}\t{_COPY_BOOL[ok]}\n"


def _checked_sample(
    index: int, item: Any, objectives: dict[int, dict[str, ServiceLevel]]
) -> tuple[Row | None, list[ItemError]]:
    """Every fault of one sample, each naming its field; the row when there is none."""
    if not isinstance(item, Mapping):
        return None, [ItemError(index, "non_field_errors", "must be an object")]
    item_errors: list[ItemError] = []
    unknown = set(item) - set(MEASUREMENT_FIELDS) - {"id"}
    if unknown:
        item_errors.append(
            ItemError(index, "non_field_errors", f"unknown field(s): {', '.join(sorted(unknown))}")
        )
    cs_id = key = observed_at = value = ok = None
    try:
        cs_id = parse_contract_service_id(item.get("contract_service"))
        if cs_id not in objectives:
            raise ValueError(f"contract service {cs_id} does not exist")
    except ValueError as exc:
        item_errors.append(ItemError(index, "contract_service", str(exc)))
        cs_id = None
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.match(key) or len(key) > 60:
        item_errors.append(ItemError(index, "key", "must be a slug such as availability"))
        key = None
    try:
        observed_at = parse_aware_datetime(item.get("observed_at"))
    except ValueError as exc:
        item_errors.append(ItemError(index, "observed_at", str(exc)))
    try:
        value = _parse_decimal(item.get("value"))
    except ValueError as exc:
        item_errors.append(ItemError(index, "value", str(exc)))
    try:
        ok = _parse_bool(item.get("ok"))
    except ValueError as exc:
        item_errors.append(ItemError(index, "ok", str(exc)))
    bad_fields = {error.field for error in item_errors}
    if cs_id is not None and key is not None:
        objective = objectives[cs_id].get(key)
        if objective is None:
            item_errors.append(
                ItemError(index, "key", f"no objective {key!r} applies to this service")
            )
        elif objective.indicator == ServiceLevel.Indicator.UPTIME:
            item_errors.append(
                ItemError(index, "key", f"{key!r} is measured by uptime: record incidents")
            )
        elif objective.indicator == ServiceLevel.Indicator.RATIO and ok is None:
            if "ok" not in bad_fields:
                item_errors.append(ItemError(index, "ok", "a ratio sample needs ok true/false"))
        elif objective.indicator == ServiceLevel.Indicator.THRESHOLD and value is None:
            if "value" not in bad_fields:
                item_errors.append(ItemError(index, "value", "a threshold sample needs a value"))
        elif (
            objective.indicator == ServiceLevel.Indicator.COUNT and value is not None and value < 0
        ):
            # A negative count would cancel recorded errors or leads.
            item_errors.append(ItemError(index, "value", "a count cannot be negative"))
    if item_errors:
        return None, item_errors
    return (cs_id, key, observed_at, value, ok), []  # type: ignore[return-value]


def delete_measurements(*, measurements: QuerySet) -> int:
    """Delete samples (say, a faulty import); returns how many. Issued statements keep
    the figures they were settled with."""
    with transaction.atomic():
        deleted, _ = measurements.delete()
    return deleted
