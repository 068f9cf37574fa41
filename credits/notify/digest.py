"""The daily digest: one e-mail per person with the events they chose to take that way.

``people.DigestItem`` rows are written when an event is published (see
:mod:`credits.notify.publish`); once a day every person's unsent items become one
``Delivery``, and the items are marked sent in the same transaction, so an item is never
in two digests and a run that fails leaves them for the next.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from credits.models import Delivery, Notification
from credits.notify import delivery
from credits.notify.events import EVENT_NAMESPACE
from people.models import DigestItem
from people.preferences import default_language


def send_digests(*, now: datetime | None = None) -> int:
    """Write one digest e-mail per person with items waiting, up to ``now``; returns how
    many. The e-mails are sent after commit by ``credits.deliver``, retried as any other."""
    now = now or timezone.now()
    with transaction.atomic():
        items = list(
            DigestItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(sent_at__isnull=True, created_at__lte=now)
            .select_related("user")
            # Each person's own language, read with them (a left join: no profile, none).
            .annotate(language=F("user__profile__language"))
            .order_by("user_id", "created_at", "id")
        )
        by_user: dict[int, list[DigestItem]] = defaultdict(list)
        for item in items:
            by_user[item.user_id].append(item)
        deliveries = []
        for user_items in by_user.values():
            user = user_items[0].user
            address = (user.email or "").strip()
            if not address or not user.is_active:
                continue
            count = len(user_items)
            language = user_items[0].language or default_language()
            with translation.override(language):
                title = ngettext(
                    "Your SLA Portal digest: %(count)s event",
                    "Your SLA Portal digest: %(count)s events",
                    count,
                ) % {"count": count}
                context = {
                    "title": title,
                    "items": user_items,
                    "site_url": settings.SITE_URL.rstrip("/"),
                }
                text = render_to_string("credits/email/digest.txt", context)
                html = render_to_string("credits/email/digest.html", context)
            deliveries.append(
                Delivery(
                    # The same items always make the same digest: a retried run adds none.
                    event_id=uuid.uuid5(EVENT_NAMESPACE, f"digest:{user.pk}:{user_items[-1].pk}"),
                    event=Notification.Event.DIGEST,
                    channel=Delivery.Channel.EMAIL,
                    organization_id=user_items[0].organization_id,
                    recipient=address,
                    payload={"subject": title, "text": text, "html": html},
                    next_attempt_at=now,
                )
            )
        created = Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        DigestItem.objects.filter(pk__in=[item.pk for item in items]).update(sent_at=now)
        event_ids = [row.event_id for row in deliveries]
        transaction.on_commit(
            partial(_enqueue, event_ids=event_ids),
            robust=True,
        )
    return len(created)


def _enqueue(*, event_ids: list[uuid.UUID]) -> None:
    delivery.enqueue(
        Delivery.objects.filter(event_id__in=event_ids, status=Delivery.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
