import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0009_pending_announcements"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pendingannouncement",
            name="created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name="pendingannouncement",
            name="handed_at",
            # Rows waiting now count as handed over now.
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="pendingannouncement",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="pendingannouncement",
            name="last_error",
            field=models.TextField(blank=True),
        ),
    ]
