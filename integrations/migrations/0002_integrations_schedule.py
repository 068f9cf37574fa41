"""Celery beat's schedule of the integrations, so that it exists on a fresh install.

Every minute: due Prometheus pulls are enqueued (each pull's own next attempt holds its
step and its backoff), firing alerts' incidents are pushed to now and the log is pruned.
Operators change it in the admin (Periodic tasks).
"""

from django.db import migrations
from django.utils import timezone

NAME = "Integrations: Prometheus pulls and open alerts"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "integrations.tick",
            "interval": every_minute,
            "enabled": True,
            "description": "Enqueues due Prometheus pulls, extends firing alerts' incidents "
            "to now and keeps each organisation's last 1,000 integration events.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
