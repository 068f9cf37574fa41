"""Celery beat's schedule for the settlement sweep, so that it exists on a fresh install.

Every 15 minutes; operators change the interval or switch it off in the admin (Periodic
tasks). Running this again never makes a second schedule.
"""

from django.db import migrations
from django.utils import timezone

SWEEP_NAME = "Settlement sweep"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_15_minutes, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEP_NAME,
        defaults={
            "task": "credits.sweep",
            "interval": every_15_minutes,
            "enabled": True,
            "description": (
                "Enqueues one settlement task per due contract period and the early "
                "warnings of open periods."
            ),
        },
    )
    # Tell a running beat (DatabaseScheduler) to reload: signals do not fire in migrations.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=SWEEP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0002_issued_statements_are_immutable"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
