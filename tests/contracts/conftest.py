"""What the contract pages' tests share: the editor's client, and the reports-on-time
objective of ACME-1 with its hourly samples (the browser tests use them too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from contracts.models import Measurement, ServiceLevel

REPORTS_ON_TIME = {
    "key": "report-delivery",
    "name": "Reports on time",
    "indicator": "ratio",
    "target": Decimal("99.5"),
    "credit_rule": {"kind": "per_step", "step": "0.5", "percent": "1"},
}


@pytest.fixture
def editor(personas, client):
    client.force_login(personas.provider_editor)
    return client


def contract_objective(personas, **fields) -> ServiceLevel:
    """An objective set on the personas' contract ACME-1 itself (contract-wide)."""
    return ServiceLevel.objects.create(
        level="customer", provider=personas.provider, contract=personas.contract, **fields
    )


def hourly_samples(cs, first: datetime, ok: int, total: int, key: str = "report-delivery"):
    """`total` samples an hour apart from `first`; the first `ok` of them are on time."""
    Measurement.objects.bulk_create(
        Measurement(contract_service=cs, key=key, observed_at=first + timedelta(hours=i), ok=i < ok)
        for i in range(total)
    )
