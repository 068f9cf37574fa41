"""``manage.py migrate`` as the role that owns the tables.

With ``DATABASE_MIGRATE_URL`` set, Django's migrate connects with that URL's role instead of
``DATABASE_URL``'s and, once done, grants the app's role the rows of every table (and
nothing else), so that tables a migration creates are usable by the app at once. Without it,
migrate is Django's own. See docs/deploy.md, "Database roles".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from slaportal.db import grant_app_role

# Who connects, and how; the database (NAME) stays the one being migrated, which under the
# test runner is the test database.
CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


class Command(migrate.Command):
    help = (
        "Updates the database schema, as the owner role of DATABASE_MIGRATE_URL when set, "
        "then grants DATABASE_URL's role the rows of every table."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = getattr(settings, "DATABASE_MIGRATE", None)
        if owner is None or options["database"] != DEFAULT_DB_ALIAS:
            super().handle(*args, **options)
            return
        connection = connections[DEFAULT_DB_ALIAS]
        app = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
        connection.close()
        connection.settings_dict.update({key: owner.get(key) for key in CREDENTIALS})
        try:
            super().handle(*args, **options)
            grant_app_role(app["USER"])
            if options["verbosity"] >= 1:
                self.stdout.write(f"Granted {app['USER']} the rows of every table.")
        finally:
            connection.close()
            connection.settings_dict.update(app)
