"""A customer remembers the provider whose invitation brought it to the portal."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0004_people_history_and_lapse_contests"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalorganization",
            name="introduced_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                limit_choices_to={"kind": "provider"},
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="contracts.organization",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="introduced_by",
            field=models.ForeignKey(
                blank=True,
                limit_choices_to={"kind": "provider"},
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="introduced",
                to="contracts.organization",
            ),
        ),
    ]
