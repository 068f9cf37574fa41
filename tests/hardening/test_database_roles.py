"""The app runs as a database role that owns no table; migrations run as the owner.

The statements' triggers keep issued statements, their lines and their stored documents as
issued. The owner could drop or disable them; the app's role (granted by ``migrate``) can
read and write rows, through the triggers, and nothing more.
"""

from __future__ import annotations

import psycopg
import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from psycopg import errors

from credits.models import StatementDocument
from tests.api.conftest import make_statement
from tests.factories import ServiceLevelFactory

APP_ROLE = "slaportal_app"
pytestmark = pytest.mark.django_db(transaction=True)


def _ensure_role(name: str) -> None:
    role = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )


@pytest.fixture
def app_role():
    """The app's role, granted what ``migrate`` grants it, revoked again afterwards: the
    role is the cluster's, the test database is ours."""
    _ensure_role(APP_ROLE)
    call_command("migrate", verbosity=0)  # as the test's own (owner) role: grants nothing
    from slaportal.db import grant_app_role

    grant_app_role(APP_ROLE)
    yield APP_ROLE
    _revoke(APP_ROLE)


def _revoke(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        cursor.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")


def _connect_as(role: str) -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["user"] = role
    params.pop("password", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.fixture
def document(personas):
    level = ServiceLevelFactory(provider=personas.provider, key="availability")
    statement, _ = make_statement(
        personas.contract, personas.contract.services.get(), [(level, None, 0)]
    )
    return StatementDocument.objects.create(statement=statement, body='{"credit_total": "300"}')


@pytest.mark.parametrize(
    "statement",
    [
        'UPDATE credits_statementdocument SET body = \'{"credit_total": "0"}\'',
        "DELETE FROM credits_statementdocument",
        "UPDATE credits_statement SET credit_total = 0",
        "DELETE FROM credits_statementline",
    ],
)
def test_the_app_role_cannot_change_an_issued_statement_or_its_document(
    app_role, document, statement
):
    with _connect_as(app_role) as app, pytest.raises(errors.IntegrityConstraintViolation):
        app.execute(statement)

    assert StatementDocument.objects.get().body == '{"credit_total": "300"}'


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE credits_statementdocument DISABLE TRIGGER ALL",
        "ALTER TABLE credits_statementdocument DISABLE TRIGGER credits_statementdocument_immutable",
        "ALTER TABLE credits_statement DISABLE TRIGGER credits_statement_immutable",
        "DROP TRIGGER credits_statementdocument_immutable ON credits_statementdocument",
        "DROP TABLE credits_statementdocument",
        "TRUNCATE credits_statementdocument",
        "SET session_replication_role = replica",
        "CREATE OR REPLACE FUNCTION credits_refuse_change() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
        "CREATE TABLE credits_elsewhere (id int)",
    ],
)
def test_the_app_role_cannot_disable_drop_or_go_round_the_triggers(app_role, document, statement):
    with _connect_as(app_role) as app, pytest.raises(errors.InsufficientPrivilege):
        app.execute(statement)

    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        StatementDocument.objects.update(body="{}")


def test_the_app_role_reads_and_writes_rows_of_every_table(app_role, document):
    with _connect_as(app_role) as app:
        (body,) = app.execute("SELECT body FROM credits_statementdocument").fetchone()
        app.execute("UPDATE contracts_organization SET name = name")
        app.execute(
            "INSERT INTO django_session (session_key, session_data, expire_date) "
            "VALUES ('k', 'd', now())"
        )
        owned = app.execute(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        ).fetchone()

    assert body == '{"credit_total": "300"}'
    assert owned == (0,)


def test_migrate_connects_as_the_owner_and_grants_the_app_role(settings):
    """DATABASE_URL as the app's role, DATABASE_MIGRATE_URL as the owner's: the command runs
    as the owner and leaves the app's role its rows of every table, and the connection as
    the app's again."""
    _ensure_role(APP_ROLE)
    _revoke(APP_ROLE)
    default = connections[DEFAULT_DB_ALIAS]
    owner = dict(default.settings_dict)
    settings.DATABASE_MIGRATE = owner
    default.close()
    default.settings_dict["USER"] = APP_ROLE
    try:
        call_command("migrate", verbosity=0)
        with default.cursor() as cursor:
            cursor.execute("SELECT current_user")
            after = cursor.fetchone()[0]
    finally:
        default.close()
        default.settings_dict["USER"] = owner["USER"]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT has_table_privilege(%s, 'credits_statementdocument', 'INSERT'), "
                "has_table_privilege(%s, 'credits_statementdocument', 'TRUNCATE')",
                [APP_ROLE, APP_ROLE],
            )
            granted = cursor.fetchone()
    finally:
        _revoke(APP_ROLE)

    assert after == APP_ROLE
    assert granted == (True, False)
