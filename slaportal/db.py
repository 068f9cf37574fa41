"""Writing many rows at once, the fastest way the database offers; the app's database role."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# What the app's role may do to every table: read and write rows, through their triggers.
# Not TRUNCATE, which fires no row trigger, and nothing on the tables themselves.
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert ``rows`` (one value per name in ``fields``, a foreign key by its id), all or
    none: one ``COPY`` on PostgreSQL, a bulk ``INSERT`` in a transaction elsewhere. The new
    ids are not returned: that is what makes it fast."""
    meta_fields = [model._meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        names = [field.attname for field in meta_fields]
        model.objects.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in meta_fields)
    # JSON needs its adapter; every other value goes to COPY as it is.
    json = [i for i, field in enumerate(meta_fields) if isinstance(field, models.JSONField)]
    sql = f"COPY {table} ({columns}) FROM STDIN"
    # COPY goes round Django's cursor wrapper: its errors are translated here, so that
    # callers catch Django's exceptions (and Django knows the connection saw an error).
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            if json:
                row = list(row)
                for i in json:
                    row[i] = meta_fields[i].get_db_prep_save(row[i], connection)
            copy.write_row(row)


def copy_lines(model: type[models.Model], fields: Sequence[str], lines: Sequence[str]) -> None:
    """Insert rows already written in ``COPY``'s text format (one line per row, columns of
    ``fields`` separated by tabs, ``\\N`` for null, escaped by the caller), all or none, in
    one ``COPY``: no value is adapted in Python, which is what makes it the fastest way in.
    PostgreSQL only."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
    )
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        copy.write("".join(lines))


def insert_new(objs: Sequence[models.Model], *, copy_from: int = 100) -> None:
    """Insert ``objs`` (new instances of one model) except those a unique constraint says
    exist already, as ``bulk_create(ignore_conflicts=True)`` does; their ids are not set.

    From ``copy_from`` rows on PostgreSQL, the rows go by ``COPY`` into a temporary table
    and on in one ``INSERT … SELECT … ON CONFLICT DO NOTHING``: a bulk ``INSERT`` adapts
    every value in Python (each quote of a long text escaped one by one), which made
    writing large rows, such as rendered e-mails, the greatest cost of publishing them."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql" or len(objs) < copy_from:
        model.objects.bulk_create(objs, ignore_conflicts=True)
        return
    # A key the database numbers is left to it; one given (a UUID) is written.
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    scratch = connection.ops.quote_name(f"new_{model._meta.db_table}")
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with (
        transaction.atomic(),
        connection.wrap_database_errors,
        connection.cursor() as cursor,
    ):
        # Dropped at the end of the call (or with a rolled back savepoint), not left for
        # a second call in the same transaction to find.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS"
            f" SELECT {columns} FROM {table} WITH NO DATA"
        )
        # Each long value is compressed as COPY writes it into the scratch table and moved
        # on as it is: compressed there as the table's own column would compress it.
        compressions = _compressions(cursor, model._meta.db_table)
        if compressions:
            cursor.execute(
                f"ALTER TABLE {scratch} "
                + ", ".join(
                    f"ALTER COLUMN {connection.ops.quote_name(column)} SET COMPRESSION {method}"
                    for column, method in compressions.items()
                )
            )
        values = [_value_for_copy(field) for field in fields]
        with cursor.cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([value(obj) for value in values])
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {scratch}"
            " ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {scratch}")


_COMPRESSIONS: dict[tuple[str, str], dict[str, str]] = {}


def _compressions(cursor: Any, table: str) -> dict[str, str]:
    """The columns of ``table`` that compress long values otherwise than the server's
    default (``SET COMPRESSION``, e.g. ``credits_emailcontent``'s lz4), read once."""
    key = (connection.settings_dict["NAME"], table)
    if key not in _COMPRESSIONS:
        cursor.execute(
            "SELECT attname, CASE attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END"
            " FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped AND attcompression <> ''",
            [table],
        )
        _COMPRESSIONS[key] = dict(cursor.fetchall())
    return _COMPRESSIONS[key]


# Fields whose value goes to COPY as the instance holds it: Django's preparation of them
# for PostgreSQL gives the value back unchanged (a foreign key is its id's field).
_AS_HELD = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.UUIDField,
    models.ForeignKey,
)


def _value_for_copy(field: models.Field) -> Callable[[models.Model], Any]:
    """How a new instance's value of ``field`` is written: as ``Model.save()`` prepares it
    (auto_now_add, JSON's adapter, an aware datetime…), or, for the fields that preparing
    leaves as they are, read as it is (a tenth of the cost of writing a row)."""
    if isinstance(field, _AS_HELD):
        attname = field.attname
        return lambda obj: getattr(obj, attname)
    # As Model.save() prepares each value (auto_now_add, JSON's adapter, ...).
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


def grant_app_role(role: str, using: str = "default") -> None:
    """Give ``role`` the rows of every table and sequence in the schema, and nothing else:
    run by the owner role after migrating, so that a new table is the app's to use at once
    without being the app's to alter. PostgreSQL only (SQLite has no roles)."""
    conn: BaseDatabaseWrapper = connections[using]
    if conn.vendor != "postgresql":
        return
    quote = conn.ops.quote_name
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        schema, grantee = quote(schema), quote(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
        cursor.execute(
            f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {grantee}"
        )
        cursor.execute(
            f"GRANT {APP_SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}"
        )
