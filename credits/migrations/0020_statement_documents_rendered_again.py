"""Stored statement documents are dropped, to be rendered again on their next read.

Documents stored before 0014 and 0016 lack ``adjustments``, ``terms_change`` and the lines'
``held``, which the API's schema requires: a client would read an old statement in a
shape the API no longer documents. A document is the rendering of rows that never change
(the statement, its lines and adjustments, all immutable), so rendering it again changes no
figure: what the old ones lack is an empty list, null and 0.00, as those statements had.
The table refuses updates and deletes to the app (0013); this migration, run as the owner,
sets the trigger aside for its delete only.
"""

from django.db import migrations

TABLE = "credits_statementdocument"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_immutable;")
        schema_editor.execute(f"DELETE FROM {TABLE};")
        schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TABLE}_immutable;")
    elif vendor == "sqlite":
        for action in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable_{action};")
        schema_editor.execute(f"DELETE FROM {TABLE};")
        for action in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_immutable_{action.lower()} BEFORE {action} ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'issued statements are immutable'); END;"
            )


class Migration(migrations.Migration):
    dependencies = [("credits", "0019_open_period_progress_too_few")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
