"""The database itself refuses to change or delete an issued statement or its lines.

A correction is a new revision; TRUNCATE (used only by test teardown) is not affected.
"""

from django.db import migrations

TABLES = ("credits_statement", "credits_statementline")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION credits_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'issued statements are immutable: settle again for a new revision'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION credits_refuse_change();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_immutable_{action.lower()} BEFORE {action} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'issued statements are immutable'); END;"
                )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS credits_refuse_change();")
    elif vendor == "sqlite":
        for table in TABLES:
            for action in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable_{action};")


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
