"""OpenSLO v1: a contract's effective objectives exported and imported into another
provider's contract give the same effective objectives; a preview writes nothing; a part
that cannot be mapped is refused with its path and nothing is imported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml

from contracts.models import ServiceLevel
from contracts.selectors import effective_service_levels_of
from integrations.models import IntegrationEvent
from integrations.services import openslo
from tests.api.conftest import client_for
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    ServiceFactory,
    ServiceLevelFactory,
)
from tests.integrations.conftest import NOW

pytestmark = pytest.mark.django_db

TIERS = {"kind": "tiered", "tiers": [{"bound": "99.9", "percent": "10"}]}


def comparable(contract):
    """Per service code and key, everything that decides an objective's figures."""
    result = {}
    for effective in effective_service_levels_of([contract])[contract.pk]:
        for sl in effective.service_levels:
            result[(effective.contract_service.service.code, sl.key)] = (
                sl.name,
                sl.indicator,
                sl.comparator,
                sl.target,
                sl.threshold,
                sl.threshold_comparator,
                sl.credit_rule,
                sl.priority,
                sl.calendar.name if sl.calendar_id else None,
            )
    return result


@pytest.fixture
def source_contract(personas):
    provider = personas.provider
    contract = personas.contract
    web = contract.services.get()
    mail = ContractServiceFactory(
        contract=contract, service=ServiceFactory(provider=provider, code="mail")
    )
    ServiceLevelFactory(
        provider=provider, key="availability", target=Decimal("99.95"), credit_rule=TIERS
    )
    ServiceLevelFactory(
        provider=provider,
        level="service",
        service=mail.service,
        key="delivery",
        name="Mail delivered",
        indicator="ratio",
        target=Decimal("99.5"),
    )
    ServiceLevelFactory(
        provider=provider,
        level="contract_service",
        contract=contract,
        service=web.service,
        key="latency",
        name="Fast pages",
        indicator="threshold",
        target=Decimal("95"),
        threshold=Decimal("0.25"),
        threshold_comparator="lte",
        credit_rule={"kind": "per_step", "step": "1", "percent": "2", "max_percent": "20"},
    )
    ServiceLevelFactory(
        provider=provider,
        level="customer",
        contract=contract,
        key="outages",
        name="Outages",
        indicator="count",
        comparator="lte",
        target=Decimal("3"),
    )
    ServiceLevelFactory(
        provider=provider,
        level="customer",
        contract=contract,
        key="p1-resolution",
        name="P1 resolved in 4 hours",
        indicator="resolution_time",
        target=Decimal("90"),
        threshold=Decimal("240"),
        threshold_comparator="lte",
        priority="P1",
    )
    return contract


def test_export_then_import_into_another_provider_gives_the_same_effective_objectives(
    personas, source_contract
):
    text = openslo.export_contract(source_contract)
    documents = list(yaml.safe_load_all(text))
    assert {d["kind"] for d in documents} == {"SLO"}
    assert len(documents) == len(comparable(source_contract)) == 2 * 3 + 1 * 1 + 1
    availability = next(
        d for d in documents if d["metadata"]["annotations"]["sla-portal/key"] == "availability"
    )
    assert availability["spec"]["budgetingMethod"] == "Timeslices"
    assert availability["spec"]["objectives"][0]["target"] == 0.9995
    assert availability["spec"]["timeWindow"] == [
        {
            "duration": "1M",
            "isRolling": False,
            "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "UTC"},
        }
    ]

    other = personas.other_provider
    target = ContractFactory(provider=other, reference="UMB-2", start_date=date(2026, 1, 1))
    for code in {code for code, _ in comparable(source_contract)}:
        ContractServiceFactory(contract=target, service=ServiceFactory(provider=other, code=code))
    plan = openslo.import_document(provider=other, contract=target, text=text, now=NOW)
    assert plan.errors == []
    assert {p.action for p in plan.objectives} == {"create"}
    assert comparable(target) == comparable(source_contract)
    assert IntegrationEvent.objects.get(organization=other).outcome == "recorded"

    # Importing the same document again replaces, it does not duplicate.
    again = openslo.import_document(provider=other, contract=target, text=text, now=NOW)
    assert {p.action for p in again.objectives} == {"replace"}
    assert comparable(target) == comparable(source_contract)


OPENSLO = """
apiVersion: openslo/v1
kind: SLI
metadata:
  name: search-latency
spec:
  thresholdMetric:
    metricSource:
      type: Prometheus
      spec:
        query: histogram_quantile(0.9, rate(http_duration_seconds_bucket[5m]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-availability
  displayName: Search is up
spec:
  service: {service}
  indicator:
    metadata:
      name: search-success
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total{{code!~"5.."}}[5m]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total[5m]))
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: "2026-01-01 00:00:00"
        timeZone: UTC
  budgetingMethod: Occurrences
  objectives:
    - displayName: Good requests
      target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-speed
spec:
  service: {service}
  indicatorRef: search-latency
  timeWindow:
    - duration: 1M
      isRolling: false
  budgetingMethod: Occurrences
  objectives:
    - displayName: p90 fast
      op: lte
      value: 0.3
      targetPercent: 95
    - displayName: p90 ok
      op: lte
      value: 1
      target: 0.99
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: burn-rate
spec:
  conditions: []
"""


def test_a_preview_shows_what_would_be_created_and_writes_nothing(personas, cs):
    text = OPENSLO.format(service=cs.service.code)
    before = ServiceLevel.objects.count()
    plan = openslo.plan_import(provider=personas.provider, contract=personas.contract, text=text)
    assert plan.errors == []
    rows = [p.as_dict() for p in plan.objectives]
    assert [(r["key"], r["indicator"], r["target"], r["threshold"]) for r in rows] == [
        ("search-availability", "ratio", "99.900", None),
        ("search-speed-p90-fast", "threshold", "95", "0.3"),
        ("search-speed-p90-ok", "threshold", "99.00", "1"),
    ]
    assert {r["level"] for r in rows} == {"contract_service"}
    assert any("AlertPolicy" in n.path and "not imported" in n.message for n in plan.notes)
    assert ServiceLevel.objects.count() == before


UNSUPPORTED = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: rolling
spec:
  service: {service}
  indicator:
    spec:
      ratioMetric: {{counter: true}}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: strict
spec:
  service: nope
  indicator:
    spec:
      thresholdMetric: {{}}
  timeWindow:
    - duration: 1M
      isRolling: false
  budgetingMethod: Occurrences
  objectives:
    - op: lt
      value: 0.3
      target: 0.9
---
apiVersion: openslo/v2alpha
kind: SLO
---
apiVersion: openslo/v1
kind: Dashboard
metadata:
  name: wall
"""


def test_a_document_with_unsupported_parts_is_refused_with_each_path(personas, cs):
    text = UNSUPPORTED.format(service=cs.service.code)
    before = ServiceLevel.objects.count()
    with pytest.raises(openslo.OpenSLORefused) as refused:
        openslo.import_document(
            provider=personas.provider, contract=personas.contract, text=text, now=NOW
        )
    problems = {(p.path, p.message) for p in refused.value.problems}
    paths = {path for path, _ in problems}
    assert "$[0] (SLO rolling).spec.timeWindow[0].isRolling" in paths
    assert "$[0] (SLO rolling).spec.timeWindow[0].duration" in paths
    assert "$[1] (SLO strict).spec.service" in paths
    assert "$[2].apiVersion" in paths
    assert "$[3] (Dashboard wall).kind" in paths
    assert any("rolling window cannot settle a contract" in m for _, m in problems)
    assert ServiceLevel.objects.count() == before
    event = IntegrationEvent.objects.get()
    assert event.outcome == "refused"
    assert any("isRolling" in r for r in event.refusals)


def test_a_strict_comparison_and_a_window_that_is_not_the_contracts_period(personas, cs):
    text = UNSUPPORTED.format(service=cs.service.code).split("---")[1]
    text = text.replace("service: nope", f"service: {cs.service.code}")
    plan = openslo.plan_import(provider=personas.provider, contract=personas.contract, text=text)
    assert [(p.path, p.message) for p in plan.errors] == [
        (
            "$[0] (SLO strict).spec.objectives[0].op",
            "'lt': the portal compares inclusively, with lte or gte",
        )
    ]
    quarterly = OPENSLO.format(service=cs.service.code).replace("duration: 1M", "duration: 1Q")
    plan = openslo.plan_import(
        provider=personas.provider, contract=personas.contract, text=quarterly
    )
    assert any(
        p.path.endswith("timeWindow[0].duration") and "ACME-1's settlement period (1M)" in p.message
        for p in plan.errors
    )


def test_not_yaml_is_refused_with_its_line(personas):
    with pytest.raises(openslo.OpenSLORefused) as refused:
        openslo.plan_import(provider=personas.provider, contract=None, text="a: [1,\nb: 2")
    assert refused.value.problems[0].path.startswith("line ")


def test_the_api_previews_imports_and_exports(personas, cs):
    editor = client_for(personas.provider_editor)
    text = OPENSLO.format(service=cs.service.code)
    body = {
        "organization": personas.provider.pk,
        "contract": personas.contract.pk,
        "document": text,
    }
    preview = editor.post("/api/v1/openslo/import/", body, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json()["imported"] is False
    assert len(preview.json()["objectives"]) == 3
    assert not ServiceLevel.objects.filter(key__startswith="search").exists()

    done = editor.post("/api/v1/openslo/import/", {**body, "dry_run": False}, format="json")
    assert done.status_code == 200
    assert ServiceLevel.objects.filter(key__startswith="search").count() == 3

    refused = editor.post(
        "/api/v1/openslo/import/",
        {**body, "document": UNSUPPORTED.format(service=cs.service.code), "dry_run": False},
        format="json",
    )
    assert refused.status_code == 400
    assert {"path", "message"} <= set(refused.json()["errors"][0])

    # Another provider's contract, or a provider one does not edit: per-field 400s.
    bad = editor.post(
        "/api/v1/openslo/import/",
        {
            **body,
            "contract": personas.other_contract.pk,
            "organization": personas.other_provider.pk,
        },
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"organization", "contract"}
    assert editor.post("/api/v1/openslo/import/", {**body, "colour": 1}, format="json").json() == {
        "colour": ["Unknown field."]
    }

    export = client_for(personas.customer_member).get(
        f"/api/v1/openslo/export/?contract={personas.contract.pk}"
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/yaml")
    assert "search-availability" in export.content.decode()
    outsider = client_for(personas.other_customer_member)
    assert (
        outsider.get(f"/api/v1/openslo/export/?contract={personas.contract.pk}").status_code == 404
    )
    assert outsider.get("/api/v1/openslo/export/?contract=３").status_code == 400


def test_the_import_page_previews_then_imports(personas, cs, client):
    client.force_login(personas.provider_editor)
    url = f"/providers/{personas.provider.slug}/integrations/openslo/"
    text = OPENSLO.format(service=cs.service.code)
    form = {"contract": personas.contract.pk, "document": text}
    preview = client.post(url, {**form, "preview": ""})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "search-speed-p90-fast" in page
    assert "Import 3 objectives" in page
    assert "AlertPolicy" in page
    assert not ServiceLevel.objects.filter(key__startswith="search").exists()

    refused = client.post(url, {**form, "document": UNSUPPORTED.format(service="x")})
    assert "Cannot be imported" in refused.content.decode()
    assert "$[2].apiVersion" in refused.content.decode()

    done = client.post(url, {**form, "confirm": ""})
    assert done.status_code == 302
    assert ServiceLevel.objects.filter(key__startswith="search").count() == 3

    client.force_login(personas.provider_viewer)
    assert client.get(url).status_code == 403
    client.force_login(personas.other_provider_member)
    assert client.get(url).status_code == 404
