"""What a person may choose to hear of, and how.

The one list of topics people choose from. An event of the portal belongs to a topic
(``credits.notify.events.TOPIC_OF_EVENT``); a new kind of event joins an existing topic
or adds one here, and the preferences page, the API and the admin offer it at once.
"""

from __future__ import annotations

TOPICS: dict[str, str] = {
    "statement": "Statements issued",
    "dispute": "Disputes",
    "claim": "Claims",
    "lapse": "Responsibility lapses",
    "early_warning": "Early warnings",
    "invitation": "Invitations and new members",
}

CHANNELS: dict[str, str] = {
    "in_app": "In the portal",
    "email": "E-mail at once",
    "digest": "Daily digest e-mail",
}

# What a person receives before choosing: the portal and an e-mail at once, as before
# choices existed.
DEFAULT_CHANNELS: dict[str, bool] = {"in_app": True, "email": True, "digest": False}

# The topics as (value, label) choices: forms, serializers and the API schema's TopicEnum.
TOPIC_CHOICES: list[tuple[str, str]] = list(TOPICS.items())
