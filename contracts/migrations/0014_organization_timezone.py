# The zone an organisation's members read times in.

from django.db import migrations, models

import contracts.models.parties


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0013_organization_webhooks_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="timezone",
            field=models.CharField(
                default="UTC",
                help_text="IANA time zone in which members see times, e.g. Europe/Berlin.",
                max_length=64,
                validators=[contracts.models.parties.validate_timezone],
            ),
        ),
        migrations.AddField(
            model_name="historicalorganization",
            name="timezone",
            field=models.CharField(
                default="UTC",
                help_text="IANA time zone in which members see times, e.g. Europe/Berlin.",
                max_length=64,
                validators=[contracts.models.parties.validate_timezone],
            ),
        ),
    ]
