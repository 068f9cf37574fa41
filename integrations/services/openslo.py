"""OpenSLO v1 in and out.

**Import.** An OpenSLO document (one or more YAML documents) is read into objectives:

- each ``SLO`` becomes one objective per entry of ``spec.objectives``, at the
  contract-service level of the chosen contract (the SLO's ``spec.service`` names one of
  its services by code), or at the service level when no contract is chosen;
- its indicator (inline, or an ``SLI`` referenced by ``indicatorRef``) says the kind:
  a ``ratioMetric`` becomes a ``ratio`` objective, a ``thresholdMetric`` a ``threshold``
  objective whose threshold and comparator are the objective's ``value`` and ``op``
  (``lte``/``gte``); ``budgetingMethod: Timeslices`` (the share of good time) becomes an
  ``uptime`` objective, measured from incidents;
- ``target`` (0–1) or ``targetPercent`` is the target; the time window must be
  calendar-aligned (``isRolling: false``) and as long as the contract's settlement period
  (``1w``, ``1M``, ``1Q``);
- what only the portal knows travels in ``metadata.annotations`` under ``sla-portal/``:
  the objective's key, its indicator (``count`` and the ticket clocks have no OpenSLO
  metric of their own), comparator, credit rule (JSON), ticket priority and calendar.

``AlertPolicy`` (and ``AlertCondition``, ``AlertNotificationTarget``, ``DataSource``,
``Service``) documents are read and reported as notes: alerting stays with the monitoring,
and metric sources are not queried (a Prometheus pull does that). Anything else that
cannot be mapped — an unknown kind, a rolling window, a window that is not the contract's
period, a strict ``lt``/``gt``, a service the contract does not have — is an error with
the path of the part in the document, and nothing is imported while there is one.

**Export.** A contract's effective objectives, one ``SLO`` per contract service and key,
with the annotations that let an import into another provider's contract recreate the
same effective objectives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext

from contracts import services as contract_services
from contracts.models import Contract, Organization, Service, ServiceCalendar, ServiceLevel
from contracts.selectors import effective_service_levels_of
from integrations.models import IntegrationEvent
from integrations.services.events import log_event

API_VERSION = "openslo/v1"
ANNOTATION = "sla-portal/"
MAX_DOCUMENT_BYTES = 1_000_000
PERIOD_WINDOWS = {"week": "1w", "month": "1M", "quarter": "1Q"}
WINDOW_PERIODS = {"1w": "week", "7d": "week", "1M": "month", "1Q": "quarter", "3M": "quarter"}
OPS = {"lte": "lte", "gte": "gte"}
NOTED_KINDS = ("AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource", "Service")
_FOUR_PLACES = Decimal("0.0001")


class OpenSLORefused(Exception):
    """A document that cannot be imported; ``problems`` name each part by its path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class PlannedObjective:
    """An objective the import would create (or replace), as the preview shows it."""

    path: str
    action: str  # "create" or "replace"
    service_level: ServiceLevel
    service_code: str

    def as_dict(self) -> dict[str, Any]:
        sl = self.service_level
        return {
            "path": self.path,
            "action": self.action,
            "level": sl.level,
            "service": self.service_code,
            "key": sl.key,
            "name": sl.name,
            "indicator": sl.indicator,
            "comparator": sl.comparator,
            "target": str(sl.target),
            "threshold": None if sl.threshold is None else str(sl.threshold),
            "threshold_comparator": sl.threshold_comparator,
            "priority": sl.priority,
            "calendar": sl.calendar.name if sl.calendar_id else None,
            "credit_rule": sl.credit_rule,
        }


@dataclass
class ImportPlan:
    objectives: list[PlannedObjective] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objectives": [o.as_dict() for o in self.objectives],
            "notes": [n.as_dict() for n in self.notes],
            "errors": [e.as_dict() for e in self.errors],
        }


# --------------------------------------------------------------------------- reading


def _documents(text: str) -> list[Any]:
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise OpenSLORefused([Problem("$", "the document is larger than 1 MB")])
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or str(exc)
        raise OpenSLORefused([Problem(where, f"not YAML: {problem}")]) from None


def _decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _annotations(doc: dict[str, Any]) -> dict[str, str]:
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    raw = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    return {
        str(k)[len(ANNOTATION) :]: str(v) for k, v in raw.items() if str(k).startswith(ANNOTATION)
    }


class _Reader:
    def __init__(
        self, provider: Organization, contract: Contract | None, documents: list[Any]
    ) -> None:
        self.provider = provider
        self.contract = contract
        self.documents = documents
        self.plan = ImportPlan()
        self.slis: dict[str, tuple[str, dict[str, Any]]] = {}

    def error(self, path: str, message: str) -> None:
        self.plan.errors.append(Problem(path, message))

    def note(self, path: str, message: str) -> None:
        self.plan.notes.append(Problem(path, message))

    def read(self) -> ImportPlan:
        slos = []
        for index, doc in enumerate(self.documents):
            path = f"$[{index}]"
            if not isinstance(doc, dict):
                self.error(
                    path, gettext("expected an OpenSLO object (apiVersion, kind, metadata, spec)")
                )
                continue
            kind = doc.get("kind")
            name = self._name(doc)
            if name:
                path = f"{path} ({kind} {name})"
            if doc.get("apiVersion") != API_VERSION:
                self.error(
                    f"{path}.apiVersion",
                    gettext("only %(API_VERSION)s is read, not %(value1)s")
                    % {"API_VERSION": API_VERSION, "value1": repr(doc.get("apiVersion"))},
                )
                continue
            if kind == "SLO":
                slos.append((path, doc))
            elif kind == "SLI":
                if name:
                    self.slis[name] = (path, doc)
                else:
                    self.error(
                        f"{path}.metadata.name", gettext("an SLI needs a name to be referred to")
                    )
            elif kind in NOTED_KINDS:
                self.note(path, self._noted(kind))
            else:
                self.error(
                    f"{path}.kind",
                    gettext("%(kind)s is not an OpenSLO v1 kind the portal reads")
                    % {"kind": repr(kind)},
                )
        if not slos and not self.plan.errors:
            self.error("$", gettext("the document has no SLO"))
        for path, doc in slos:
            self._slo(path, doc)
        return self.plan

    @staticmethod
    def _name(doc: dict[str, Any]) -> str:
        metadata = doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return name if isinstance(name, str) else ""

    @staticmethod
    def _noted(kind: str) -> str:
        if kind in ("AlertPolicy", "AlertCondition", "AlertNotificationTarget"):
            return (
                f"{kind}: alerting stays with your monitoring; the portal warns of breaches "
                "by its own projection, so this part is not imported"
            )
        if kind == "DataSource":
            return "DataSource: not queried; pull a Prometheus query into the objective instead"
        return "Service: services are the provider's catalogue; SLOs name them by code"

    def _indicator(self, path: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if isinstance(spec.get("indicator"), dict):
            return f"{path}.spec.indicator", spec["indicator"]
        ref = spec.get("indicatorRef")
        if isinstance(ref, str):
            if ref not in self.slis:
                self.error(
                    f"{path}.spec.indicatorRef",
                    gettext("no SLI named %(ref)s in the document") % {"ref": repr(ref)},
                )
                return None
            return self.slis[ref]
        self.error(f"{path}.spec", gettext("an SLO needs an indicator or an indicatorRef"))
        return None

    def _window(self, path: str, spec: dict[str, Any]) -> None:
        windows = spec.get("timeWindow")
        if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
            self.error(f"{path}.spec.timeWindow", gettext("expected one time window"))
            return
        window = windows[0]
        where = f"{path}.spec.timeWindow[0]"
        if window.get("isRolling") is not False:
            self.error(
                f"{where}.isRolling",
                gettext(
                    "a rolling window cannot settle a contract: use a calendar-aligned window "
                    "(isRolling: false)"
                ),
            )
        duration = window.get("duration")
        period = WINDOW_PERIODS.get(str(duration))
        if period is None:
            self.error(
                f"{where}.duration",
                gettext("%(duration)s is not a settlement period (1w, 1M or 1Q)")
                % {"duration": repr(duration)},
            )
        elif self.contract is not None and period != self.contract.settlement_period:
            self.error(
                f"{where}.duration",
                gettext(
                    "%(duration)s does not match %(reference)s's settlement period (%(value2)s)"
                )
                % {
                    "duration": duration,
                    "reference": self.contract.reference,
                    "value2": PERIOD_WINDOWS[self.contract.settlement_period],
                },
            )
        calendar = window.get("calendar")
        zone = calendar.get("timeZone") if isinstance(calendar, dict) else None
        if self.contract is not None and zone and zone != self.contract.timezone:
            self.note(
                f"{where}.calendar.timeZone",
                gettext("periods follow %(reference)s's time zone (%(timezone)s), not %(zone)s")
                % {
                    "reference": self.contract.reference,
                    "timezone": self.contract.timezone,
                    "zone": zone,
                },
            )

    def _slo(self, path: str, doc: dict[str, Any]) -> None:
        spec = doc.get("spec")
        if not isinstance(spec, dict):
            self.error(f"{path}.spec", gettext("an SLO needs a spec"))
            return
        before = len(self.plan.errors)
        annotations = _annotations(doc)
        service = self._service(path, spec)
        self._window(path, spec)
        found = self._indicator(path, spec)
        method = spec.get("budgetingMethod")
        if method not in ("Occurrences", "Timeslices", "RatioTimeslices"):
            self.error(
                f"{path}.spec.budgetingMethod",
                gettext("%(method)s is not Occurrences, Timeslices or RatioTimeslices")
                % {"method": repr(method)},
            )
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or not objectives:
            self.error(f"{path}.spec.objectives", gettext("an SLO needs at least one objective"))
            return
        if found is None or len(self.plan.errors) > before:
            return
        sli_path, sli = found
        metric = self._metric_kind(sli_path, sli)
        indicator = annotations.get("indicator")
        if indicator is None:
            indicator = "uptime" if method in ("Timeslices", "RatioTimeslices") else metric
        if indicator not in ServiceLevel.Indicator.values:
            self.error(
                f"{path}.metadata.annotations.{ANNOTATION}indicator",
                gettext("%(indicator)s is not an indicator of the portal")
                % {"indicator": repr(indicator)},
            )
            return
        if indicator == "uptime":
            self.note(path, gettext("uptime is measured from incidents (Alertmanager or the API)"))
        base_key = annotations.get("key") or slugify(self._name(doc))[:60] or "objective"
        for position, objective in enumerate(objectives):
            where = f"{path}.spec.objectives[{position}]"
            if not isinstance(objective, dict):
                self.error(where, gettext("expected an objective object"))
                continue
            key = base_key
            if len(objectives) > 1:
                suffix = slugify(str(objective.get("displayName") or "")) or str(position + 1)
                key = f"{base_key}-{suffix}"[:60]
            self._objective(where, doc, spec, objective, indicator, key, annotations, service)

    def _service(self, path: str, spec: dict[str, Any]) -> Service | None:
        code = spec.get("service")
        if not isinstance(code, str) or not code:
            self.error(
                f"{path}.spec.service", gettext("an SLO names its service (the service's code)")
            )
            return None
        service = Service.objects.filter(provider=self.provider, code=code).first()
        if service is None:
            self.error(
                f"{path}.spec.service",
                gettext("%(provider)s has no service %(code)s")
                % {"provider": self.provider, "code": repr(code)},
            )
            return None
        if (
            self.contract is not None
            and not self.contract.services.filter(service=service).exists()
        ):
            self.error(
                f"{path}.spec.service",
                gettext("%(reference)s does not include the service %(code)s")
                % {"reference": self.contract.reference, "code": repr(code)},
            )
            return None
        return service

    def _metric_kind(self, path: str, sli: dict[str, Any]) -> str | None:
        spec = sli.get("spec") if isinstance(sli.get("spec"), dict) else sli
        if isinstance(spec.get("ratioMetric"), dict):
            return "ratio"
        if isinstance(spec.get("thresholdMetric"), dict):
            return "threshold"
        self.error(f"{path}.spec", gettext("an SLI has a ratioMetric or a thresholdMetric"))
        return None

    def _objective(
        self,
        where: str,
        doc: dict[str, Any],
        spec: dict[str, Any],
        objective: dict[str, Any],
        indicator: str,
        key: str,
        annotations: dict[str, str],
        service: Service | None,
    ) -> None:
        errors_before = len(self.plan.errors)
        target: Decimal | None
        if "targetPercent" in objective:
            target = _decimal(objective.get("targetPercent"))
        elif indicator == "count":
            target = _decimal(objective.get("value"))
        else:
            fraction = _decimal(objective.get("target"))
            target = None if fraction is None else fraction * 100
        if target is None:
            field_name = "value" if indicator == "count" else "target"
            self.error(f"{where}.{field_name}", gettext("a number is needed"))
        elif target != target.quantize(_FOUR_PLACES):
            self.error(f"{where}.target", gettext("a target has at most 4 decimals as a percent"))
        threshold = threshold_comparator = None
        comparator = annotations.get("comparator", "gte")
        op = objective.get("op")
        if indicator == "count":
            comparator = OPS.get(str(op), comparator) if op else comparator
            if op and op not in OPS:
                self.error(
                    f"{where}.op",
                    gettext("%(op)s: the portal compares with lte or gte") % {"op": repr(op)},
                )
        elif indicator in ("threshold", "response_time", "resolution_time"):
            threshold = _decimal(objective.get("value"))
            if threshold is None:
                self.error(f"{where}.value", gettext("a threshold objective needs a value"))
            if op not in OPS:
                self.error(
                    f"{where}.op",
                    gettext("%(op)s: the portal compares inclusively, with lte or gte")
                    % {"op": repr(op)},
                )
            threshold_comparator = OPS.get(str(op))
        if comparator not in OPS:
            self.error(
                f"{where}",
                gettext("comparator %(comparator)s is not lte or gte")
                % {"comparator": repr(comparator)},
            )
        credit_rule = None
        if "credit-rule" in annotations:
            try:
                credit_rule = json.loads(annotations["credit-rule"])
            except ValueError:
                self.error(
                    f"{where}: metadata.annotations.{ANNOTATION}credit-rule",
                    gettext("is not JSON"),
                )
        calendar = None
        if annotations.get("calendar"):
            calendar = ServiceCalendar.objects.filter(
                provider=self.provider, name=annotations["calendar"]
            ).first()
            if calendar is None:
                self.error(
                    f"{where}: metadata.annotations.{ANNOTATION}calendar",
                    gettext("%(provider)s has no service calendar %(value2)s")
                    % {"provider": self.provider, "value2": repr(annotations["calendar"])},
                )
        if len(self.plan.errors) > errors_before or service is None:
            return
        name = (
            (
                objective.get("displayName")
                if len(spec.get("objectives", [])) > 1 and objective.get("displayName")
                else None
            )
            or (doc.get("metadata") or {}).get("displayName")
            or self._name(doc)
            or key
        )
        level = (
            ServiceLevel.Level.CONTRACT_SERVICE
            if self.contract is not None
            else ServiceLevel.Level.SERVICE
        )
        existing = ServiceLevel.objects.filter(
            level=level, provider=self.provider, service=service, contract=self.contract, key=key
        ).first()
        sl = existing or ServiceLevel(
            level=level, provider=self.provider, contract=self.contract, service=service, key=key
        )
        sl.name = str(name)[:200]
        sl.indicator = indicator
        sl.comparator = comparator
        sl.target = target
        sl.threshold = threshold
        sl.threshold_comparator = threshold_comparator
        sl.credit_rule = credit_rule
        sl.calendar = calendar
        sl.priority = annotations.get("priority", "")
        sl.enabled = True
        try:
            sl.full_clean()
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                for message in messages:
                    self.error(
                        where,
                        gettext("%(field_name)s: %(message)s")
                        % {"field_name": field_name, "message": message},
                    )
            return
        self.plan.objectives.append(
            PlannedObjective(where, "replace" if existing else "create", sl, service.code)
        )


def plan_import(*, provider: Organization, contract: Contract | None, text: str) -> ImportPlan:
    """What importing ``text`` would create, with a note or an error per part it cannot
    map; nothing is written."""
    if contract is not None and contract.provider_id != provider.pk:
        raise OpenSLORefused([Problem("contract", "the contract belongs to another provider")])
    if provider.kind != Organization.Kind.PROVIDER:
        raise OpenSLORefused([Problem("organization", "objectives belong to providers")])
    plan = _Reader(provider, contract, _documents(text)).read()
    seen: dict[tuple[str, str], str] = {}
    for planned in plan.objectives:
        pair = (planned.service_code, planned.service_level.key)
        if pair in seen:
            plan.errors.append(
                Problem(
                    planned.path,
                    f"the key {pair[1]!r} of service {pair[0]!r} is also {seen[pair]}",
                )
            )
        seen[pair] = planned.path
    return plan


def import_document(
    *, provider: Organization, contract: Contract | None, text: str, now: Any
) -> ImportPlan:
    """Import ``text``: every planned objective is saved in one transaction, or nothing
    when the plan has an error (raises ``OpenSLORefused`` naming each part's path)."""
    try:
        plan = plan_import(provider=provider, contract=contract, text=text)
        if plan.errors:
            raise OpenSLORefused(plan.errors)
    except OpenSLORefused as refused:
        log_event(
            organization_id=provider.pk,
            channel=IntegrationEvent.Channel.OPENSLO,
            outcome=IntegrationEvent.Outcome.REFUSED,
            at=now,
            summary=f"OpenSLO import into {contract.reference if contract else 'services'}",
            refusals=[f"{p.path}: {p.message}" for p in refused.problems],
        )
        raise
    with transaction.atomic():
        for planned in plan.objectives:
            contract_services.save_service_level(service_level=planned.service_level)
    log_event(
        organization_id=provider.pk,
        channel=IntegrationEvent.Channel.OPENSLO,
        outcome=IntegrationEvent.Outcome.RECORDED,
        at=now,
        summary=f"OpenSLO import into {contract.reference if contract else 'services'}",
        result="\n".join(
            f"{p.action}d {p.service_code} / {p.service_level.key} ({p.service_level.indicator})"
            for p in plan.objectives
        ),
        refusals=[f"note: {n.path}: {n.message}" for n in plan.notes],
    )
    return plan


# --------------------------------------------------------------------------- writing


def _dns_label(text: str) -> str:
    return re.sub(r"-+", "-", slugify(text)).strip("-")[:63] or "slo"


def _number(value: Decimal) -> float | int:
    # YAML numbers; Decimal's shortest text read back by float gives the same decimal.
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return int(normalized)
    return float(normalized)


def _window(contract: Contract) -> list[dict[str, Any]]:
    start = contract.start_date
    anchor = date(start.year, 1, 1) if contract.settlement_period != "week" else start
    return [
        {
            "duration": PERIOD_WINDOWS[contract.settlement_period],
            "isRolling": False,
            "calendar": {
                "startTime": f"{anchor:%Y-%m-%d} 00:00:00",
                "timeZone": contract.timezone,
            },
        }
    ]


def _slo(contract: Contract, service: Service, sl: ServiceLevel) -> dict[str, Any]:
    annotations = {f"{ANNOTATION}key": sl.key, f"{ANNOTATION}indicator": sl.indicator}
    if sl.comparator != "gte":
        annotations[f"{ANNOTATION}comparator"] = sl.comparator
    if sl.credit_rule is not None:
        annotations[f"{ANNOTATION}credit-rule"] = json.dumps(sl.credit_rule, sort_keys=True)
    if sl.priority:
        annotations[f"{ANNOTATION}priority"] = sl.priority
    if sl.calendar_id:
        annotations[f"{ANNOTATION}calendar"] = sl.calendar.name
    source = {
        "type": "sla-portal",
        "spec": {"contract": contract.reference, "service": service.code, "key": sl.key},
    }
    objective: dict[str, Any] = {"displayName": sl.name}
    if sl.indicator in ("threshold", "response_time", "resolution_time"):
        metric = {"thresholdMetric": {"metricSource": source}}
        objective["op"] = sl.threshold_comparator or "lte"
        objective["value"] = _number(sl.threshold)
        objective["target"] = _number(sl.target / 100)
    elif sl.indicator == "count":
        metric = {"thresholdMetric": {"metricSource": source}}
        objective["op"] = sl.comparator
        objective["value"] = _number(sl.target)
        objective["target"] = 1
    else:
        metric = {
            "ratioMetric": {
                "counter": True,
                "good": {"metricSource": source},
                "total": {"metricSource": source},
            }
        }
        objective["target"] = _number(sl.target / 100)
    name = _dns_label(f"{contract.reference}-{service.code}-{sl.key}")
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {"name": name, "displayName": sl.name, "annotations": annotations},
        "spec": {
            "description": f"{sl.name} of {service.name} under {contract.reference}",
            "service": service.code,
            "indicator": {"metadata": {"name": f"{name}-sli"[:63]}, "spec": metric},
            "timeWindow": _window(contract),
            "budgetingMethod": "Timeslices" if sl.indicator == "uptime" else "Occurrences",
            "objectives": [objective],
        },
    }


def export_contract(contract: Contract) -> str:
    """The contract's effective objectives as OpenSLO v1 YAML, one SLO per contract
    service and key."""
    documents = []
    by_contract = effective_service_levels_of([contract])
    for effective in by_contract[contract.pk]:
        service = effective.contract_service.service
        for sl in effective.service_levels:
            documents.append(_slo(contract, service, sl))
    header = (
        f"# OpenSLO v1: the effective objectives of {contract.reference} ({contract.title}).\n"
        "# sla-portal/ annotations carry what OpenSLO has no field for (credit rules,\n"
        "# ticket clocks, counts); an import into the portal reads them back.\n"
    )
    if not documents:
        return header + "# (no objectives)\n"
    return header + yaml.safe_dump_all(
        documents, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
