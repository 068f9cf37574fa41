"""Celery beat's daily run of contracts.measurement_partitions, so that it exists on a
fresh install: month partitions of the samples created ahead, the retention applied.
Operators change it in the admin (Periodic tasks)."""

from django.db import migrations
from django.utils import timezone

NAME = "Samples: month partitions ahead and retention"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    daily, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "contracts.measurement_partitions",
            "interval": daily,
            "enabled": True,
            "description": "Creates the samples' month partitions MEASUREMENT_PARTITIONS_AHEAD "
            "months ahead and detaches (and archives) those older than "
            "MEASUREMENT_RETENTION_MONTHS.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0010_measurement_partitions_and_rollups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
