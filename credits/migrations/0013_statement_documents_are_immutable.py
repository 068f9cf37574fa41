"""The stored JSON of an issued statement cannot change or go either.

The API serves statements from these documents: a changed row would change what the
customer sees of a statement the database otherwise keeps as issued. A document is only
ever written once, when the statement is first read; a new format is a migration (run as
the owner role, which may drop and recreate this trigger), never an update by the app.
"""

from django.db import migrations

TABLE = "credits_statementdocument"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # credits_refuse_change() comes from 0002, with the statements' own triggers.
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION credits_refuse_change();"
        )
    elif vendor == "sqlite":
        for action in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_immutable_{action.lower()} BEFORE {action} ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'issued statements are immutable'); END;"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable ON {TABLE};")
    elif vendor == "sqlite":
        for action in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable_{action};")


class Migration(migrations.Migration):
    dependencies = [("credits", "0012_notification_events_of_people")]

    operations = [migrations.RunPython(forwards, backwards)]
