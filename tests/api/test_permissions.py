"""The permission matrix: every endpoint × method × persona, with the status it answers
and every list counted exactly.

Columns, in order: anonymous, provider admin, provider editor, provider viewer, customer
member, other customer's member, other provider's member, operator. Outsiders always get
404 (never 403); insiders without the role get 403; customers write only disputes and claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from tests.api.conftest import PERSONAS, World, client_for, url

pytestmark = pytest.mark.django_db


@dataclass
class Endpoint:
    basename: str
    obj: Callable[[World], Any]
    counts: str
    expect: dict[str, str]
    create: Callable[[World], dict] | None = None
    update: Callable[[World], dict] | None = None
    actions: dict[str, tuple[str, bool, Callable[[World], dict] | None]] = field(
        default_factory=dict
    )


ON_ACME_1 = "401 201 201 403 403 403 400 201"
CHANGE = "401 200 200 403 403 404 404 200"
DELETE = "401 204 204 403 403 404 404 204"
PROTECTED = "401 409 409 403 403 404 404 409"
READ = "401 200 200 200 200 404 404 200"
NOT_OFFERED = "401 405 405 405 405 405 405 405"
# One row on each side: every member sees their own, the operator both.
ONE_A_SIDE = "- 1 1 1 1 1 1 2"
# What the provider's editors keep on ACME-1: everyone reads, editors write.
PROVIDER_OWNED = {"retrieve": READ, "create": ON_ACME_1, "update": CHANGE, "delete": DELETE}
# The same, but what refers to it (statement lines, contracts) makes deleting it a 409.
PROVIDER_OWNED_PROTECTED = {**PROVIDER_OWNED, "delete": PROTECTED}

ENDPOINTS = [
    Endpoint(
        "organization",
        obj=lambda w: w.p.provider,
        counts="- 2 2 2 2 2 2 4",
        create=lambda w: {"name": "Hooli", "slug": "hooli", "kind": "customer"},
        update=lambda w: {"name": "Acme Networks Ltd"},
        expect={
            "retrieve": READ,
            "create": "401 403 403 403 403 403 403 201",
            "update": "401 200 403 403 403 404 404 200",
            "delete": "401 403 403 403 403 404 404 409",
        },
    ),
    Endpoint(
        "membership",
        obj=lambda w: w.p.provider_viewer.memberships.get(),
        counts="- 3 3 3 1 1 1 6",
        create=lambda w: {
            "organization": w.p.provider.pk,
            "username": "new-colleague",
            "email": "new@acme.test",
            "password": "a perfectly long passphrase",
            "role": "viewer",
        },
        update=lambda w: {"role": "editor"},
        expect={
            "retrieve": "401 200 200 200 404 404 404 200",
            "create": "401 201 403 403 403 400 403 201",
            "update": "401 200 403 403 404 404 404 200",
            "delete": "401 204 403 403 404 404 404 204",
        },
    ),
    Endpoint(
        "service",
        obj=lambda w: w.service,
        counts=ONE_A_SIDE,
        create=lambda w: {"provider": w.p.provider.pk, "code": "dark-fibre", "name": "Fibre"},
        update=lambda w: {"name": "Renamed"},
        expect=PROVIDER_OWNED_PROTECTED,
    ),
    Endpoint(
        "contract",
        obj=lambda w: w.p.contract,
        counts="- 2 2 2 1 1 1 3",
        create=lambda w: {
            "provider": w.p.provider.pk,
            "customer": w.p.customer.pk,
            "reference": "ACME-2",
            "title": "Second agreement",
            "currency": "EUR",
            "start_date": "2026-03-01",
            "settlement_period": "month",
        },
        update=lambda w: {"title": "Renamed agreement"},
        expect={
            **PROVIDER_OWNED_PROTECTED,
            "effective-service-levels": READ,
            "settle": "401 201 201 403 403 404 404 201",
        },
        actions={
            "effective-service-levels": ("get", True, None),
            "settle": ("post", True, lambda w: {"period_start": "2026-10-01"}),
        },
    ),
    Endpoint(
        "contractservice",
        obj=lambda w: w.cs,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "contract": w.p.draft_contract.pk,
            "service": w.service.pk,
            "fee": "500.00",
        },
        update=lambda w: {"fee": "1200.00"},
        expect=PROVIDER_OWNED_PROTECTED,
    ),
    Endpoint(
        "servicelevel",
        obj=lambda w: w.availability,
        counts="- 3 3 3 2 1 1 4",
        create=lambda w: {
            "level": "customer",
            "contract": w.p.contract.pk,
            "key": "latency",
            "name": "Fast answers",
            "indicator": "ratio",
            "target": "99",
            "credit_rule": {"kind": "per_step", "step": "0.5", "percent": "1"},
        },
        update=lambda w: {"name": "Availability, renamed"},
        expect=PROVIDER_OWNED_PROTECTED,
    ),
    Endpoint(
        "responsibility",
        obj=lambda w: w.responsibility,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "contract": w.p.contract.pk,
            "title": "Answer the phone",
            "service_levels": [w.availability.pk],
        },
        update=lambda w: {"title": "Name a deputy too"},
        expect=PROVIDER_OWNED,
    ),
    Endpoint(
        "responsibilitylapse",
        obj=lambda w: w.lapse,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "responsibility": w.responsibility.pk,
            "start": "2026-02-01T10:00:00+01:00",
            "end": "2026-02-01T12:00:00+01:00",
            "note": "Nobody answered.",
        },
        update=lambda w: {"note": "Nobody answered for two hours."},
        expect={
            **PROVIDER_OWNED,
            # Either party's editors record one; outsiders name a responsibility they
            # cannot see (400, as for a missing id).
            "create": "401 201 201 403 403 400 400 201",
            # Only the customer's editors contest (the customer member here is a viewer).
            "contest": "401 403 403 403 403 404 404 200",
            # Only a contested lapse is decided, by the provider's editors.
            "decide": "401 400 400 403 403 404 404 400",
        },
        actions={
            "contest": ("post", True, lambda w: {"reason": "Our contact answered."}),
            "decide": ("post", True, lambda w: {"outcome": "kept", "resolution": "Logged."}),
        },
    ),
    Endpoint(
        "maintenancewindow",
        obj=lambda w: w.window,
        counts="- 2 2 2 1 1 1 3",
        create=lambda w: {
            "contract": w.p.contract.pk,
            "contract_service": w.cs.pk,
            "start": "2026-02-01T01:00:00Z",
            "end": "2026-02-01T02:00:00Z",
            "description": "Firmware",
        },
        update=lambda w: {"description": "Firmware and fans"},
        expect=PROVIDER_OWNED,
    ),
    Endpoint(
        "incident",
        obj=lambda w: w.incident,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "contract_service": w.cs.pk,
            "key": "availability",
            "started_at": "2026-02-02T10:00:00Z",
            "ended_at": "2026-02-02T10:30:00Z",
            "cause": "provider",
        },
        update=lambda w: {"cause": "customer"},
        expect=PROVIDER_OWNED,
    ),
    Endpoint(
        "measurement",
        obj=lambda w: w.measurement,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "contract_service": w.cs.pk,
            "key": "reports",
            "observed_at": "2026-02-02T10:00:00Z",
            "ok": True,
        },
        update=lambda w: {"ok": False},
        expect={
            "retrieve": READ,
            "create": ON_ACME_1,
            "update": NOT_OFFERED,
            "delete": NOT_OFFERED,
        },
    ),
    Endpoint(
        "statement",
        obj=lambda w: w.statement,
        counts=ONE_A_SIDE,
        create=lambda w: {"contract": w.p.contract.pk},
        update=lambda w: {"credit_total": "0"},
        expect={
            "retrieve": READ,
            "create": NOT_OFFERED,
            "update": NOT_OFFERED,
            "delete": NOT_OFFERED,
        },
    ),
    Endpoint(
        "dispute",
        obj=lambda w: w.dispute,
        counts=ONE_A_SIDE,
        create=lambda w: {"line": w.free_line.pk, "reason": "The data was late."},
        update=lambda w: {
            "status": "accepted",
            "resolution": "Credited in full.",
            "remedy": "correction",
        },
        expect={
            "retrieve": READ,
            "create": "401 403 403 403 403 400 400 201",
            "update": "401 200 200 403 403 404 404 200",
            "delete": NOT_OFFERED,
        },
    ),
    Endpoint(
        "claim",
        obj=lambda w: w.claim,
        counts=ONE_A_SIDE,
        create=lambda w: {
            "contract_service": w.cs.pk,
            "started_at": "2026-01-21T10:00:00Z",
            "ended_at": "2026-01-21T11:30:00Z",
            "description": "The link was down.",
        },
        update=lambda w: {"status": "rejected", "resolution": "Our probes saw it up."},
        expect={
            "retrieve": READ,
            # Customer editors file (the customer's member here is a viewer), outsiders do
            # not find the service; provider editors decide.
            "create": "401 403 403 403 403 400 400 201",
            "update": "401 200 200 403 403 404 404 200",
            "delete": NOT_OFFERED,
        },
    ),
    Endpoint(
        "notification",
        obj=lambda w: w.notifications["provider_admin"],
        counts="- 1 1 1 1 1 1 1",
        create=lambda w: {"title": "Made up"},
        update=lambda w: {"read": True},
        expect={
            "retrieve": "401 200 404 404 404 404 404 404",
            "create": NOT_OFFERED,
            "update": "401 200 404 404 404 404 404 404",
            "delete": NOT_OFFERED,
            "mark-read": "401 200 200 200 200 200 200 200",
        },
        actions={"mark-read": ("post", False, lambda w: {})},
    ),
    Endpoint(
        "invitation",
        obj=lambda w: invitation_into_provider(w),
        # Only admins of the organisation (and operators) see its invitations.
        counts="- 1 0 0 0 0 0 1",
        create=lambda w: {
            "organization": w.p.provider.pk,
            "email": "colleague@acme.test",
            "role": "viewer",
        },
        update=lambda w: {"role": "admin"},
        expect={
            "retrieve": "401 200 404 404 404 404 404 200",
            # The other customer's admin administers an organisation, but not this one.
            "create": "401 201 403 403 403 400 403 201",
            "update": NOT_OFFERED,
            "delete": NOT_OFFERED,
            "revoke": "401 200 404 404 404 404 404 200",
            "resend": "401 200 404 404 404 404 404 200",
        },
        actions={"revoke": ("post", True, None), "resend": ("post", True, None)},
    ),
    Endpoint(
        "webhook",
        obj=lambda w: webhook_of_provider(w),
        # An organisation's webhooks are its admins' (and operators') only.
        counts="- 1 0 0 0 0 0 1",
        create=lambda w: {
            "organization": w.p.provider.pk,
            "url": "https://hooks.example.test/new",
            "secret": "s",
            "topics": ["statement"],
        },
        update=lambda w: {"name": "Renamed", "topics": ["dispute", "lapse"]},
        expect={
            "retrieve": "401 200 404 404 404 404 404 200",
            # The other customer's admin administers an organisation, but not this one.
            "create": "401 201 403 403 403 400 403 201",
            "update": "401 200 404 404 404 404 404 200",
            "delete": "401 204 404 404 404 404 404 204",
            "test": "401 202 404 404 404 404 404 202",
            "deliveries": "401 200 404 404 404 404 404 200",
        },
        actions={"test": ("post", True, None), "deliveries": ("get", True, None)},
    ),
]


def webhook_of_provider(world: World) -> Any:
    """A webhook of the provider (made inside each persona's savepoint)."""
    from people.models import Webhook

    return Webhook.objects.create(
        organization=world.p.provider, url="https://hooks.example.test/acme", secret="s"
    )


def invitation_into_provider(world: World) -> Any:
    """A pending invitation into the provider (made inside each persona's savepoint)."""
    from people import services

    return services.invite(
        user=world.p.provider_admin,
        organization=world.p.provider,
        email="invitee@example.test",
        role="editor",
    )


CASES = [
    pytest.param(endpoint, operation, id=f"{endpoint.basename}-{operation}")
    for endpoint in ENDPOINTS
    for operation in ["list", *endpoint.expect]
]


def call(world: World, endpoint: Endpoint, operation: str, persona: str):
    client = client_for(world.user(persona))
    obj = endpoint.obj(world)
    detail = url(endpoint.basename, obj.pk)
    if operation == "list":
        return client.get(url(endpoint.basename))
    if operation == "retrieve":
        return client.get(detail)
    if operation == "create":
        return client.post(url(endpoint.basename), endpoint.create(world))
    if operation == "update":
        return client.patch(detail, endpoint.update(world))
    if operation == "delete":
        return client.delete(detail)
    method, is_detail, body = endpoint.actions[operation]
    path = url(endpoint.basename, obj.pk if is_detail else None, operation)
    return getattr(client, method)(path, body(world) if body else None)


@pytest.mark.parametrize(("endpoint", "operation"), CASES)
def test_permission_matrix(world, endpoint, operation, time_machine):
    if operation == "settle":
        pytest.importorskip("credits.settlement", reason="credits.settlement is not there yet")
        # October 2026 has ended, whatever today's date.
        time_machine.move_to(datetime(2026, 11, 15, 12, 0, tzinfo=UTC), tick=False)
    if endpoint.basename == "claim":
        # January 2026 has closed and its claim window (30 days) is still open.
        time_machine.move_to(datetime(2026, 2, 10, 12, 0, tzinfo=UTC), tick=False)
    if endpoint.basename == "dispute" and operation in ("create", "update"):
        pytest.importorskip("credits.services", reason="credits.services is not there yet")
    answered: dict[str, int] = {}
    counted: dict[str, str] = {}
    for persona in PERSONAS:
        # Each persona acts on the same world: whatever one changes is rolled back.
        savepoint = transaction.savepoint()
        response = call(world, endpoint, operation, persona)
        transaction.savepoint_rollback(savepoint)
        answered[persona] = response.status_code
        assert response.status_code < 500, response.content
        if operation == "list":
            counted[persona] = (
                str(len(response.json()["results"])) if response.status_code == 200 else "-"
            )
        if response.status_code == 404:
            # Missing and out of scope answer with one body.
            assert response.json() == {"detail": "Not found."}
    expected = endpoint.expect.get(operation, "401 200 200 200 200 200 200 200")
    assert answered == dict(zip(PERSONAS, map(int, expected.split()), strict=True))
    if operation == "list":
        assert counted == dict(zip(PERSONAS, endpoint.counts.split(), strict=True))


def test_customers_never_see_draft_contracts_nor_what_hangs_off_them(world):
    client = client_for(world.p.customer_member)
    draft = world.p.draft_contract
    assert client.get(url("contract", draft.pk)).status_code == 404
    assert client.get(url("servicelevel", world.draft_level.pk)).status_code == 404
    assert client.get(url("maintenancewindow", world.draft_window.pk)).status_code == 404
    provider = client_for(world.p.provider_viewer)
    assert provider.get(url("contract", draft.pk)).status_code == 200


def test_an_unknown_id_and_an_outsiders_id_answer_alike(world):
    client = client_for(world.p.provider_editor)
    outside = client.get(url("contract", world.p.other_contract.pk))
    missing = client.get(url("contract", 10**6))
    huge = client.get(url("contract", 10**30))
    assert outside.status_code == missing.status_code == huge.status_code == 404
    assert outside.json() == missing.json() == huge.json()


@pytest.mark.parametrize(
    ("basename", "field", "body", "outside"),
    [
        ("contractservice", "service", {"fee": "1.00"}, lambda w: w.other_service.pk),
        ("contractservice", "contract", {"fee": "1.00"}, lambda w: w.p.other_contract.pk),
        ("maintenancewindow", "contract", {}, lambda w: w.p.other_contract.pk),
        ("incident", "contract_service", {}, lambda w: w.other_cs.pk),
        ("responsibility", "service_levels", {}, lambda w: w.other_level.pk),
        ("responsibilitylapse", "responsibility", {}, lambda w: w.other_responsibility.pk),
        ("servicelevel", "contract", {"level": "customer"}, lambda w: w.p.other_contract.pk),
        ("service", "provider", {"code": "x", "name": "x"}, lambda w: w.p.other_provider.pk),
        ("dispute", "line", {"reason": "x"}, lambda w: w.other_dispute.line_id),
        ("claim", "contract_service", {"description": "x"}, lambda w: w.other_cs.pk),
    ],
)
def test_a_foreign_key_outside_the_scope_reads_as_missing(world, basename, field, body, outside):
    client = client_for(world.p.provider_editor)
    if basename == "dispute":
        client = client_for(world.p.customer_member)

    def post(pk: int):
        value = [pk] if field == "service_levels" else pk
        return client.post(url(basename), {**body, field: value})

    pk = outside(world)
    foreign, missing = post(pk), post(10**6)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()[field] == [f'Invalid pk "{pk}" - object does not exist.']
    assert missing.json()[field] == [f'Invalid pk "{10**6}" - object does not exist.']


def test_a_filter_on_an_outsiders_id_is_an_empty_list(world):
    client = client_for(world.p.provider_editor)
    for basename, param, value in [
        ("statement", "contract", world.p.other_contract.pk),
        ("claim", "contract", world.p.other_contract.pk),
        ("claim", "contract_service", world.other_cs.pk),
        ("contractservice", "contract", world.p.other_contract.pk),
        ("measurement", "contract_service", world.other_cs.pk),
        ("servicelevel", "provider", world.p.other_provider.pk),
        ("contract", "customer", world.p.other_customer.pk),
        ("dispute", "contract", world.p.other_contract.pk),
        ("statement", "contract", 10**30),
    ]:
        response = client.get(url(basename), {param: value})
        assert response.status_code == 200, (basename, response.content)
        assert response.json()["results"] == [], basename
