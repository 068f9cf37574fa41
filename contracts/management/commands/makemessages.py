"""``manage.py makemessages`` that also reads the engine's plural messages kept as parts.

The engine keeps a statement's explanations as their parts (``engine.phrases``) and marks a
plural message there with ``ngettext_noop(singular, plural)``, which Django's own command
does not look for: without the keyword its two forms would leave the catalogue.
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=ngettext_noop:1,2"]
