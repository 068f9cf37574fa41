"""Sentry, when ``SENTRY_DSN`` is set: unhandled errors of requests and Celery tasks, and
every log record at ERROR, are sent there with their request or task. Left unset, the SDK
is never initialised and nothing leaves the machine."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def init_sentry(dsn: str, *, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.utils import BadDsn

    try:
        sentry_sdk.init(
            dsn=dsn,
            environment=environment or None,
            release=release or None,
            integrations=[DjangoIntegration(), CeleryIntegration()],
            traces_sample_rate=traces_sample_rate,
            # Customers' names, e-mail addresses and tokens stay here: no user data, no
            # request bodies, no cookies.
            send_default_pii=False,
            max_request_body_size="never",
        )
    except BadDsn as exc:
        raise ImproperlyConfigured(f"SENTRY_DSN is not a Sentry DSN: {exc}") from None
