"""Shared fixtures: the personas every endpoint and page is checked against.

A provider with an admin, an editor and a viewer; its customer with a member; another
customer and another provider with a member each; an operator; and anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser

from contracts.models import Contract, Membership
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    CustomerFactory,
    MembershipFactory,
    ProviderFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"


@dataclass
class Personas:
    provider: object
    customer: object
    other_customer: object
    other_provider: object
    contract: Contract
    draft_contract: Contract
    other_contract: Contract
    provider_admin: object
    provider_editor: object
    provider_viewer: object
    customer_member: object
    other_customer_member: object
    other_provider_member: object
    operator: object
    anonymous: object


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dates: reads the real clock, or pins one that a real clock used to give; `make test` "
        "runs these again with the clock shifted (faketime), `make test-shifted` runs all",
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hashing the personas' passwords properly is most of a test's time; MD5 is fine here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def personas(db) -> Personas:
    provider = ProviderFactory(name="Acme Networks", slug="acme")
    customer = CustomerFactory(name="Globex", slug="globex")
    other_customer = CustomerFactory(name="Initech", slug="initech")
    other_provider = ProviderFactory(name="Umbrella Hosting", slug="umbrella")

    def member(username: str, org, role: str):
        user = UserFactory(username=username)
        MembershipFactory(user=user, organization=org, role=role)
        return user

    contract = ContractFactory(provider=provider, customer=customer, reference="ACME-1")
    ContractServiceFactory(contract=contract)
    draft = ContractFactory(
        provider=provider, customer=customer, reference="ACME-DRAFT", status="draft"
    )
    other_contract = ContractFactory(
        provider=other_provider, customer=other_customer, reference="UMB-1"
    )
    ContractServiceFactory(contract=other_contract)
    return Personas(
        provider=provider,
        customer=customer,
        other_customer=other_customer,
        other_provider=other_provider,
        contract=contract,
        draft_contract=draft,
        other_contract=other_contract,
        provider_admin=member("provider-admin", provider, Membership.Role.ADMIN),
        provider_editor=member("provider-editor", provider, Membership.Role.EDITOR),
        provider_viewer=member("provider-viewer", provider, Membership.Role.VIEWER),
        customer_member=member("customer-member", customer, Membership.Role.VIEWER),
        other_customer_member=member("other-customer", other_customer, Membership.Role.ADMIN),
        other_provider_member=member("other-provider", other_provider, Membership.Role.EDITOR),
        operator=UserFactory(username="operator", is_staff=True, is_superuser=True),
        anonymous=AnonymousUser(),
    )


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker) -> dict[str, str]:
    """The environment of a separate process that must reach the test database."""
    import os

    from django.db import connection

    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({"DATABASE_URL": url, "DEBUG": "1", "AXES_ENABLED": "0"})
    return env


@pytest.fixture
def celery_worker_process(worker_env, transactional_db):
    """A real Celery worker process on the real Redis broker, stopped after the test."""
    from tests.processes import CeleryWorker

    worker = CeleryWorker(worker_env)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language: a request through the test client leaves
    the language its middleware activated in the thread (German, for a German reader),
    which Django does not reset after the response."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache():
    """Pages cached by one test (the dashboard's content) are never another test's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


SCHEDULE_MIGRATIONS = (
    "credits.migrations.0003_settlement_sweep_schedule",
    "credits.migrations.0004_delivery_retry_schedule",
    "people.migrations.0002_daily_digest_schedule",
    "integrations.migrations.0002_integrations_schedule",
    "contracts.migrations.0011_measurement_partitions_schedule",
)


@pytest.fixture
def migrated_schedules(db) -> None:
    """Celery beat's schedules as the migrations create them: a transactional test run
    earlier in the same process flushes what migrations wrote."""
    from importlib import import_module

    from django.apps import apps

    for name in SCHEDULE_MIGRATIONS:
        import_module(name).create_schedule(apps, None)
