"""Writes of the contracts app. Views, serializers, forms, admin and tasks call these.

``record_measurements`` is the one way samples enter the portal: a batch is validated as
a whole and written in one statement (PostgreSQL ``COPY``), or rejected whole with the
index, field and reason of every bad item.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet

from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.querysets import may_edit
from contracts.selectors import candidate_service_levels, resolve
from contracts.signals import lapse_recorded
from slaportal.db import insert_rows

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


def _parse_datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time with offset") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a UTC offset, e.g. 2026-10-01T12:00:00+00:00")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not _EARLIEST <= in_utc < _LATEST:
        raise ValueError(f"must lie between {_EARLIEST:%Y} and {_LATEST:%Y}")
    return value


def _parse_id(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be a contract service id")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValueError("must be a contract service id") from None


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

    errors: list[ItemError] = []
    ids: set[int] = set()
    for item in items:
        if isinstance(item, Mapping):
            with contextlib.suppress(ValueError):
                ids.add(_parse_id(item.get("contract_service")))
    scope = contract_services if contract_services is not None else ContractService.objects
    known = scope.filter(pk__in=ids).select_related("contract")
    objectives = _objectives_by_service(known)

    rows: list[tuple[int, str, datetime, Decimal | None, bool | None]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.append(ItemError(index, "non_field_errors", "must be an object"))
            continue
        unknown = set(item) - set(MEASUREMENT_FIELDS) - {"id"}
        if unknown:
            errors.append(
                ItemError(
                    index, "non_field_errors", f"unknown field(s): {', '.join(sorted(unknown))}"
                )
            )
        item_errors: list[ItemError] = []
        cs_id = key = observed_at = value = ok = None
        try:
            cs_id = _parse_id(item.get("contract_service"))
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
            observed_at = _parse_datetime(item.get("observed_at"))
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
                    item_errors.append(
                        ItemError(index, "value", "a threshold sample needs a value")
                    )
            elif (
                objective.indicator == ServiceLevel.Indicator.COUNT
                and value is not None
                and value < 0
            ):
                # A negative count would cancel recorded errors or leads.
                item_errors.append(ItemError(index, "value", "a count cannot be negative"))
        if item_errors:
            errors.extend(item_errors)
        elif not errors:
            rows.append((cs_id, key, observed_at, value, ok))  # type: ignore[arg-type]
    if errors:
        raise BatchRejected(errors)
    insert_rows(Measurement, MEASUREMENT_FIELDS, rows)
    return len(rows)


def terminate_contract(*, contract: Contract, end_date: Any = None) -> Contract:
    """Contracts are terminated, never deleted, so that their statements stay readable."""
    with transaction.atomic():
        contract.status = Contract.Status.TERMINATED
        if end_date is not None:
            contract.end_date = end_date
        contract.full_clean()
        contract.save()
    return contract


def record_lapse(
    *,
    responsibility: Responsibility | int,
    start: datetime,
    end: datetime,
    note: str,
    user: User | None,
) -> ResponsibilityLapse:
    """Record an interval in which the customer did not meet a responsibility.

    Incidents and samples of the objectives the responsibility affects that fall inside
    the lapse are relief for the provider (SPEC §3), so both parties are told once the
    lapse is committed. Admins and editors of either party (and staff) may record one;
    an outsider gets ``Responsibility.DoesNotExist``, as for a missing id. ``user=None``
    is the system itself (a command, a data import). Bad input raises a
    ``ValidationError`` per field and stores nothing.
    """
    responsibility_id = (
        responsibility.pk if isinstance(responsibility, Responsibility) else responsibility
    )
    scope = Responsibility.objects if user is None else Responsibility.objects.visible_to(user)
    responsibility = scope.select_related("contract").get(pk=responsibility_id)
    contract = responsibility.contract
    if user is not None and not may_edit(user, contract.provider_id, contract.customer_id):
        raise PermissionDenied("Only the parties' admins and editors may record a lapse.")
    lapse = ResponsibilityLapse(
        responsibility=responsibility,
        start=start,
        end=end,
        note=(note or "").strip(),
        recorded_by=user,
    )
    return save_lapse(lapse=lapse, user=user)


def save_lapse(*, lapse: ResponsibilityLapse, user: User | None) -> ResponsibilityLapse:
    """Validate and store a lapse the caller may write (``record_lapse`` checks that for
    the pages and the API; the admin is for operators).

    A new lapse is announced with ``contracts.signals.lapse_recorded`` in the same
    transaction, so that the parties' notifications are written with it (both or
    neither), wherever it was entered.
    """
    adding = lapse._state.adding
    if adding and lapse.recorded_by_id is None and user is not None:
        lapse.recorded_by = user
    lapse.full_clean()
    lapse._history_user = user
    with transaction.atomic():
        lapse.save()
        if adding:
            lapse_recorded.send(sender=ResponsibilityLapse, lapse=lapse)
    return lapse


def delete_lapse(*, lapse: ResponsibilityLapse) -> None:
    """Delete a lapse: incidents and samples inside it count again from the next
    settlement on (issued statements keep what they said)."""
    with transaction.atomic():
        lapse.delete()


def save_responsibility(
    *, responsibility: Responsibility, service_levels: Iterable[ServiceLevel] | None = None
) -> Responsibility:
    """Validate and store a customer responsibility and, when given, the objectives its
    lapses relieve."""
    with transaction.atomic():
        responsibility.full_clean()
        responsibility.save()
        if service_levels is not None:
            responsibility.service_levels.set(service_levels)
    return responsibility


def delete_responsibility(*, responsibility: Responsibility) -> None:
    """Delete a responsibility with its lapses."""
    with transaction.atomic():
        responsibility.delete()


def save_maintenance_window(*, maintenance_window: MaintenanceWindow) -> MaintenanceWindow:
    """Validate and store a maintenance window (time excluded from uptime)."""
    with transaction.atomic():
        maintenance_window.full_clean()
        maintenance_window.save()
    return maintenance_window


def delete_maintenance_window(*, maintenance_window: MaintenanceWindow) -> None:
    with transaction.atomic():
        maintenance_window.delete()


def save_incident(*, incident: Incident) -> Incident:
    """Validate and store an incident (downtime of an uptime objective)."""
    with transaction.atomic():
        incident.full_clean()
        incident.save()
    return incident


def delete_incident(*, incident: Incident) -> None:
    with transaction.atomic():
        incident.delete()


def save_organization(*, organization: Organization) -> Organization:
    """Validate and store an organisation (a provider or a customer)."""
    with transaction.atomic():
        organization.full_clean()
        organization.save()
    return organization


def delete_organization(*, organization: Organization) -> None:
    """Delete an organisation; one with services or contracts is protected."""
    with transaction.atomic():
        organization.delete()


def save_membership(*, membership: Membership) -> Membership:
    """Validate and store a user's role in an organisation."""
    with transaction.atomic():
        membership.full_clean()
        membership.save()
    return membership


def delete_membership(*, membership: Membership) -> None:
    with transaction.atomic():
        membership.delete()


def delete_service(*, service: Service) -> None:
    """Delete a service of the catalogue; one that is part of a contract is protected."""
    with transaction.atomic():
        service.delete()


def delete_contract(*, contract: Contract) -> None:
    """Delete a contract; one with statements is protected (terminate it instead)."""
    with transaction.atomic():
        contract.delete()


def delete_measurements(*, measurements: QuerySet) -> int:
    """Delete samples (say, a faulty import); returns how many. Issued statements keep
    the figures they were settled with."""
    with transaction.atomic():
        deleted, _ = measurements.delete()
    return deleted


def save_contract(*, contract: Contract) -> Contract:
    """Validate and store a contract's header with the model's own rules."""
    with transaction.atomic():
        contract.full_clean()
        contract.save()
    return contract


def save_service(*, service: Service) -> Service:
    """Validate and store a service of a provider's catalogue."""
    with transaction.atomic():
        service.full_clean()
        service.save()
    return service


def save_contract_service(*, contract_service: ContractService) -> ContractService:
    """Validate and store a service of a contract and its fee per period."""
    with transaction.atomic():
        contract_service.full_clean()
        contract_service.save()
    return contract_service


def remove_contract_service(*, contract_service: ContractService) -> None:
    """Take a service out of a contract, with its samples, incidents and objectives.

    A service that appears on an issued statement stays: statements are never rewritten.
    Raises ``ValidationError`` then.
    """
    # Checked first: deleting its objectives would otherwise touch issued lines, which the
    # database refuses with an error that is no use to the user.
    if contract_service.statement_lines.exists():
        raise ValidationError(
            "This service appears on issued statements and cannot be removed; "
            "end the contract or set its fee instead."
        )
    with transaction.atomic():
        ServiceLevel.objects.filter(
            level=ServiceLevel.Level.CONTRACT_SERVICE,
            contract_id=contract_service.contract_id,
            service_id=contract_service.service_id,
        ).delete()
        try:
            with transaction.atomic():
                contract_service.delete()
        except ProtectedError:
            raise ValidationError(
                "This service appears on issued statements and cannot be removed; "
                "end the contract or set its fee instead."
            ) from None


def delete_service_level(*, service_level: ServiceLevel) -> None:
    """Delete an objective that no issued statement refers to.

    An objective that has been settled stays, so that its statements keep pointing at it
    (its history shows every version); it is switched off instead. Raises
    ``ValidationError`` then.
    """
    if service_level.statement_lines.exists():
        raise ValidationError(
            "This objective appears on issued statements and cannot be deleted; "
            "edit it or switch it off (enabled = false) instead."
        )
    with transaction.atomic():
        service_level.delete()


def save_service_level(*, service_level: ServiceLevel) -> ServiceLevel:
    """Validate and store an objective at any level, with its credit rule."""
    with transaction.atomic():
        service_level.full_clean()
        service_level.save()
    return service_level


def remove_inherited_service_level(
    *, inherited: ServiceLevel, contract: Contract, service: Service | None
) -> ServiceLevel:
    """Switch an inherited objective off for one contract (``service=None``) or one of its
    services, by adding a more specific objective of the same key with ``enabled=False``.
    The inherited objective itself stays in force everywhere else."""
    level = (
        ServiceLevel.Level.CONTRACT_SERVICE if service is not None else ServiceLevel.Level.CUSTOMER
    )
    removal = ServiceLevel(
        level=level,
        provider_id=contract.provider_id,
        contract=contract,
        service=service,
        key=inherited.key,
        name=inherited.name,
        indicator=inherited.indicator,
        comparator=inherited.comparator,
        target=inherited.target,
        threshold=inherited.threshold,
        threshold_comparator=inherited.threshold_comparator,
        enabled=False,
        credit_rule=None,
    )
    return save_service_level(service_level=removal)


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
