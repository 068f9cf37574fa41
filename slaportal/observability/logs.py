"""Logging: one line per event, JSON in production, with the request's or task's ids.

django-structlog binds ``request_id`` (and ``user_id``, ``ip``) for each request and, in
Celery workers, ``task_id`` plus the ``request_id`` of the request that enqueued the task.
Every record passes through structlog's formatter, so the portal's own ``logging`` calls,
Django's and Celery's carry those ids as well as structlog's events do (gunicorn's master
keeps its own plain lines; django-structlog's ``request_finished`` is the access log).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from django.core.exceptions import ImproperlyConfigured
from health_check.exceptions import HealthCheckException

FORMATS = ("json", "console")

# Applied to every record, whether it came from structlog or from the standard library.
_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    # Which gunicorn or Celery worker process wrote the line.
    structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
]


class FailedCheckWithoutTraceback(logging.Filter):
    """A failing health check is an outcome, named in its message; its traceback would add
    thirty lines to every probe while a service is down. Unexpected errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HealthCheckException):
            record.exc_info = None
            record.exc_text = None
        return True


class ClientErrorWithoutTraceback(logging.Filter):
    """A 403 or 404 is the answer to the request, not a fault of the portal: its line says
    so without the traceback of the ``PermissionDenied`` or ``Http404`` behind it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` dict for ``fmt`` (``json`` or ``console``); configures structlog
    to hand its events to it."""
    if fmt not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT={fmt!r} is not one of {', '.join(FORMATS)}")
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *([structlog.processors.format_exc_info] if fmt == "json" else []),
                    renderer,
                ],
                "foreign_pre_chain": _SHARED,
            },
        },
        "filters": {
            "failed_check": {"()": FailedCheckWithoutTraceback},
            "client_error": {"()": ClientErrorWithoutTraceback},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "health_check": {"filters": ["failed_check"]},
            # Django's own console handler (DEBUG) would print every record a second time.
            "django": {"handlers": [], "propagate": True},
            "django.request": {"filters": ["client_error"]},
        },
    }
