"""Bulk measurements: a batch is stored whole or rejected whole, every bad item named."""

from decimal import Decimal

import pytest

from contracts.models import Measurement
from contracts.services import MAX_BATCH, BatchRejected, record_measurements
from tests.factories import ContractServiceFactory, ServiceLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporting():
    cs = ContractServiceFactory()
    provider = cs.contract.provider
    ServiceLevelFactory(provider=provider, key="report-delivery", indicator="ratio", target=99)
    ServiceLevelFactory(
        provider=provider,
        key="speed",
        indicator="threshold",
        target=95,
        threshold=Decimal("100"),
        threshold_comparator="gte",
    )
    ServiceLevelFactory(
        provider=provider, key="failed-reports", indicator="count", comparator="lte", target=2
    )
    ServiceLevelFactory(provider=provider, key="availability", indicator="uptime", target=99)
    return cs


def sample(cs, **fields):
    return {
        "contract_service": cs.pk,
        "key": "report-delivery",
        "observed_at": "2026-10-05T09:00:00+02:00",
        "ok": True,
        **fields,
    }


def test_a_valid_batch_is_stored_whole(reporting):
    items = [sample(reporting) for _ in range(100)]
    items.append(sample(reporting, key="speed", ok=None, value="123.5"))
    items.append(sample(reporting, key="failed-reports", ok=None, value=None))
    assert record_measurements(items=items) == 102
    assert Measurement.objects.count() == 102
    speed = Measurement.objects.get(key="speed")
    assert speed.value == Decimal("123.5")
    assert speed.observed_at.isoformat() == "2026-10-05T07:00:00+00:00"


def test_a_batch_with_bad_items_is_rejected_whole_naming_each_item(reporting):
    items = [
        sample(reporting),
        sample(reporting, observed_at="2026-10-05T09:00:00"),  # no offset
        sample(reporting, key="unknown-metric"),
        sample(reporting, contract_service=999999),
        sample(reporting, ok=None),  # ratio without ok
        sample(reporting, key="speed", value="fast"),
        sample(reporting, key="availability"),  # uptime is measured by incidents
        sample(reporting, value="NaN", key="failed-reports"),
    ]
    with pytest.raises(BatchRejected) as caught:
        record_measurements(items=items)
    found = {(e.index, e.field) for e in caught.value.errors}
    assert found == {
        (1, "observed_at"),
        (2, "key"),
        (3, "contract_service"),
        (4, "ok"),
        (5, "value"),
        (6, "key"),
        (7, "value"),
    }
    assert Measurement.objects.count() == 0


def test_a_contract_service_outside_the_callers_scope_reads_as_missing(reporting):
    other = ContractServiceFactory()
    scope = type(reporting).objects.filter(contract__provider=reporting.contract.provider)
    with pytest.raises(BatchRejected) as caught:
        record_measurements(items=[sample(other)], contract_services=scope)
    assert caught.value.errors[0].message == f"contract service {other.pk} does not exist"


def test_batches_are_limited_to_ten_thousand_samples(reporting):
    with pytest.raises(BatchRejected) as too_many:
        record_measurements(items=[sample(reporting)] * (MAX_BATCH + 1))
    assert too_many.value.errors[0].message == "at most 10,000 samples per batch"
    with pytest.raises(BatchRejected) as empty:
        record_measurements(items=[])
    assert empty.value.errors[0].message == "the batch is empty"
    assert record_measurements(items=[sample(reporting)] * MAX_BATCH) == MAX_BATCH
