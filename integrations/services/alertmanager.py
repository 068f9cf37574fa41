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

Incidents are written through ``contracts.services.save_incident``; only their times are
ever changed here, so a cause an editor reclassified stays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
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


def _record_firing(alert: _Alert, mapping: AlertMapping, receiver: Receiver, now: datetime) -> str:
    where = f"{alert.describe()} → {mapping.contract_service} / {mapping.key}"
    # This occurrence, or the same alert still open under another start (Alertmanager
    # restarted, say): the same outage, one incident rather than two overlapping ones.
    candidates = list(
        AlertIncident.objects.select_for_update()
        .filter(mapping=mapping, fingerprint=alert.fingerprint)
        .filter(Q(starts_at=alert.starts_at) | Q(ends_at__isnull=True))
        .order_by("starts_at")
    )
    row = next((c for c in candidates if c.starts_at == alert.starts_at), None) or next(
        iter(candidates), None
    )
    if row is not None:
        row.last_seen_at = max(row.last_seen_at, now)
        row.save(update_fields=["last_seen_at"])
        if row.ends_at is not None:
            return f"unchanged: {where} was already resolved"
        if _extend(row, now, force=True):
            return f"extended: incident #{row.incident_id} for {where}, still firing"
        return f"unchanged: incident #{row.incident_id} for {where} is open"
    incident = contract_services.save_incident(
        incident=Incident(
            contract_service=mapping.contract_service,
            key=mapping.key,
            started_at=alert.starts_at,
            ended_at=_running_end(alert.starts_at, now),
            cause=Incident.Cause.PROVIDER,
            description=_description(alert, receiver),
        )
    )
    AlertIncident.objects.create(
        mapping=mapping,
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        incident=incident,
        alertname=alert.labels.get("alertname", "")[:200],
        last_seen_at=now,
    )
    return f"opened: incident #{incident.pk} for {where}"


def _record_resolved(
    alert: _Alert, mapping: AlertMapping, receiver: Receiver, now: datetime
) -> str:
    where = f"{alert.describe()} → {mapping.contract_service} / {mapping.key}"
    row = (
        AlertIncident.objects.select_for_update()
        .filter(mapping=mapping, fingerprint=alert.fingerprint, starts_at=alert.starts_at)
        .first()
    )
    if row is None:
        row = (
            AlertIncident.objects.select_for_update()
            .filter(
                mapping=mapping,
                fingerprint=alert.fingerprint,
                ends_at__isnull=True,
                starts_at__lt=alert.ends_at,
            )
            .order_by("starts_at")
            .first()
        )
    if row is not None and row.ends_at is not None:
        return f"unchanged: {where} was already resolved"
    if row is not None:
        row.ends_at = alert.ends_at
        row.last_seen_at = max(row.last_seen_at, now)
        row.save(update_fields=["ends_at", "last_seen_at"])
        incident = _locked_incident(row)
        if incident is None:
            return f"unchanged: the incident of {where} was deleted in the portal"
        incident.ended_at = max(alert.ends_at, incident.started_at + timedelta(seconds=1))
        contract_services.save_incident(incident=incident)
        return f"closed: incident #{incident.pk} for {where}"
    incident = contract_services.save_incident(
        incident=Incident(
            contract_service=mapping.contract_service,
            key=mapping.key,
            started_at=alert.starts_at,
            ended_at=alert.ends_at,
            cause=Incident.Cause.PROVIDER,
            description=_description(alert, receiver),
        )
    )
    AlertIncident.objects.create(
        mapping=mapping,
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        incident=incident,
        alertname=alert.labels.get("alertname", "")[:200],
        last_seen_at=now,
    )
    return f"recorded: incident #{incident.pk} for {where} (resolved before its firing arrived)"


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


def _one_alert(
    alert: _Alert, mappings: list[AlertMapping], receiver: Receiver, now: datetime
) -> list[str]:
    results = []
    for mapping in mappings:
        # A savepoint per mapping: a concurrent delivery that inserted the same occurrence
        # first makes this one find it on the second try.
        for attempt in range(2):
            try:
                with transaction.atomic():
                    if alert.status == "firing":
                        results.append(_record_firing(alert, mapping, receiver, now))
                    else:
                        results.append(_record_resolved(alert, mapping, receiver, now))
                break
            except IntegrityError:
                if attempt:
                    raise
    return results


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
        for line in _one_alert(alert, matching, receiver, now):
            (received.unchanged if line.startswith("unchanged") else received.recorded).append(line)
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
