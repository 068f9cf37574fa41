"""Invariants of contracts and objectives: refused by full_clean and by the database."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from contracts.models import Contract, Incident, MaintenanceWindow, ServiceLevel
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    CustomerFactory,
    IncidentFactory,
    ProviderFactory,
    ResponsibilityFactory,
    ResponsibilityLapseFactory,
    ServiceFactory,
    ServiceLevelFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.fromisoformat("2026-10-01T00:00:00+00:00").tzinfo


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def integrity_error(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_reference_is_unique_per_provider_only():
    contract = ContractFactory(reference="R-1")
    ContractFactory(reference="R-1")  # another provider: fine
    integrity_error(
        lambda: ContractFactory(
            provider=contract.provider, customer=contract.customer, reference="R-1"
        )
    )


def test_contract_parties_must_have_the_right_kinds():
    provider, customer = ProviderFactory(), CustomerFactory()
    swapped = ContractFactory.build(provider=customer, customer=provider)
    errors = errors_of(swapped)
    assert "provider" in errors and "customer" in errors


def test_contract_end_cannot_precede_start_in_forms_and_database():
    contract = ContractFactory.build(
        provider=ProviderFactory(),
        customer=CustomerFactory(),
        start_date=date(2026, 5, 1),
        end_date=date(2026, 4, 30),
    )
    assert "end_date" in errors_of(contract)
    integrity_error(lambda: ContractFactory(start_date=date(2026, 5, 1), end_date=date(2026, 4, 1)))


@pytest.mark.parametrize("currency", ["EURO", "XYZ", "eur", "12"])
def test_currency_must_be_a_real_iso_4217_code(currency):
    contract = ContractFactory.build(
        provider=ProviderFactory(), customer=CustomerFactory(), currency=currency
    )
    assert "currency" in errors_of(contract)


def test_timezone_must_be_a_real_iana_name():
    contract = ContractFactory.build(
        provider=ProviderFactory(), customer=CustomerFactory(), timezone="Mars/Olympus"
    )
    assert "timezone" in errors_of(contract)


def test_the_servers_own_zone_is_not_a_contracts_timezone():
    contract = ContractFactory.build(
        provider=ProviderFactory(), customer=CustomerFactory(), timezone="localtime"
    )
    assert "timezone" in errors_of(contract)


def test_fee_cannot_be_negative_nor_finer_than_the_currency():
    cs = ContractServiceFactory()
    cs.fee = Decimal("-1")
    assert "fee" in errors_of(cs)
    cs.fee = Decimal("10.005")
    assert "fee" in errors_of(cs)
    integrity_error(lambda: ContractServiceFactory(fee=Decimal("-5")))


def test_contract_service_must_be_offered_by_the_contracts_provider():
    cs = ContractServiceFactory.build(contract=ContractFactory(), service=ServiceFactory())
    assert "service" in errors_of(cs)


def test_objective_fields_must_match_its_level():
    contract = ContractFactory()
    sl = ServiceLevelFactory.build(provider=contract.provider, level="corporate", contract=contract)
    assert "contract" in errors_of(sl)
    integrity_error(
        lambda: ServiceLevelFactory(provider=contract.provider, level="service", service=None)
    )


def test_one_objective_per_scope_and_key():
    provider = ProviderFactory()
    ServiceLevelFactory(provider=provider, key="availability")
    integrity_error(lambda: ServiceLevelFactory(provider=provider, key="availability"))


def test_percentage_targets_lie_within_0_and_100():
    sl = ServiceLevelFactory.build(provider=ProviderFactory(), target=Decimal("100.1"))
    assert "target" in errors_of(sl)
    integrity_error(lambda: ServiceLevelFactory(target=Decimal("101")))
    ServiceLevelFactory(indicator="count", key="errors", target=Decimal("500"))


def test_threshold_objectives_carry_a_threshold():
    sl = ServiceLevelFactory.build(provider=ProviderFactory(), indicator="threshold", key="speed")
    errors = errors_of(sl)
    assert "threshold" in errors and "threshold_comparator" in errors
    integrity_error(lambda: ServiceLevelFactory(indicator="threshold", key="speed"))


def test_provider_is_implied_by_the_contract_and_a_disagreeing_one_refused():
    contract = ContractFactory()
    sl = ServiceLevel(
        level="customer", contract=contract, key="k", name="K", indicator="ratio", target=95
    )
    sl.full_clean()
    assert sl.provider_id == contract.provider_id
    wrong = ServiceLevel(
        level="customer",
        contract=contract,
        provider=ProviderFactory(),
        key="k2",
        name="K",
        indicator="ratio",
        target=95,
    )
    assert "contract" in errors_of(wrong)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "per_step", "step": "0", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "0.5", "percent": "101"}, "percent"),
        (
            {
                "kind": "tiered",
                "tiers": [{"bound": "99", "percent": "30"}, {"bound": "99.9", "percent": "10"}],
            },
            "tiers",
        ),
        ({"kind": "bonus", "percent": "5"}, "kind"),
        ({"kind": "linear", "factor": "NaN"}, "factor"),
        ({"kind": "flat", "percent": "Infinity"}, "percent"),
    ],
)
def test_invalid_credit_rules_are_refused_naming_the_field(rule, field):
    sl = ServiceLevelFactory.build(provider=ProviderFactory(), credit_rule=rule)
    with pytest.raises(ValidationError) as caught:
        sl.full_clean()
    (error,) = caught.value.error_dict["credit_rule"]
    assert error.code == field, error.message


def test_pool_rule_needs_a_contract_with_an_at_risk_amount():
    contract = ContractFactory(credit_cap_percent=None)
    rule = {"kind": "pool", "allocation_percent": "20"}
    sl = ServiceLevelFactory.build(
        provider=contract.provider, level="customer", contract=contract, credit_rule=rule
    )
    assert "at-risk amount" in errors_of(sl)["credit_rule"][0]
    contract.credit_cap_percent = Decimal("10")
    contract.save()
    sl.full_clean()
    corporate = ServiceLevelFactory.build(provider=contract.provider, credit_rule=rule)
    assert "credit_rule" in errors_of(corporate)


def test_incidents_lapses_and_windows_end_after_they_start():
    cs = ContractServiceFactory()
    assert "ended_at" in errors_of(
        Incident(contract_service=cs, started_at=at(2), ended_at=at(1), cause="provider")
    )
    integrity_error(lambda: IncidentFactory(contract_service=cs, started_at=at(2), ended_at=at(2)))
    window = MaintenanceWindow(contract=cs.contract, start=at(3), end=at(3))
    assert "end" in errors_of(window)
    integrity_error(
        lambda: ResponsibilityLapseFactory(
            responsibility=ResponsibilityFactory(contract=cs.contract), start=at(5), end=at(4)
        )
    )


def test_deleting_a_contract_with_issued_statements_is_refused():
    from credits.models import Statement

    contract = ContractFactory()
    Statement.objects.create(
        contract=contract,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        currency="EUR",
        fees_total=0,
        credit_total=0,
        fingerprint="x",
        issued_at=at(1),
    )
    with pytest.raises(ProtectedError):
        contract.delete()
    assert Contract.objects.filter(pk=contract.pk).exists()


def test_a_contract_without_statements_may_still_be_deleted_and_takes_its_parts_along():
    cs = ContractServiceFactory()
    IncidentFactory(contract_service=cs, started_at=at(1), ended_at=at(1) + timedelta(hours=1))
    cs.contract.delete()
    assert not Incident.objects.exists()
