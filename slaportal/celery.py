"""The Celery app. Its beat schedule lives in the database (django-celery-beat)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")

app = Celery("slaportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def close_old_connections(**_kwargs: object) -> None:
    """What Django does around every request: a worker keeps its database connection
    between tasks (CELERY_DB_REUSE_MAX), so one that broke (a database restart) or grew
    older than CONN_MAX_AGE is closed here and the next query opens a fresh one."""
    from django.db import close_old_connections as close

    close()


@worker_init.connect
def close_old_connections_around_tasks(**_kwargs: object) -> None:
    # In workers only: a task run eagerly inside a request or a test shares its caller's
    # connection and transaction, which must stay open.
    task_prerun.connect(close_old_connections, weak=False)
    task_postrun.connect(close_old_connections, weak=False)
