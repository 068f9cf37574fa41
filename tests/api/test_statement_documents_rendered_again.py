"""Documents stored in an older shape (before earn-back: no ``held`` on the lines, no
``adjustments`` nor ``terms_change``) are dropped by credits 0020 and rendered again on the
next read, in the shape the schema documents and with the same figures."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.db import connection

from credits.models import StatementDocument
from tests.api.conftest import client_for, make_statement, url
from tests.factories import ServiceLevelFactory

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("credits.migrations.0020_statement_documents_rendered_again")


def run_migration() -> None:
    with connection.cursor() as cursor:
        # The rows this test wrote have deferred foreign-key checks pending, which ALTER
        # TABLE refuses; a real migration runs after they were committed long ago.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        MIGRATION.forwards(apps, editor)


def test_an_old_document_is_read_again_in_the_documented_shape_with_its_figures(personas):
    level = ServiceLevelFactory(provider=personas.provider, key="availability")
    statement, _ = make_statement(
        personas.contract, personas.contract.services.get(), [(level, None, 0)]
    )
    client = client_for(personas.customer_member)
    current = client.get(url("statement", statement.pk)).json()
    old = json.loads(StatementDocument.objects.get().body)
    for line in old["lines"]:
        del line["held"]
    del old["adjustments"], old["terms_change"]
    run_migration()  # the only way to replace the document just stored
    StatementDocument.objects.create(statement=statement, body=json.dumps(old))
    assert "held" not in client.get(url("statement", statement.pk)).json()["lines"][0]

    run_migration()

    assert not StatementDocument.objects.exists()
    again = client.get(url("statement", statement.pk)).json()
    assert again == current
    assert again["lines"][0]["held"] == "0.00"
    assert StatementDocument.objects.get().body  # stored again for the next read
    # The trigger is back: the app still cannot change or drop a document.
    with pytest.raises(Exception, match="immutable"):
        StatementDocument.objects.all().delete()
