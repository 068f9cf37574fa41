"""Alertmanager → incidents: its webhook payload (version 4) opens an incident when an
alert fires and closes it when the alert is resolved.

An alert occurrence is its fingerprint (a hash of its labels) and its ``startsAt``, both
stable across Alertmanager's repeats. Each mapping an alert's labels match gets its own
``AlertIncident`` row, unique per (mapping, fingerprint, start), so that repeats,
concurrent deliveries and a resolution that overtakes its firing all end in one incident:

- firing, unseen: an incident from ``startsAt`` to now (it grows while the alert fires);
- firing, already open: the incident is extended to now;
- firing, already resolved (a stale delivery): nothing changes;
- resolved, open: the incident ends at ``endsAt``;
- resolved, unseen: the incident is recorded from ``startsAt`` to ``endsAt`` at once;
- resolved, already resolved: nothing changes.

Incidents are written through ``contracts.services.record_incidents`` and
``save_incident_ends`` (validated as ``save_incident`` does, written in bulk); only their
times are ever changed here, so a cause an editor reclassified stays. A delivery costs the
same round trips to the database whatever its number of alerts: its occurrences are locked
in one statement, worked out in memory, and written in one statement per table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from contracts import services as contract_services
from contracts.models import Incident
from integrations.models import AlertIncident, AlertMapping, IntegrationEvent, Receiver
from integrations.services.events import log_event

# Alertmanager writes Go's zero time for "no end yet".
_ZERO_TIME_YEAR = 1
MAX_ALERTS = 1_000
# An open alert's incident is pushed forward at most this often, so that a long outage
# leaves a readable history rather than a version per minute.
EXTEND_EVERY = timedelta(minutes=5)
_DESCRIPTION = Incident._meta.get_field("description")


class PayloadRefused(Exception):
    """A payload that is not Alertmanager's webhook version 4; nothing was stored."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass
class AlertsReceived:
    recorded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.refused and not (self.recorded or self.unchanged):
            return IntegrationEvent.Outcome.REFUSED
        if self.refused:
            return IntegrationEvent.Outcome.PARTLY
        if self.recorded:
            return IntegrationEvent.Outcome.RECORDED
        return IntegrationEvent.Outcome.UNCHANGED

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": len(self.recorded),
            "unchanged": len(self.unchanged),
            "refused": self.refused,
        }


@dataclass(frozen=True)
class _Alert:
    index: int
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or self.fingerprint

    def describe(self) -> str:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name} {{{labels}}}"


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        raise ValueError("must be an RFC 3339 date-time")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset")
    if value.year == _ZERO_TIME_YEAR:
        return None
    return value.astimezone(UTC)


def _text_map(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError("must map names to text")
    return dict(raw)


def _fingerprint(labels: dict[str, str]) -> str:
    # Alertmanager sends one since 0.19; a sender without it gets a stable stand-in.
    text = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_payload(payload: Any) -> tuple[list[_Alert], list[str]]:
    """The alerts of a webhook payload and the reasons single alerts were refused; raises
    ``PayloadRefused`` when the payload as a whole is not one."""
    if not isinstance(payload, dict):
        raise PayloadRefused({"non_field_errors": ["Expected Alertmanager's JSON object."]})
    errors: dict[str, list[str]] = {}
    if str(payload.get("version")) != "4":
        errors["version"] = [
            f"Alertmanager's webhook payload version 4 is read, not {payload.get('version')!r}."
        ]
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        errors["alerts"] = ["Expected a list of alerts."]
    elif len(alerts) > MAX_ALERTS:
        errors["alerts"] = [f"At most {MAX_ALERTS:,} alerts per delivery."]
    if errors:
        raise PayloadRefused(errors)
    parsed: list[_Alert] = []
    refused: list[str] = []
    for index, raw in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            refused.append(f"{where}: not an object")
            continue
        problems = []
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            problems.append(f"status must be firing or resolved, not {status!r}")
        try:
            labels = _text_map(raw.get("labels"))
        except ValueError as exc:
            problems.append(f"labels {exc}")
            labels = {}
        try:
            annotations = _text_map(raw.get("annotations"))
        except ValueError:
            annotations = {}
        starts_at = ends_at = None
        try:
            starts_at = _time(raw.get("startsAt"))
            if starts_at is None:
                problems.append("startsAt is missing")
        except ValueError as exc:
            problems.append(f"startsAt {exc}")
        try:
            ends_at = _time(raw.get("endsAt")) if raw.get("endsAt") else None
        except ValueError as exc:
            problems.append(f"endsAt {exc}")
        if status == "resolved" and not problems:
            if ends_at is None:
                problems.append("a resolved alert needs its endsAt")
            elif ends_at <= starts_at:
                problems.append("endsAt must be after startsAt")
        fingerprint = raw.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or len(fingerprint) > 64):
            problems.append("fingerprint must be text of at most 64 characters")
        if problems:
            name = labels.get("alertname", "")
            refused.append(f"{where}{f' ({name})' if name else ''}: {'; '.join(problems)}")
            continue
        parsed.append(
            _Alert(
                index=index,
                status=status,
                labels=labels,
                annotations=annotations,
                fingerprint=fingerprint or _fingerprint(labels),
                starts_at=starts_at,
                ends_at=ends_at if status == "resolved" else None,
            )
        )
    return parsed, refused


def _description(alert: _Alert, receiver: Receiver) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    text = f"Alertmanager ({receiver.name}): {alert.describe()}"
    if summary:
        text = f"{text} — {summary}"
    return text[: _DESCRIPTION.max_length] if _DESCRIPTION.max_length else text


def _running_end(starts_at: datetime, now: datetime) -> datetime:
    # An incident needs an end after its start; a firing one runs to now.
    return max(now, starts_at + timedelta(seconds=1))


def _where(alert: _Alert, mapping: AlertMapping) -> str:
    return f"{alert.describe()} → {mapping.contract_service} / {mapping.key}"


@dataclass
class _Delivery:
    """What one delivery changes, worked out in memory from the rows it locked and then
    written in a few statements whatever the number of alerts (the receiver's cost under
    load is round trips to the database)."""

    receiver: Receiver
    now: datetime
    rows: list[AlertIncident]
    incidents: dict[int, Incident]
    new_rows: list[AlertIncident] = field(default_factory=list)
    # Each new row's incident, not stored yet, by the row's id().
    new_incidents: dict[int, Incident] = field(default_factory=dict)
    changed_rows: dict[int, AlertIncident] = field(default_factory=dict)
    ended: dict[int, Incident] = field(default_factory=dict)
    # Lines are formatted once the new incidents have their ids.
    lines: list[Callable[[], str]] = field(default_factory=list)
    # Alerts whose incident the contracts app would refuse (a time out of its range).
    refused: list[str] = field(default_factory=list)

    def incident_of(self, row: AlertIncident) -> Incident | None:
        if row.pk is None:
            return self.new_incidents[id(row)]
        return self.incidents.get(row.incident_id) if row.incident_id else None

    def touch(self, row: AlertIncident) -> None:
        row.last_seen_at = max(row.last_seen_at, self.now)
        if row.pk is not None:
            self.changed_rows[row.pk] = row

    def end(self, incident: Incident, ended_at: datetime) -> None:
        incident.ended_at = ended_at
        if incident.pk is not None:
            self.ended[incident.pk] = incident

    def refuses(self, alert: _Alert, incident: Incident) -> bool:
        problems = contract_services.incident_problems(incident)
        if problems:
            self.refused.append(f"{alert.describe()}: {'; '.join(problems)}")
        return bool(problems)

    def open(
        self, alert: _Alert, mapping: AlertMapping, ends_at: datetime | None
    ) -> Incident | None:
        row = AlertIncident(
            mapping=mapping,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            ends_at=ends_at,
            alertname=alert.labels.get("alertname", "")[:200],
            last_seen_at=self.now,
        )
        incident = Incident(
            contract_service=mapping.contract_service,
            key=mapping.key,
            started_at=alert.starts_at,
            ended_at=ends_at or _running_end(alert.starts_at, self.now),
            cause=Incident.Cause.PROVIDER,
            description=_description(alert, self.receiver),
        )
        if self.refuses(alert, incident):
            return None
        self.rows.append(row)
        self.new_rows.append(row)
        self.new_incidents[id(row)] = incident
        return incident

    def firing(self, alert: _Alert, mapping: AlertMapping) -> None:
        where = _where(alert, mapping)
        # This occurrence, or the same alert still open under another start (Alertmanager
        # restarted, say): the same outage, one incident rather than two overlapping ones.
        candidates = sorted(
            (
                row
                for row in self._of(alert, mapping)
                if row.starts_at == alert.starts_at or row.ends_at is None
            ),
            key=lambda row: row.starts_at,
        )
        row = next((c for c in candidates if c.starts_at == alert.starts_at), None) or next(
            iter(candidates), None
        )
        if row is None:
            incident = self.open(alert, mapping, None)
            if incident is not None:
                self.lines.append(lambda: f"opened: incident #{incident.pk} for {where}")
            return
        self.touch(row)
        if row.ends_at is not None:
            self.lines.append(lambda: f"unchanged: {where} was already resolved")
            return
        incident = self.incident_of(row)
        if incident is not None and incident.ended_at < self.now:
            self.end(incident, self.now)
            self.lines.append(
                lambda: f"extended: incident #{incident.pk} for {where}, still firing"
            )
            return
        self.lines.append(lambda: f"unchanged: incident #{row.incident_id} for {where} is open")

    def resolved(self, alert: _Alert, mapping: AlertMapping) -> None:
        where = _where(alert, mapping)
        ours = self._of(alert, mapping)
        row = next((r for r in ours if r.starts_at == alert.starts_at), None) or min(
            (r for r in ours if r.ends_at is None and r.starts_at < alert.ends_at),
            key=lambda r: r.starts_at,
            default=None,
        )
        if row is None:
            incident = self.open(alert, mapping, alert.ends_at)
            if incident is None:
                return
            self.lines.append(
                lambda: (
                    f"recorded: incident #{incident.pk} for {where} "
                    "(resolved before its firing arrived)"
                )
            )
            return
        if row.ends_at is not None:
            self.lines.append(lambda: f"unchanged: {where} was already resolved")
            return
        incident = self.incident_of(row)
        ended_at = incident and max(alert.ends_at, incident.started_at + timedelta(seconds=1))
        if incident is not None and self.refuses(
            alert, Incident(started_at=incident.started_at, ended_at=ended_at, key=incident.key)
        ):
            return
        row.ends_at = alert.ends_at
        self.touch(row)
        if incident is None:
            self.lines.append(
                lambda: f"unchanged: the incident of {where} was deleted in the portal"
            )
            return
        self.end(incident, ended_at)
        self.lines.append(lambda: f"closed: incident #{incident.pk} for {where}")

    def _of(self, alert: _Alert, mapping: AlertMapping) -> list[AlertIncident]:
        return [
            row
            for row in self.rows
            if row.mapping_id == mapping.pk and row.fingerprint == alert.fingerprint
        ]

    def formatted(self) -> list[str]:
        return [line() for line in self.lines]


class _Overtaken(Exception):
    """A concurrent delivery stored one of this delivery's new occurrences first."""


def _lock(pairs: list[tuple[_Alert, AlertMapping]]) -> tuple[list[AlertIncident], dict]:
    """The stored occurrences the delivery's alerts may meet, and their open incidents,
    locked (in id order, so that concurrent deliveries queue rather than deadlock)."""
    mapping_ids = {mapping.pk for _, mapping in pairs}
    fingerprints = {alert.fingerprint for alert, _ in pairs}
    starts = {alert.starts_at for alert, _ in pairs}
    rows = list(
        AlertIncident.objects.select_for_update()
        .filter(mapping_id__in=mapping_ids, fingerprint__in=fingerprints)
        .filter(Q(starts_at__in=starts) | Q(ends_at__isnull=True))
        .order_by("pk")
    )
    wanted = {(mapping.pk, alert.fingerprint) for alert, mapping in pairs}
    rows = [row for row in rows if (row.mapping_id, row.fingerprint) in wanted]
    open_incidents = sorted(
        {row.incident_id for row in rows if row.ends_at is None and row.incident_id}
    )
    if not open_incidents:
        return rows, {}
    locked = Incident.objects.select_for_update().filter(pk__in=open_incidents).order_by("pk")
    return rows, {incident.pk: incident for incident in locked}


_INSERT_NEW = """
INSERT INTO {table} ({columns}) VALUES {values}
ON CONFLICT (mapping_id, fingerprint, starts_at) DO NOTHING
RETURNING id, mapping_id, fingerprint, starts_at
"""
_NEW_FIELDS = ("mapping", "fingerprint", "starts_at", "ends_at", "alertname", "last_seen_at")


def _insert_new(rows: list[AlertIncident]) -> None:
    """Insert new occurrences (their incidents still to come) in one statement; raises
    ``_Overtaken``, having taken back what it inserted, when a concurrent delivery stored
    one of them first. Django's ``bulk_create`` would either raise on the first conflict
    or, ignoring conflicts, not say which rows went in."""
    meta = AlertIncident._meta
    fields = [meta.get_field(name) for name in _NEW_FIELDS]
    quote = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = _INSERT_NEW.format(
        table=quote(meta.db_table),
        columns=", ".join(quote(f.column) for f in fields),
        values=", ".join([one] * len(rows)),
    )
    params = [
        f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = {(m, fp, starts): pk for pk, m, fp, starts in cursor.fetchall()}
    if len(inserted) < len(rows):
        AlertIncident.objects.filter(pk__in=inserted.values()).delete()
        raise _Overtaken
    for row in rows:
        row.pk = inserted[(row.mapping_id, row.fingerprint, row.starts_at)]


def _write(delivery: _Delivery) -> None:
    rows = list(delivery.changed_rows.values())
    if delivery.new_rows:
        # The occurrences first: a concurrent delivery of the same occurrence that got
        # there first makes this one plan again from what that one stored, before any
        # incident was written.
        _insert_new(delivery.new_rows)
        pending = [delivery.new_incidents[id(row)] for row in delivery.new_rows]
        contract_services.record_incidents(incidents=pending)
        for row, incident in zip(delivery.new_rows, pending, strict=True):
            row.incident = incident
        rows += delivery.new_rows
    contract_services.save_incident_ends(incidents=list(delivery.ended.values()))
    if rows:
        AlertIncident.objects.bulk_update(rows, ["ends_at", "last_seen_at", "incident"])


def _record(
    pairs: list[tuple[_Alert, AlertMapping]], receiver: Receiver, now: datetime
) -> tuple[list[str], list[str]]:
    """Record the delivery's (alert, mapping) pairs in order, inside its transaction; the
    lines saying what each became, and the refusals of alerts whose incident would be
    invalid."""
    for _attempt in range(3):
        rows, incidents = _lock(pairs)
        delivery = _Delivery(receiver=receiver, now=now, rows=rows, incidents=incidents)
        for alert, mapping in pairs:
            if alert.status == "firing":
                delivery.firing(alert, mapping)
            else:
                delivery.resolved(alert, mapping)
        try:
            # No savepoint: being overtaken is found before anything else is written, and
            # what was inserted is taken back (an atomic block would doom the transaction).
            _write(delivery)
        except _Overtaken:
            continue
        return delivery.formatted(), delivery.refused
    raise IntegrityError("Alert occurrences kept being stored by concurrent deliveries.")


def _locked_incident(row: AlertIncident) -> Incident | None:
    if row.incident_id is None:
        return None
    return Incident.objects.select_for_update().filter(pk=row.incident_id).first()


def _extend(row: AlertIncident, now: datetime, *, force: bool = False) -> bool:
    """Push an open alert's incident to ``now``; whether it changed."""
    incident = _locked_incident(row)
    if incident is None or incident.ended_at >= now:
        return False
    if not force and now - incident.ended_at < EXTEND_EVERY:
        return False
    incident.ended_at = now
    contract_services.save_incident(incident=incident)
    return True


def receive_alerts(
    *, receiver: Receiver, payload: Any, now: datetime, test: bool = False
) -> AlertsReceived:
    """Turn one webhook delivery into incidents and log what became of each alert.

    With ``test``, nothing but the log is written: the page's test button shows which
    mapping each alert would reach without recording downtime.
    """
    try:
        alerts, refused = parse_payload(payload)
    except PayloadRefused as exc:
        log_event(
            organization_id=receiver.organization_id,
            channel=IntegrationEvent.Channel.ALERTMANAGER,
            outcome=IntegrationEvent.Outcome.REFUSED,
            at=now,
            summary="A delivery that is not Alertmanager's webhook payload (version 4)",
            refusals=[str(exc)],
            receiver=receiver,
            test=test,
        )
        raise
    # One transaction for the delivery, its incidents and its log line: one commit (the
    # receiver's cost under load is mostly commits), and the log never tells of incidents
    # that were rolled back.
    with transaction.atomic():
        return _receive(receiver, payload, alerts, refused, now, test)


def _receive(
    receiver: Receiver,
    payload: Any,
    alerts: list[_Alert],
    refused: list[str],
    now: datetime,
    test: bool,
) -> AlertsReceived:
    received = AlertsReceived(refused=list(refused))
    mappings = list(
        AlertMapping.objects.filter(receiver=receiver).select_related(
            "contract_service__contract", "contract_service__service"
        )
    )
    pairs = []
    for alert in alerts:
        matching = [mapping for mapping in mappings if mapping.matches(alert.labels)]
        if not matching:
            received.refused.append(f"{alert.describe()}: no mapping matches these labels")
            continue
        if test:
            for mapping in matching:
                received.recorded.append(
                    f"test: {alert.describe()} would count against "
                    f"{mapping.contract_service} / {mapping.key}"
                )
            continue
        pairs.extend((alert, mapping) for mapping in matching)
    lines, refusals = _record(pairs, receiver, now) if pairs else ([], [])
    for line in lines:
        (received.unchanged if line.startswith("unchanged") else received.recorded).append(line)
    received.refused += refusals
    statuses = sorted({alert.status for alert in alerts})
    log_event(
        organization_id=receiver.organization_id,
        channel=IntegrationEvent.Channel.ALERTMANAGER,
        outcome=received.outcome,
        at=now,
        summary=f"{len(alerts) + len(refused)} alert(s) ({', '.join(statuses) or 'none'}) "
        f"from {payload.get('externalURL') or 'Alertmanager'}",
        result="\n".join(received.recorded + received.unchanged),
        refusals=received.refused,
        receiver=receiver,
        test=test,
    )
    return received


def extend_open_incidents(*, now: datetime) -> int:
    """Push every firing alert's incident to ``now`` (at most every few minutes), so that
    an outage still under way counts up to the present; returns how many moved."""
    moved = 0
    open_rows = AlertIncident.objects.filter(ends_at__isnull=True, incident__isnull=False)
    for pk in list(open_rows.values_list("pk", flat=True)):
        with transaction.atomic():
            row = AlertIncident.objects.select_for_update().filter(pk=pk, ends_at__isnull=True)
            found = row.first()
            if found is not None and _extend(found, now):
                moved += 1
    return moved
