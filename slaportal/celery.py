"""The Celery app. Its beat schedule lives in the database (django-celery-beat)."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_init, worker_ready
from django.db import close_old_connections as close_django_connections
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")

app = Celery("slaportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's log lines carry its id and the id of the request that enqueued it.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def log_as_the_settings_say(**_kwargs: object) -> None:
    """Workers and beat log as the web does (settings.LOGGING: JSON lines in production)
    instead of Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def close_old_connections(**_kwargs: object) -> None:
    """What Django does around every request: a worker keeps its database connection
    between tasks (CELERY_DB_REUSE_MAX), so one that broke (a database restart) or grew
    older than CONN_MAX_AGE is closed here and the next query opens a fresh one."""
    close_django_connections()


@worker_init.connect
def close_old_connections_around_tasks(**_kwargs: object) -> None:
    # In workers only: a task run eagerly inside a request or a test shares its caller's
    # connection and transaction, which must stay open.
    task_prerun.connect(close_old_connections, weak=False)
    task_postrun.connect(close_old_connections, weak=False)


def forget_stale_routes() -> int:
    """Unbind our queues from routing keys they no longer have; returns how many.

    On Redis, kombu keeps every binding it was ever asked for: a queue whose routing key
    changed would still receive the old key's messages, and every task would be delivered
    twice. Only bindings of the queues declared here are touched, so another application's
    queues on the same database are left alone. A no-op on other brokers."""
    queues = list(app.amqp.queues.values())
    declared = {(q.exchange.name, q.routing_key, q.name) for q in queues}
    names = {q.name for q in queues}
    forgotten = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        if connection.transport.driver_type != "redis":
            return 0
        for exchange in {q.exchange.name for q in queues}:
            for routing_key, pattern, queue in channel.get_table(exchange):
                if queue in names and (exchange, routing_key, queue) not in declared:
                    # kombu's queue_unbind leaves Redis as it is: the member goes here.
                    member = channel.sep.join([routing_key, pattern, queue])
                    channel.client.srem(channel.keyprefix_queue % exchange, member)
                    forgotten += 1
    return forgotten


@worker_ready.connect
def forget_stale_routes_when_ready(**_kwargs: object) -> None:
    forget_stale_routes()
