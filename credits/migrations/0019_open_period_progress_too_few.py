# An open period with data but too few samples to judge says so ("too few samples").

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0018_webhook_delivery_logs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="openperiodprogress",
            name="state",
            field=models.CharField(
                choices=[
                    ("on_track", "On track"),
                    ("at_risk", "At risk"),
                    ("breached", "Breached"),
                    ("no_data", "No data yet"),
                    ("too_few", "Too few samples"),
                ],
                max_length=10,
            ),
        ),
    ]
