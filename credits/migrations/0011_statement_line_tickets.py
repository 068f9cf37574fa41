"""The tickets of a statement's ticket lines; indicators long enough for ticket objectives;
early warnings once per ticket.

A line's tickets are as immutable as the line: the database refuses to change or delete
them, except for clearing the link to a ticket that is deleted (the snapshot stays). On
SQLite, widening the line's indicator rebuilds its table, which drops its triggers: they
are created again.
"""

import django.db.models.deletion
from django.db import migrations, models

LINE_TICKETS = "credits_statementlineticket"

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION credits_line_ticket_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.ticket_id IS NULL
       AND (to_jsonb(NEW) - 'ticket_id') = (to_jsonb(OLD) - 'ticket_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'issued statements are immutable: settle again for a new revision'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""

SQLITE_REFUSAL = "BEGIN SELECT RAISE(ABORT, 'issued statements are immutable'); END;"
SNAPSHOT_COLUMNS = (
    "id, line_id, reference, priority, opened_at, done_at, business_seconds, "
    "stopped_seconds, wall_seconds, within"
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION)
        schema_editor.execute(
            f"CREATE TRIGGER {LINE_TICKETS}_immutable BEFORE UPDATE OR DELETE ON {LINE_TICKETS} "
            "FOR EACH ROW EXECUTE FUNCTION credits_line_ticket_refuse_change();"
        )
    elif vendor == "sqlite":
        for action in ("update", "delete"):
            schema_editor.execute(
                f"CREATE TRIGGER IF NOT EXISTS credits_statementline_immutable_{action} "
                f"BEFORE {action.upper()} ON credits_statementline {SQLITE_REFUSAL}"
            )
        schema_editor.execute(
            f"CREATE TRIGGER {LINE_TICKETS}_immutable_delete BEFORE DELETE ON {LINE_TICKETS} "
            + SQLITE_REFUSAL
        )
        schema_editor.execute(
            f"CREATE TRIGGER {LINE_TICKETS}_immutable_update BEFORE UPDATE OF "
            f"{SNAPSHOT_COLUMNS} ON {LINE_TICKETS} {SQLITE_REFUSAL}"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {LINE_TICKETS}_immutable_link BEFORE UPDATE OF ticket_id ON "
            f"{LINE_TICKETS} WHEN NEW.ticket_id IS NOT NULL {SQLITE_REFUSAL}"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {LINE_TICKETS}_immutable ON {LINE_TICKETS};")
        schema_editor.execute("DROP FUNCTION IF EXISTS credits_line_ticket_refuse_change();")
    elif vendor == "sqlite":
        for name in ("delete", "update", "link"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {LINE_TICKETS}_immutable_{name};")


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_service_calendars_and_tickets"),
        ("credits", "0010_announcement_attempts"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatementLineTicket",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reference", models.CharField(max_length=100)),
                ("priority", models.CharField(max_length=20)),
                ("opened_at", models.DateTimeField()),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                ("business_seconds", models.BigIntegerField()),
                ("stopped_seconds", models.BigIntegerField()),
                ("wall_seconds", models.BigIntegerField()),
                ("within", models.BooleanField()),
            ],
            options={
                "ordering": ["line_id", "within", "-business_seconds", "reference"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="earlywarning",
            name="early_warning_once_per_period",
        ),
        migrations.AddField(
            model_name="earlywarning",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="early_warnings",
                to="contracts.ticket",
            ),
        ),
        migrations.AlterField(
            model_name="openperiodprogress",
            name="indicator",
            field=models.CharField(max_length=20),
        ),
        migrations.AlterField(
            model_name="statementline",
            name="indicator",
            field=models.CharField(max_length=20),
        ),
        migrations.AddConstraint(
            model_name="earlywarning",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ticket__isnull", True)),
                fields=("contract_service", "key", "period_start"),
                name="early_warning_once_per_period",
            ),
        ),
        migrations.AddConstraint(
            model_name="earlywarning",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ticket__isnull", False)),
                fields=("ticket", "key"),
                name="early_warning_once_per_ticket",
            ),
        ),
        migrations.AddField(
            model_name="statementlineticket",
            name="line",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="credits.statementline",
            ),
        ),
        migrations.AddField(
            model_name="statementlineticket",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="statement_lines",
                to="contracts.ticket",
            ),
        ),
        migrations.AddConstraint(
            model_name="statementlineticket",
            constraint=models.UniqueConstraint(
                fields=("line", "reference"), name="statement_line_ticket_unique"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
