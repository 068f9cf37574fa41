import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """One covering index on the samples instead of four: the new index is built before
    the old one goes, so lookups never lack one."""

    dependencies = [
        ("contracts", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="measurement",
            index=models.Index(
                fields=["contract_service", "key", "observed_at"],
                include=("value", "ok"),
                name="measurement_cs_key_time_cover",
            ),
        ),
        migrations.RemoveIndex(
            model_name="measurement",
            name="measurement_cs_key_time",
        ),
        migrations.AlterField(
            model_name="measurement",
            name="contract_service",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="measurements",
                to="contracts.contractservice",
            ),
        ),
        migrations.AlterField(
            model_name="measurement",
            name="key",
            field=models.SlugField(db_index=False, max_length=60),
        ),
    ]
