"""The hierarchy of objectives: the most specific one per key wins (SPEC E4)."""

from decimal import Decimal

import pytest

from contracts.selectors import effective_service_levels
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    ServiceFactory,
    ServiceLevelFactory,
)

pytestmark = pytest.mark.django_db


def effective_targets(contract) -> dict[str, dict[str, tuple[Decimal, str]]]:
    return {
        entry.contract_service.service.code: {
            sl.key: (sl.target, sl.level) for sl in entry.service_levels
        }
        for entry in effective_service_levels(contract)
    }


def test_e4_customer_level_overrides_corporate_and_contract_service_level_removes_it():
    c = ContractFactory()
    s = ContractServiceFactory(contract=c, service=ServiceFactory(provider=c.provider, code="s"))
    ContractServiceFactory(contract=c, service=ServiceFactory(provider=c.provider, code="t"))
    other = ContractFactory(provider=c.provider)
    ContractServiceFactory(contract=other, service=s.service)
    common = {"key": "support-response", "indicator": "ratio", "name": "Support response"}
    ServiceLevelFactory(provider=c.provider, level="corporate", target=Decimal("95"), **common)
    ServiceLevelFactory(
        provider=c.provider, level="customer", contract=c, target=Decimal("98"), **common
    )
    ServiceLevelFactory(
        provider=c.provider,
        level="contract_service",
        contract=c,
        service=s.service,
        target=Decimal("99"),
        enabled=False,
        **common,
    )

    assert effective_targets(c) == {
        "s": {},
        "t": {"support-response": (Decimal("98.0000"), "customer")},
    }
    assert effective_targets(other) == {
        "s": {"support-response": (Decimal("95.0000"), "corporate")}
    }
    removed = next(e for e in effective_service_levels(c) if e.contract_service == s).removed
    assert [sl.level for sl in removed] == ["contract_service"]


def test_service_level_applies_to_that_service_in_every_contract_but_not_others():
    c = ContractFactory()
    fibre = ContractServiceFactory(
        contract=c, service=ServiceFactory(provider=c.provider, code="f")
    )
    ContractServiceFactory(contract=c, service=ServiceFactory(provider=c.provider, code="g"))
    ServiceLevelFactory(provider=c.provider, level="corporate", target=Decimal("99.5"))
    ServiceLevelFactory(
        provider=c.provider, level="service", service=fibre.service, target=Decimal("99.9")
    )
    assert effective_targets(c) == {
        "f": {"availability": (Decimal("99.9000"), "service")},
        "g": {"availability": (Decimal("99.5000"), "corporate")},
    }


def test_another_providers_corporate_objectives_never_apply():
    c = ContractFactory()
    ContractServiceFactory(contract=c)
    ServiceLevelFactory(level="corporate")  # a different provider
    assert effective_targets(c) == {next(iter(effective_targets(c))): {}}


def test_effective_objectives_of_fifty_services_take_a_constant_number_of_queries(
    django_assert_num_queries,
):
    c = ContractFactory()
    for n in range(50):
        cs = ContractServiceFactory(
            contract=c, service=ServiceFactory(provider=c.provider, code=f"svc-{n}")
        )
        ServiceLevelFactory(
            provider=c.provider, level="service", service=cs.service, key="speed", indicator="count"
        )
        ServiceLevelFactory(
            provider=c.provider,
            level="contract_service",
            contract=c,
            service=cs.service,
            key="errors",
            indicator="count",
        )
    ServiceLevelFactory(provider=c.provider, level="corporate")
    with django_assert_num_queries(2):
        result = effective_service_levels(c)
    assert len(result) == 50
    assert all(len(entry.service_levels) == 3 for entry in result)
