"""The read-replica router against a real streaming replica.

Run by tests/observability/test_replica.py in a pytest of its own, with DATABASE_URL on a
primary and DATABASE_REPLICA_URL on its streaming replica, both started for it. Replay on
the replica is paused to tell the two apart: a row written then exists on the primary only,
so a page that shows it read the primary, and one that does not read the replica.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from contracts.models import Contract, Membership
from slaportal.replica import STICKY_COOKIE, ReplicaReadsMiddleware
from tests.factories import ContractFactory, MembershipFactory, ProviderFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(
        "replica" not in settings.DATABASES,
        reason="run by test_replica.py against a streaming replica it starts",
    ),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "correct horse battery staple"


def wait_for_replay() -> None:
    """Until the replica has replayed everything the primary committed so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (lsn,) = cursor.fetchone()
    deadline = time.monotonic() + 30
    with connections["replica"].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@pytest.fixture
def paused_replica() -> Iterator[None]:
    """Replay paused on the replica from here on: what the primary commits next, the
    replica does not have."""
    wait_for_replay()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        wait_for_replay()


@pytest.fixture
def editor():
    provider = ProviderFactory()
    user = UserFactory(username="replica-editor")
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, organization=provider, role=Membership.Role.EDITOR)
    ContractFactory(provider=provider, reference="SEEN-EVERYWHERE")
    return user


def on_replica(**lookup) -> bool:
    return Contract.objects.using("replica").filter(**lookup).exists()


def test_the_replica_streams_the_primary(editor):
    wait_for_replay()
    assert on_replica(reference="SEEN-EVERYWHERE")
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)


def test_a_page_reads_the_replica(client, editor, paused_replica):
    client.force_login(editor)
    ContractFactory(provider=editor.memberships.get().organization, reference="PRIMARY-ONLY")
    assert not on_replica(reference="PRIMARY-ONLY")

    page = client.get("/contracts/")
    assert page.status_code == 200
    assert b"SEEN-EVERYWHERE" in page.content
    assert b"PRIMARY-ONLY" not in page.content  # read from the paused replica


def test_the_api_lists_from_the_replica_but_authenticates_on_the_primary(
    client, editor, paused_replica
):
    # The token is created after replay paused: it exists on the primary only, and works.
    token = Token.objects.create(user=editor)
    ContractFactory(provider=editor.memberships.get().organization, reference="PRIMARY-ONLY")
    response = client.get("/api/v1/contracts/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    references = {row["reference"] for row in response.json()["results"]}
    assert references == {"SEEN-EVERYWHERE"}


def test_after_a_post_the_browser_reads_the_primary_for_a_while(client, editor, paused_replica):
    response = client.post("/accounts/login/", {"username": "replica-editor", "password": PASSWORD})
    assert response.status_code == 302
    sticky = response.cookies[STICKY_COOKIE]
    assert sticky["max-age"] == settings.REPLICA_STICKY_SECONDS
    assert sticky["httponly"]
    ContractFactory(provider=editor.memberships.get().organization, reference="JUST-SAVED")

    assert b"JUST-SAVED" in client.get("/contracts/").content  # from the primary

    del client.cookies[STICKY_COOKIE]  # the moment has passed
    assert b"JUST-SAVED" not in client.get("/contracts/").content


def answer_with(read):
    """A request through ReplicaReadsMiddleware whose view returns ``read()``."""
    seen = {}

    def view(request):
        seen["value"] = read()
        return HttpResponse()

    ReplicaReadsMiddleware(view)(RequestFactory().get("/"))
    return seen["value"]


def test_within_a_request_a_transaction_and_anything_after_a_write_read_the_primary(
    editor, paused_replica
):
    ContractFactory(provider=editor.memberships.get().organization, reference="PRIMARY-ONLY")

    def exists() -> bool:
        return Contract.objects.filter(reference="PRIMARY-ONLY").exists()

    assert answer_with(exists) is False  # the replica

    def in_a_transaction() -> bool:
        with transaction.atomic():
            return exists()

    assert answer_with(in_a_transaction) is True

    def after_a_write() -> tuple[bool, bool]:
        before = exists()
        Contract.objects.filter(reference="SEEN-EVERYWHERE").update(title="Renamed")
        return before, exists()

    assert answer_with(after_a_write) == (False, True)


def test_outside_a_request_everything_reads_the_primary(editor, paused_replica):
    # Celery tasks, the sweep, management commands: what they decide from is the latest.
    ContractFactory(provider=editor.memberships.get().organization, reference="PRIMARY-ONLY")
    assert Contract.objects.filter(reference="PRIMARY-ONLY").exists()
    assert Contract.objects.db_manager().get(reference="PRIMARY-ONLY")._state.db == "default"


def test_a_related_object_is_read_where_its_parent_was(client, editor, paused_replica):
    contract = Contract.objects.get(reference="SEEN-EVERYWHERE")
    assert contract._state.db == "default"

    def provider_db() -> str:
        return Contract.objects.get(pk=contract.pk).provider._state.db

    assert answer_with(provider_db) == "replica"


def test_healthz_checks_both_databases(client):
    status = client.get("/healthz/?format=json")
    results = status.json()
    assert results["Database(alias='default')"] == "OK"
    assert results["Database(alias='replica')"] == "OK"


def test_migrations_run_on_the_primary_only():
    from django.db import router

    assert router.allow_migrate("default", "contracts")
    assert not router.allow_migrate("replica", "contracts")
