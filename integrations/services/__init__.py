"""Writes of the integrations app; views, serializers, admin and tasks call these.

Everything that arrives is recorded through the contracts app's own services
(``save_incident``, ``record_measurements``, ``record_tickets``, ``save_service_level``),
never around them: an integration checks nothing the API would not, and skips nothing.
"""

from integrations.services.alertmanager import (
    AlertsReceived,
    PayloadRefused,
    extend_open_incidents,
    receive_alerts,
)
from integrations.services.events import log_event, prune_events
from integrations.services.prometheus import (
    PullFailed,
    PullOutcome,
    delete_pull,
    delete_source,
    due_pulls,
    pull,
    save_pull,
    save_source,
    test_pull,
)
from integrations.services.receivers import (
    authenticate,
    create_receiver,
    delete_mapping,
    delete_receiver,
    rotate_token,
    save_mapping,
    save_receiver,
)
from integrations.services.test_events import send_test_event
from integrations.services.tickets import TicketsRefused, receive_tickets

__all__ = [
    "AlertsReceived",
    "PayloadRefused",
    "PullFailed",
    "PullOutcome",
    "TicketsRefused",
    "authenticate",
    "create_receiver",
    "delete_mapping",
    "delete_pull",
    "delete_receiver",
    "delete_source",
    "due_pulls",
    "extend_open_incidents",
    "log_event",
    "prune_events",
    "pull",
    "receive_alerts",
    "receive_tickets",
    "rotate_token",
    "save_mapping",
    "save_pull",
    "save_receiver",
    "save_source",
    "send_test_event",
    "test_pull",
]
