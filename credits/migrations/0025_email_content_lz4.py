"""E-mail contents compressed with lz4 rather than pglz (PostgreSQL 14 and later, where the
server was built with it): writing 20,000 statements' e-mails (40,000 contents of ~9 kB)
took PostgreSQL a second per 20,000 less, for 9 % more room."""

from django.db import DatabaseError, migrations, transaction

COLUMNS = ("text", "html")


def _set_compression(apps, schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    alter = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in COLUMNS)
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE credits_emailcontent {alter}")
    except DatabaseError:
        # A server built without lz4 ("compression method lz4 not supported") keeps pglz.
        if method != "lz4":
            raise


def use_lz4(apps, schema_editor) -> None:
    _set_compression(apps, schema_editor, "lz4")


def use_default(apps, schema_editor) -> None:
    _set_compression(apps, schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("credits", "0024_email_content_shared")]

    operations = [migrations.RunPython(use_lz4, use_default)]
