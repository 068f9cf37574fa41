"""Reads of pages and lists from a read replica; everything else from the primary.

With ``DATABASE_REPLICA_URL`` set, the settings add a ``replica`` database, this router
and :class:`ReplicaReadsMiddleware`. The rule, in order:

- Writes always go to the primary (``default``); so do migrations.
- Only reads made while a GET or HEAD request is being answered may use the replica.
  Celery tasks, management commands, the sweep and settlement read the primary, always:
  what they decide from must be the latest.
- Inside a transaction on the primary (``transaction.atomic``, ``select_for_update``) reads
  stay on the primary: a transaction must see its own rows.
- Once a request has written anything, its later reads go to the primary, so that a page
  that saves on GET shows what it saved.
- For ``REPLICA_STICKY_SECONDS`` after a POST, PUT, PATCH or DELETE, that browser's reads
  go to the primary (a cookie): the page after "Save" shows the change even while the
  replica is a moment behind.
- Sessions, API tokens and login throttling are read from the primary: a login or a
  token just created must work at once on any server.
- A related object is read where its parent was read.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
STICKY_COOKIE = "primary_reads"
SAFE_METHODS = frozenset({"GET", "HEAD"})
PRIMARY_ONLY_APPS = frozenset({"sessions", "authtoken", "axes"})


@dataclass
class _RequestReads:
    wrote: bool = False


# Set for the duration of a request whose reads may use the replica.
_request_reads: contextvars.ContextVar[_RequestReads | None] = contextvars.ContextVar(
    "request_reads", default=None
)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        reads = _request_reads.get()
        if (
            reads is None
            or reads.wrote
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        reads = _request_reads.get()
        if reads is not None:
            reads.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica holds the primary's rows: an object read from either relates to any.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Lets the reads of a GET or HEAD request use the replica (see the module's rules)
    and keeps a browser on the primary for a moment after it changed something."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            response.set_cookie(
                STICKY_COOKIE,
                "1",
                max_age=settings.REPLICA_STICKY_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
        if STICKY_COOKIE in request.COOKIES:
            return self.get_response(request)
        token = _request_reads.set(_RequestReads())
        try:
            return self.get_response(request)
        finally:
            _request_reads.reset(token)
