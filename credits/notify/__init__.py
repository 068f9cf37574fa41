"""Notifications of both parties: in-app, e-mail and signed webhooks.

An event (a statement issued, a dispute opened or resolved, a lapse recorded, an early
warning, missing data) becomes, in one transaction:

- one ``Notification`` per member of each organisation concerned (the in-app inbox);
- one ``Delivery`` per e-mail address and one per organisation webhook.

Every event has a deterministic ``event_id`` (uuid5 of ``"<event>:<object id>"``) and the
rows are unique on it, so publishing the same event twice creates nothing new. Deliveries
are sent after the transaction commits, in batches (``credits.deliver_batch``: a batch's
e-mails over one SMTP connection, its webhooks one HTTP session per URL), each message
judged on its own, so that a failing address or channel never holds back another nor the
caller; a failed one is retried alone (``credits.deliver``). The ``Delivery`` row, not the
message, is the truth: a task claims it with a conditional ``UPDATE`` before sending (two
workers or a redelivered message never send twice), failures are retried with exponential
backoff and jitter up to ``WEBHOOK_MAX_ATTEMPTS``, and the periodic
``credits.retry_due_deliveries`` re-enqueues whatever is due, whatever became of the
messages.

One job per module, each importing only those before it:

- :mod:`~credits.notify.events`: what each event says (ids, titles, bodies, webhook data);
- :mod:`~credits.notify.webhooks`: where a webhook may go, posting and signing it;
- :mod:`~credits.notify.emails`: e-mails of one payload sharing its MIME body, built once;
- :mod:`~credits.notify.delivery`: claiming, sending and retrying deliveries;
- :mod:`~credits.notify.batch`: sending many at once (one SMTP connection, one HTTP
  session per webhook), each judged on its own;
- :mod:`~credits.notify.formats`: a webhook's shape (signed JSON, Slack, Teams);
- :mod:`~credits.notify.publish`: writing an event's notifications and deliveries, as
  each person chose (``people``);
- :mod:`~credits.notify.digest`: the daily digest e-mails;
- :mod:`~credits.notify.probe`: the test message an organisation sends its webhook;
- :mod:`~credits.notify.outbox`: the statements waiting to be announced, and the
  periodic catch-up.

The Celery tasks live in :mod:`credits.tasks` and call the functions exported here.
"""

from credits.notify.batch import send_batch
from credits.notify.delivery import (
    claim,
    enqueue_due_deliveries,
    max_attempts,
    retry_delay,
    send_delivery,
)
from credits.notify.digest import send_digests
from credits.notify.events import EVENT_NAMESPACE, TOPIC_OF_EVENT, event_id_for
from credits.notify.outbox import (
    MAX_ANNOUNCEMENT_ATTEMPTS,
    STALE_ANNOUNCEMENT,
    announce_pending,
    enqueue_stale_announcements,
    retry_due_deliveries,
)
from credits.notify.probe import send_test_webhook
from credits.notify.publish import (
    chronic_failure,
    claim_filed,
    claim_resolved,
    dispute_opened,
    dispute_reopened,
    dispute_resolved,
    early_warning,
    early_warnings,
    enqueue_pending,
    lapse_contested,
    lapse_recorded,
    lapse_resolved,
    member_joined,
    no_data,
    publish_event,
    statement_issued,
    statements_issued,
)
from credits.notify.webhooks import (
    SIGNATURE_HEADER,
    DeliveryRefused,
    address_refusal,
    resolve_target,
    sign,
    verify_signature,
    webhook_body,
)

__all__ = [
    "EVENT_NAMESPACE",
    "MAX_ANNOUNCEMENT_ATTEMPTS",
    "SIGNATURE_HEADER",
    "STALE_ANNOUNCEMENT",
    "TOPIC_OF_EVENT",
    "DeliveryRefused",
    "address_refusal",
    "announce_pending",
    "chronic_failure",
    "claim",
    "claim_filed",
    "claim_resolved",
    "dispute_opened",
    "dispute_reopened",
    "dispute_resolved",
    "early_warning",
    "early_warnings",
    "enqueue_due_deliveries",
    "enqueue_pending",
    "enqueue_stale_announcements",
    "event_id_for",
    "lapse_contested",
    "lapse_recorded",
    "lapse_resolved",
    "max_attempts",
    "member_joined",
    "no_data",
    "publish_event",
    "resolve_target",
    "retry_delay",
    "retry_due_deliveries",
    "send_batch",
    "send_delivery",
    "send_digests",
    "send_test_webhook",
    "sign",
    "statement_issued",
    "statements_issued",
    "verify_signature",
    "webhook_body",
]
