"""Disputes accepted with a remedy (a correction, or an agreed adjustment amount) and
reopened by the provider; the rows below a statement's lines that move its total (minimum
credit, agreed adjustments, corrections after a dispute), immutable like the statement;
the terms version each statement was settled on."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "credits_statementadjustment"


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
    dependencies = [
        ("contracts", "0006_terms_changes_and_minimum_credit"),
        ("credits", "0013_statement_documents_are_immutable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StatementAdjustment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("minimum_credit", "Minimum credit"),
                            ("agreed", "Agreed adjustment"),
                            ("correction", "Correction after a dispute"),
                        ],
                        max_length=20,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=3, max_digits=18)),
                ("explanation", models.TextField()),
            ],
            options={
                "ordering": ["statement_id", "position"],
            },
        ),
        migrations.AddField(
            model_name="dispute",
            name="adjustment_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name="dispute",
            name="remedy",
            field=models.CharField(
                blank=True,
                choices=[
                    ("correction", "Correct the data or terms and settle again"),
                    ("adjustment", "Agree an adjustment amount"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="reopened_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicaldispute",
            name="adjustment_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name="historicaldispute",
            name="remedy",
            field=models.CharField(
                blank=True,
                choices=[
                    ("correction", "Correct the data or terms and settle again"),
                    ("adjustment", "Agree an adjustment amount"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="historicaldispute",
            name="reopened_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statement",
            name="terms_change",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="statements",
                to="contracts.termschange",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.CharField(
                choices=[
                    ("statement_issued", "Statement issued"),
                    ("dispute_opened", "Dispute opened"),
                    ("dispute_resolved", "Dispute resolved"),
                    ("lapse_recorded", "Responsibility lapse recorded"),
                    ("early_warning", "Early warning"),
                    ("no_data", "No data for an objective"),
                    ("dispute_reopened", "Dispute reopened"),
                    ("lapse_contested", "Responsibility lapse contested"),
                    ("lapse_resolved", "Contested lapse kept or withdrawn"),
                    ("member_joined", "Invitation accepted"),
                    ("digest", "Daily digest"),
                    ("webhook_test", "Webhook test"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="event",
            field=models.CharField(
                choices=[
                    ("statement_issued", "Statement issued"),
                    ("dispute_opened", "Dispute opened"),
                    ("dispute_resolved", "Dispute resolved"),
                    ("lapse_recorded", "Responsibility lapse recorded"),
                    ("early_warning", "Early warning"),
                    ("no_data", "No data for an objective"),
                    ("dispute_reopened", "Dispute reopened"),
                    ("lapse_contested", "Responsibility lapse contested"),
                    ("lapse_resolved", "Contested lapse kept or withdrawn"),
                    ("member_joined", "Invitation accepted"),
                    ("digest", "Daily digest"),
                    ("webhook_test", "Webhook test"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("adjustment_amount__gt", 0),
                        ("remedy", "adjustment"),
                        ("status", "accepted"),
                    ),
                    models.Q(
                        ("adjustment_amount__isnull", True),
                        ("remedy__in", ["correction", ""]),
                        ("status", "accepted"),
                    ),
                    models.Q(
                        models.Q(("status", "accepted"), _negated=True),
                        ("adjustment_amount__isnull", True),
                        ("remedy", ""),
                    ),
                    _connector="OR",
                ),
                name="dispute_remedy_of_acceptance",
                violation_error_message="An accepted dispute has a remedy; only it has one.",
            ),
        ),
        migrations.AddField(
            model_name="statementadjustment",
            name="dispute",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adjustments",
                to="credits.dispute",
            ),
        ),
        migrations.AddField(
            model_name="statementadjustment",
            name="statement",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adjustments",
                to="credits.statement",
            ),
        ),
        migrations.AddConstraint(
            model_name="statementadjustment",
            constraint=models.UniqueConstraint(
                fields=("statement", "position"), name="statement_adjustment_position_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="statementadjustment",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["minimum_credit", "agreed", "correction"])),
                name="statement_adjustment_kind_valid",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
