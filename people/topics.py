"""What a person may choose to hear of, and how.

The one list of topics people choose from. An event of the portal belongs to a topic
(``credits.notify.events.TOPIC_OF_EVENT``); a new kind of event joins an existing topic
or adds one here, and the preferences page, the API and the admin offer it at once.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

TOPICS: dict[str, Any] = {
    "statement": _("Statements issued"),
    "dispute": _("Disputes"),
    "claim": _("Claims"),
    "lapse": _("Responsibility lapses"),
    "early_warning": _("Early warnings"),
    "invitation": _("Invitations and new members"),
}

CHANNELS: dict[str, Any] = {
    "in_app": _("In the portal"),
    "email": _("E-mail at once"),
    "digest": _("Daily digest e-mail"),
}

# What a person receives before choosing: the portal and an e-mail at once, as before
# choices existed.
DEFAULT_CHANNELS: dict[str, bool] = {"in_app": True, "email": True, "digest": False}

# The topics as (value, label) choices: forms, serializers and the API schema's TopicEnum.
TOPIC_CHOICES: list[tuple[str, Any]] = list(TOPICS.items())
