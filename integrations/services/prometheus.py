"""Prometheus → samples: pull a PromQL query's ``query_range`` into an objective.

A pull covers the evaluation times after ``pulled_until`` up to the last whole step
before now (a step behind, so that the newest scrape has landed), in windows of at most
``MAX_POINTS`` steps (Prometheus answers at most 11,000 points per series). Each window's
samples are recorded through ``contracts.services.record_measurements`` — the API's own
checks — and ``pulled_until`` advances in the same transaction, under a lock of the pull's
row: a retried or concurrent pull finds the window done and stores nothing twice.

A sample Prometheus cannot give as a number (NaN, ±Inf), a ratio sample that is neither 1
nor 0, and any sample the measurement service refuses are left out, counted and shown;
the rest of the window is stored. A failed request (timeout, refused connection, an
answer other than 200 and ``"status": "success"``) stores nothing, keeps the error and
tries again after a backoff that doubles up to an hour.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import transaction

from contracts import services as contract_services
from contracts.models import ContractService
from contracts.selectors import effective_service_level
from contracts.webhook_targets import address_refusal
from integrations import secrets
from integrations.models import IntegrationEvent, PrometheusPull, PrometheusSource
from integrations.services.events import log_event
from integrations.targets import base_url_refusal, private_allowed

MAX_POINTS = 10_000
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_LONGEST = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=10)
# The measurement service keeps 6 decimals; Prometheus gives binary floats such as
# 0.30000000000000004, which are read to the nearest sixth decimal.
_SIX_PLACES = Decimal("0.000001")
_MAX_ANSWER_BYTES = 64 * 1024 * 1024


class PullFailed(Exception):
    """Prometheus could not be asked, or did not answer a usable ``query_range``."""


@dataclass
class PullOutcome:
    recorded: int = 0
    refused: int = 0
    windows: int = 0
    refusals: list[str] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "refused": self.refused,
            "windows": self.windows,
            "refusals": self.refusals[:20],
            "error": self.error,
        }


def save_source(*, source: PrometheusSource, secret: str | None = None) -> PrometheusSource:
    """Validate and store a source; ``secret`` (when given) is encrypted before it is
    stored, an empty one removes the stored secret."""
    if secret is not None:
        source.secret_encrypted = secrets.encrypt(secret) if secret else ""
    with transaction.atomic():
        source.full_clean()
        source.save()
    return source


def delete_source(*, source: PrometheusSource) -> None:
    with transaction.atomic():
        source.delete()


def save_pull(*, pull: PrometheusPull) -> PrometheusPull:
    """Validate and store a pull; a new one is due at once."""
    with transaction.atomic():
        pull.full_clean()
        if pull.next_attempt_at is None:
            pull.next_attempt_at = pull.start_at
        pull.save()
    return pull


def delete_pull(*, pull: PrometheusPull) -> None:
    """Delete a pull; the samples it recorded stay."""
    with transaction.atomic():
        pull.delete()


def _check_resolved(url: str) -> None:
    parts = urlsplit(url)
    refusal = base_url_refusal(url)
    if refusal:
        raise PullFailed(refusal)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PullFailed(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        reason = address_refusal(ip, allow_private=private_allowed())
        if reason:
            raise PullFailed(f"{parts.hostname} resolves to {reason}")


def _auth(source: PrometheusSource) -> tuple[dict[str, str], tuple[str, str] | None]:
    if source.auth == PrometheusSource.Auth.NONE:
        return {}, None
    try:
        secret = (
            secrets.from_environment(source.secret_env)
            if source.secret_env
            else secrets.decrypt(source.secret_encrypted)
        )
    except secrets.SecretUnavailable as exc:
        raise PullFailed(str(exc)) from None
    if source.auth == PrometheusSource.Auth.BEARER:
        return {"Authorization": f"Bearer {secret}"}, None
    return {}, (source.username, secret)


def query_range(
    source: PrometheusSource, query: str, start: datetime, end: datetime, step: timedelta
) -> list[dict[str, Any]]:
    """The series Prometheus answers for ``query`` from ``start`` to ``end`` (inclusive)."""
    url = source.base_url.rstrip("/") + "/api/v1/query_range"
    _check_resolved(url)
    headers, basic = _auth(source)
    try:
        response = requests.post(
            url,
            data={
                "query": query,
                "start": f"{start.timestamp():.3f}",
                "end": f"{end.timestamp():.3f}",
                "step": f"{int(step.total_seconds())}s",
            },
            headers={"Accept": "application/json", **headers},
            auth=basic,
            timeout=source.timeout_seconds,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise PullFailed(f"Prometheus did not answer within {source.timeout_seconds} s") from None
    except requests.RequestException as exc:
        raise PullFailed(f"Prometheus could not be reached: {type(exc).__name__}") from None
    if len(response.content) > _MAX_ANSWER_BYTES:
        raise PullFailed("Prometheus answered more than 64 MB for one window")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        detail = body.get("error") if isinstance(body, dict) else None
        raise PullFailed(
            f"Prometheus answered HTTP {response.status_code}" + (f": {detail}" if detail else "")
        )
    if not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error") if isinstance(body, dict) else "not JSON"
        raise PullFailed(f"Prometheus refused the query: {detail}")
    data = body.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else None
        raise PullFailed(f"expected a range vector (matrix), got {kind!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise PullFailed("the answer has no list of series")
    return result


def _series_name(metric: Any) -> str:
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def samples_of(
    series: list[dict[str, Any]], *, contract_service_id: int, key: str, indicator: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The measurement items of a ``query_range`` answer, and why each refused point was."""
    items: list[dict[str, Any]] = []
    refusals: list[str] = []
    for one in series:
        name = _series_name(one.get("metric") if isinstance(one, dict) else None)
        values = one.get("values") if isinstance(one, dict) else None
        if not isinstance(values, list):
            refusals.append(f"{name}: a series without values")
            continue
        for point in values:
            if not (isinstance(point, list) and len(point) == 2):
                refusals.append(f"{name}: a point that is not [time, value]")
                continue
            at_raw, raw = point
            try:
                at = datetime.fromtimestamp(float(at_raw), UTC)
            except (TypeError, ValueError, OverflowError):
                refusals.append(f"{name}: a point without a time")
                continue
            where = f"{name} at {at:%Y-%m-%d %H:%M:%S} UTC"
            try:
                number = float(raw)
            except (TypeError, ValueError):
                refusals.append(f"{where}: {raw!r} is not a number")
                continue
            if math.isnan(number) or math.isinf(number):
                refusals.append(f"{where}: {raw} is not a finite number")
                continue
            try:
                value = Decimal(str(raw)).quantize(_SIX_PLACES, rounding=ROUND_HALF_EVEN)
            except InvalidOperation:
                refusals.append(f"{where}: {raw} is too large")
                continue
            item: dict[str, Any] = {
                "contract_service": contract_service_id,
                "key": key,
                "observed_at": at,
            }
            if indicator == "ratio":
                if value not in (0, 1):
                    refusals.append(
                        f"{where}: a ratio sample is 1 (ok) or 0, not {raw}; compare with "
                        "`bool`, e.g. `latency < bool 0.3`"
                    )
                    continue
                item["ok"] = value == 1
            else:
                item["value"] = value
            items.append(item)
    return items, refusals


def _record(items: list[dict[str, Any]], scope: Any) -> tuple[int, list[str]]:
    """Record items through the measurement service in batches; items it refuses are
    left out and their reasons returned."""
    recorded = 0
    refusals: list[str] = []
    for start in range(0, len(items), contract_services.MAX_BATCH):
        batch = items[start : start + contract_services.MAX_BATCH]
        try:
            recorded += contract_services.record_measurements(items=batch, contract_services=scope)
        except contract_services.BatchRejected as rejected:
            bad = {error.index for error in rejected.errors}
            for error in rejected.errors:
                item = batch[error.index] if error.index < len(batch) else None
                at = f" at {item['observed_at']:%Y-%m-%d %H:%M:%S} UTC" if item else ""
                refusals.append(f"sample{at}: {error.field} {error.message}")
            kept = [item for index, item in enumerate(batch) if index not in bad]
            if kept:
                recorded += contract_services.record_measurements(
                    items=kept, contract_services=scope
                )
    return recorded, refusals


def _windows(
    start: datetime, end: datetime, step: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    while start <= end:
        last = min(end, start + step * (MAX_POINTS - 1))
        yield start, last
        start = last + step


def _align_down(moment: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp((int(moment.timestamp()) // seconds) * seconds, UTC)


def _align_up(moment: datetime, step: timedelta) -> datetime:
    aligned = _align_down(moment, step)
    return aligned if aligned == moment else aligned + step


def backoff(failures: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(failures - 1, 0)), BACKOFF_LONGEST)


def pull(*, pull_id: int, now: datetime) -> PullOutcome:
    """Pull everything due of one ``PrometheusPull`` and record it; returns what happened.

    Safe to run twice or at once in two workers: a window is stored only if
    ``pulled_until`` is still what this run read before asking Prometheus.
    """
    one = PrometheusPull.objects.select_related("source", "contract_service__contract").get(
        pk=pull_id
    )
    outcome = PullOutcome()
    step = one.step
    start = one.pulled_until + step if one.pulled_until else _align_up(one.start_at, step)
    end = _align_down(now - step, step)
    objective = effective_service_level(one.contract_service, one.key)
    scope = ContractService.objects.filter(
        pk=one.contract_service_id, contract__provider_id=one.source.organization_id
    )
    if objective is None or objective.indicator not in ("ratio", "threshold", "count"):
        outcome.error = f"no ratio, threshold or count objective {one.key!r} applies any more"
    else:
        expected = one.pulled_until
        for window_start, window_end in _windows(start, end, step):
            try:
                series = query_range(one.source, one.query, window_start, window_end, step)
            except PullFailed as exc:
                outcome.error = str(exc)
                break
            items, refusals = samples_of(
                series,
                contract_service_id=one.contract_service_id,
                key=one.key,
                indicator=objective.indicator,
            )
            with transaction.atomic():
                locked = PrometheusPull.objects.select_for_update().get(pk=one.pk)
                if locked.pulled_until != expected:
                    # Another run stored this window meanwhile.
                    break
                recorded, refused_by_service = _record(items, scope)
                refusals += refused_by_service
                locked.pulled_until = window_end
                locked.samples_recorded += recorded
                locked.samples_refused += len(refusals)
                if refusals:
                    locked.last_refusal = f"{len(refusals)} refused: {refusals[0]}"
                locked.save(
                    update_fields=[
                        "pulled_until",
                        "samples_recorded",
                        "samples_refused",
                        "last_refusal",
                    ]
                )
            expected = window_end
            outcome.windows += 1
            outcome.recorded += recorded
            outcome.refused += len(refusals)
            outcome.refusals += refusals
    _finish(one, outcome, now)
    return outcome


def _finish(one: PrometheusPull, outcome: PullOutcome, now: datetime) -> None:
    with transaction.atomic():
        locked = PrometheusPull.objects.select_for_update().get(pk=one.pk)
        locked.last_attempt_at = now
        if outcome.error:
            locked.failures += 1
            locked.last_error = outcome.error
            locked.next_attempt_at = now + backoff(locked.failures)
        else:
            locked.failures = 0
            locked.last_error = ""
            locked.last_success_at = now
            locked.next_attempt_at = now + locked.step
        locked.save(
            update_fields=[
                "last_attempt_at",
                "failures",
                "last_error",
                "last_success_at",
                "next_attempt_at",
            ]
        )
        if outcome.windows or outcome.error:
            if outcome.error and not outcome.windows:
                result_outcome = IntegrationEvent.Outcome.FAILED
            elif outcome.refused and outcome.recorded:
                result_outcome = IntegrationEvent.Outcome.PARTLY
            elif outcome.refused:
                result_outcome = IntegrationEvent.Outcome.REFUSED
            elif outcome.recorded:
                result_outcome = IntegrationEvent.Outcome.RECORDED
            else:
                result_outcome = IntegrationEvent.Outcome.UNCHANGED
            result = f"{outcome.recorded:,} sample(s) recorded for {one.key}"
            if outcome.error:
                retry = f"{locked.next_attempt_at:%Y-%m-%d %H:%M} UTC"
                result += f"; failed: {outcome.error} (attempt {locked.failures}, next {retry})"
            log_event(
                organization_id=one.source.organization_id,
                channel=IntegrationEvent.Channel.PROMETHEUS,
                outcome=result_outcome,
                at=now,
                summary=f"Pull of {one.key} from {one.source.name} up to "
                f"{(locked.pulled_until or one.start_at):%Y-%m-%d %H:%M} UTC",
                result=result,
                refusals=outcome.refusals,
                pull=locked,
            )


def due_pulls(*, now: datetime) -> list[int]:
    """Claim the enabled pulls whose next attempt has come: each is pushed a lease ahead,
    so that the next minute's run does not send it again while a worker pulls it (the
    pull itself then sets its real next attempt)."""
    with transaction.atomic():
        due = list(
            PrometheusPull.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)
        )
        PrometheusPull.objects.filter(pk__in=due).update(next_attempt_at=now + CLAIM_LEASE)
    return due


def test_pull(*, pull: PrometheusPull, now: datetime) -> Mapping[str, Any]:
    """Ask Prometheus for the last ten steps without storing anything: what a pull would
    record and refuse now."""
    step = pull.step
    end = _align_down(now - step, step)
    start = end - step * 9
    objective = effective_service_level(pull.contract_service, pull.key)
    indicator = objective.indicator if objective else "threshold"
    try:
        series = query_range(pull.source, pull.query, start, end, step)
    except PullFailed as exc:
        outcome = IntegrationEvent.Outcome.FAILED
        result, refusals, answer = f"failed: {exc}", [], {"error": str(exc)}
    else:
        items, refusals = samples_of(
            series, contract_service_id=pull.contract_service_id, key=pull.key, indicator=indicator
        )
        outcome = (
            IntegrationEvent.Outcome.REFUSED if refusals else IntegrationEvent.Outcome.RECORDED
        )
        result = f"test: {len(items)} sample(s) would be recorded, {len(refusals)} refused"
        answer = {"samples": len(items), "refused": refusals}
    log_event(
        organization_id=pull.source.organization_id,
        channel=IntegrationEvent.Channel.PROMETHEUS,
        outcome=outcome,
        at=now,
        summary=f"Test pull of {pull.key} from {pull.source.name}",
        result=result,
        refusals=refusals,
        pull=pull,
        test=True,
    )
    return answer
