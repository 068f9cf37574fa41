import django.db.models.deletion
from django.db import migrations, models


def _field():
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="+",
        to="contracts.contractservice",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0011_measurement_partitions_schedule"),
    ]

    operations = [
        migrations.AlterField(
            model_name="measurementrollup", name="contract_service", field=_field()
        ),
        migrations.AlterField(
            model_name="thresholdrollup", name="contract_service", field=_field()
        ),
    ]
