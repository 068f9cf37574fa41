"""Currency minor units follow ISO 4217, and the migration that switched to it checks that
existing contracts keep their figures."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as global_apps

import engine
from engine.text import plain_money
from tests.factories import ContractFactory, ContractServiceFactory

migration = importlib.import_module(
    "contracts.migrations.0005_contract_figures_fit_iso_4217_minor_units"
)


@pytest.mark.parametrize(
    ("currency", "places", "amount", "rounded"),
    [
        ("HUF", 2, "1234.565", "1234.57"),
        ("BHD", 3, "1.2345", "1.235"),
        ("CLF", 4, "0.12345", "0.1235"),
        ("JPY", 0, "1234.5", "1235"),
        ("EUR", 2, "0.125", "0.13"),
    ],
)
def test_minor_units_and_rounding_follow_iso_4217(currency, places, amount, rounded):
    assert engine.minor_units(currency) == places
    assert engine.quantize_money(Decimal(amount), currency) == Decimal(rounded)
    assert plain_money(Decimal(amount), currency) == rounded


@pytest.mark.parametrize("code", ["XAU", "XDR", "XXX", "XTS", "DEM", "huf", "EURO"])
def test_codes_without_an_iso_4217_minor_unit_are_not_money(code):
    assert not engine.is_currency(code)
    with pytest.raises(ValueError, match="not an ISO 4217 currency code"):
        engine.minor_units(code)


@pytest.mark.django_db
def test_the_migration_passes_when_every_contract_keeps_its_figures():
    ContractServiceFactory(contract=ContractFactory(currency="HUF"), fee=Decimal("125000.00"))
    ContractServiceFactory(contract=ContractFactory(currency="JPY"), fee=Decimal("5000"))

    migration.check_figures(global_apps, None)


@pytest.mark.django_db
def test_the_migration_stops_naming_a_contract_whose_currency_has_no_minor_unit():
    contract = ContractFactory(currency="EUR")
    # Written past the model's validation, as data from before the check could be.
    type(contract).objects.filter(pk=contract.pk).update(currency="XAU")

    with pytest.raises(RuntimeError, match=f"{contract.reference}.*XAU has no ISO 4217"):
        migration.check_figures(global_apps, None)


@pytest.mark.django_db
def test_the_migration_stops_naming_a_fee_finer_than_the_minor_unit():
    service = ContractServiceFactory(contract=ContractFactory(currency="EUR"))
    type(service).objects.filter(pk=service.pk).update(fee=Decimal("10.005"))

    with pytest.raises(RuntimeError, match=r"fee 10\.005 has more than 2 decimals"):
        migration.check_figures(global_apps, None)
