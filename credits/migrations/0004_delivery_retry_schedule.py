"""Celery beat's schedule for re-sending due deliveries, so that it exists on a fresh install.

Deliveries are driven by database state: a lost message is found again by this task.
Every minute; operators change it in the admin (Periodic tasks).
"""

from django.db import migrations
from django.utils import timezone

NAME = "Retry due deliveries"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "credits.retry_due_deliveries",
            "interval": every_minute,
            "enabled": True,
            "description": "Re-enqueues e-mail and webhook deliveries whose retry time passed.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("credits", "0003_settlement_sweep_schedule")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
