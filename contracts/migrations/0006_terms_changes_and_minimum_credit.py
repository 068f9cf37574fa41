"""Terms over time (amendments and corrections of fees and objectives) and a contract's
minimum credit."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0005_contract_figures_fit_iso_4217_minor_units"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TermsChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("original", "As first agreed"),
                            ("amendment", "Amendment (from a period start)"),
                            ("correction", "Correction (retroactive)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("effective_from", models.DateField(blank=True, null=True)),
                (
                    "terms",
                    models.JSONField(
                        help_text="The fee, or an objective's target, comparator, threshold, rule."
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("made_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["contract_id", "id"],
            },
        ),
        migrations.AddField(
            model_name="contract",
            name="minimum_credit",
            field=models.DecimalField(
                decimal_places=3,
                default=Decimal("0"),
                help_text="A statement whose credits add up to less pays 0; 0: no minimum.",
                max_digits=16,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
            ),
        ),
        migrations.AddField(
            model_name="historicalcontract",
            name="minimum_credit",
            field=models.DecimalField(
                decimal_places=3,
                default=Decimal("0"),
                help_text="A statement whose credits add up to less pays 0; 0: no minimum.",
                max_digits=16,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
            ),
        ),
        migrations.AddConstraint(
            model_name="contract",
            constraint=models.CheckConstraint(
                condition=models.Q(("minimum_credit__gte", 0)),
                name="contract_minimum_credit_positive",
            ),
        ),
        migrations.AddField(
            model_name="termschange",
            name="contract",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="terms_changes",
                to="contracts.contract",
            ),
        ),
        migrations.AddField(
            model_name="termschange",
            name="contract_service",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="terms_changes",
                to="contracts.contractservice",
            ),
        ),
        migrations.AddField(
            model_name="termschange",
            name="made_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="termschange",
            name="service_level",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="terms_changes",
                to="contracts.servicelevel",
            ),
        ),
        migrations.AddIndex(
            model_name="termschange",
            index=models.Index(
                fields=["contract", "effective_from"], name="contracts_t_contrac_274ba2_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="termschange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("contract_service__isnull", True), ("service_level__isnull", False)),
                    models.Q(("contract_service__isnull", False), ("service_level__isnull", True)),
                    _connector="OR",
                ),
                name="terms_change_one_item",
            ),
        ),
        migrations.AddConstraint(
            model_name="termschange",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["original", "amendment", "correction"])),
                name="terms_change_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="termschange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "amendment"), _negated=True),
                    ("effective_from__isnull", False),
                    _connector="OR",
                ),
                name="terms_change_amendment_has_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="termschange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "original"), _negated=True),
                    ("effective_from__isnull", True),
                    _connector="OR",
                ),
                name="terms_change_original_from_start",
            ),
        ),
    ]
