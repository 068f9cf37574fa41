"""Publishing an event: its notifications and deliveries, written once, sent after commit.

An event becomes, in one transaction, one ``Notification`` per member of each
organisation concerned (the in-app inbox), one ``Delivery`` per e-mail address, one
``DigestItem`` per member who takes the topic in the daily digest, and one delivery per
webhook of the organisation that takes the event's topic. Each person's choices for the
event's topic (``people``) decide which of their own channels it takes; webhooks are the
organisation's, each with its own topics. The rows are
unique on the event's id, so publishing the same event twice creates nothing new. Each
delivery is sent after the transaction commits, by its own task, so that a failing
channel never blocks another one nor the caller.

Each person reads in their own language and zone (``people.preferences``), their
"reading": an event's notices are built once in the site's reading (its language and UTC:
webhooks, whose data carry ISO instants anyway) and once more in each other reading of a
recipient, so that in-app notifications and e-mails are in the recipient's language and
write instants in the recipient's zone, labelled, as the pages do; never the sender's
language nor the contract's clock. Most recipients share a reading, so builds stay few.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape

from contracts.models import Membership, Organization
from credits.models import Delivery, EmailContent, Notification, Statement, StatementLine
from credits.notify import delivery, events, formats
from credits.notify.events import TOPIC_OF_EVENT, Event, Notice
from engine import l10n
from people.models import DigestItem, Webhook
from people.preferences import default_language, reading_language, reading_zone
from people.selectors import preferences_by_user
from people.topics import DEFAULT_CHANNELS
from slaportal.db import insert_new

Choices = dict[tuple[int, str], dict[str, bool]]
# A recipient's reading: the language and the IANA zone their notices are written in.
Reading = tuple[str, str]

# The zone of the site's reading (webhooks, and whoever has no zone at all).
_SITE_ZONE = "UTC"


@contextmanager
def _reading(reading: Reading) -> Iterator[None]:
    """Build or render in ``reading``: its language and its zone current."""
    language, zone = reading
    # The engine's locale held for the language made active (read once, not for every
    # figure): nothing that builds or renders a notice activates another language.
    with (
        translation.override(language),
        timezone.override(zone),
        l10n.held(l10n.current()),
    ):
        yield


def _zone(name: str | None) -> str:
    """``name`` if it is a zone this machine knows, else the site's (a zone dropped from
    the tz database must not stop an event from being told)."""
    try:
        return zoneinfo.ZoneInfo(name).key if name else _SITE_ZONE
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return _SITE_ZONE


# Stands for the organisation's name while an event's e-mail is rendered once for every
# organisation told of it (private-use characters: in no template and no escaping), then
# replaced by each one's name; the layout's "a member of …" is the only difference.
_ORGANIZATION_NAME = "\ue000organization\ue000"


@dataclass(frozen=True)
class _AnyOrganization:
    name: str = _ORGANIZATION_NAME

    def __str__(self) -> str:
        return self.name


def _render_email(notice: Notice, reading: Reading) -> dict[str, str]:
    """The event's e-mail in ``reading``, for any organisation (see :func:`_email_for`)."""
    context = {
        **notice.context,
        "title": notice.title,
        "body": notice.body,
        "event": notice.event,
        "event_id": str(notice.event_id),
        "organization": _AnyOrganization(),
        "link_url": settings.SITE_URL.rstrip("/") + notice.link,
        "site_url": settings.SITE_URL,
    }
    with _reading(reading):
        return {
            # A header must be one line; titles hold user text such as a responsibility title.
            "subject": " ".join(notice.title.split())[:250],
            "text": render_to_string(f"credits/email/{notice.event}.txt", context),
            "html": render_to_string(f"credits/email/{notice.event}.html", context),
        }


def _email_for(rendered: dict[str, str], organization: Organization) -> dict[str, str]:
    """The event's e-mail as the members of ``organization`` receive it."""
    return {
        "subject": rendered["subject"],
        "text": rendered["text"].replace(_ORGANIZATION_NAME, organization.name),
        "html": rendered["html"].replace(_ORGANIZATION_NAME, escape(organization.name)),
    }


def publish(build: Callable[[], Sequence[Notice]], *, zoned: bool = False) -> None:
    """Write the notices ``build`` makes: their notifications and deliveries (members and
    their readings in one query, rows in one insert each); send them once committed.
    ``build`` runs once per reading of the recipients (the same notices, in order), with
    that reading's language and zone current. Only ``zoned`` notices (those that write an
    instant) are built once per zone too: the others read the same in every zone, and a
    batch of statements built again for each zone its recipients live in would multiply
    announcing's work by the number of zones."""
    site: Reading = (default_language(), _SITE_ZONE)
    with _reading(site):
        notices = build()
    if not notices:
        return
    now = timezone.now()
    organization_ids = {org.pk for notice in notices for org in notice.organizations}
    members: dict[int, list[User]] = {pk: [] for pk in organization_ids}
    # Each member's reading read with them (a left join: no profile, no choice): their
    # own language, else their browser's as last seen; their own zone, else that of the
    # organisation they are told as a member of (as pages decide, timezone_for).
    memberships = (
        Membership.objects.filter(organization_id__in=organization_ids, user__is_active=True)
        .select_related("user")
        .annotate(
            language=reading_language("user__profile__"),
            zone=reading_zone("user__profile__", "organization__"),
        )
        .order_by("user_id")
    )
    readings: dict[tuple[int, int], Reading] = {}
    for membership in memberships:
        members[membership.organization_id].append(membership.user)
        language = membership.language if membership.language in _LANGUAGES else site[0]
        readings[membership.user_id, membership.organization_id] = (
            language,
            _zone(membership.zone) if zoned else _SITE_ZONE,
        )
    by_reading: dict[Reading, Sequence[Notice]] = {site: notices}
    for reading in sorted(set(readings.values()) - {site}):
        with _reading(reading):
            by_reading[reading] = build()
    choices = preferences_by_user(user.pk for users in members.values() for user in users)
    webhooks: dict[int, list[Webhook]] = {pk: [] for pk in organization_ids}
    for webhook in Webhook.objects.filter(organization_id__in=organization_ids).order_by("id"):
        webhooks[webhook.organization_id].append(webhook)
    rows = _Rows(notifications=[], deliveries=[], digest=[], contents=[])
    for index, notice in enumerate(notices):
        told = _Told(
            site=site,
            notices={reading: built[index] for reading, built in by_reading.items()},
            readings=readings,
        )
        _rows_of(notice, told, members, choices, now, rows, webhooks)
    with transaction.atomic():
        # Unique (event_id, user), (event_id, address) and (event_id, webhook): a second
        # publication of the same event inserts nothing.
        # Many rows (a sweep's statements) go by COPY: see slaportal.db.insert_new.
        insert_new(rows.notifications)
        insert_new(rows.contents)
        insert_new(rows.deliveries)
        insert_new(rows.digest)
        # robust: a broker that is down must not fail the caller's request or settlement;
        # the rows stay pending and retry_due_deliveries sends them later.
        transaction.on_commit(
            partial(enqueue_pending, event_ids=[notice.event_id for notice in notices]),
            robust=True,
        )


_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


@dataclass(frozen=True)
class _Told:
    """One event in each reading of its recipients."""

    site: Reading
    notices: dict[Reading, Notice]
    readings: dict[tuple[int, int], Reading]

    def reading_of(self, user: User, organization: Organization) -> Reading:
        return self.readings.get((user.pk, organization.pk), self.site)


@dataclass
class _Rows:
    notifications: list[Notification]
    deliveries: list[Delivery]
    digest: list[DigestItem]
    contents: list[EmailContent]


def _channels(choices: Choices, user: User, event: str) -> dict[str, bool]:
    topic = TOPIC_OF_EVENT.get(event)
    if topic is None:
        return dict(DEFAULT_CHANNELS)
    return choices.get((user.pk, topic), DEFAULT_CHANNELS)


def _rows_of(
    notice: Notice,
    told: _Told,
    members: dict[int, list[User]],
    choices: Choices,
    now: datetime,
    rows: _Rows,
    webhooks: dict[int, list[Webhook]],
) -> None:
    """One event's notifications (one per person), digest items and deliveries (one per
    address and one per webhook), each person's as they chose for the event's topic, each
    webhook's as its topics say; each person's in their reading (``told``), the webhooks'
    in the site's (``notice``)."""
    event_id = notice.event_id
    users_seen: set[int] = set()
    emails_seen: set[str] = set()
    rendered: dict[Reading, dict[str, str]] = {}
    for organization in dict.fromkeys(notice.organizations):
        emails: dict[Reading, EmailContent] = {}
        for user in members[organization.pk]:
            # A person in both organisations is told once, as a member of the first; the
            # person who acted is not told of their own action.
            if user.pk in users_seen or user.pk == notice.actor_id:
                continue
            users_seen.add(user.pk)
            channels = _channels(choices, user, notice.event)
            reading = told.reading_of(user, organization)
            theirs = told.notices[reading]
            if channels["in_app"]:
                rows.notifications.append(
                    Notification(
                        event_id=event_id,
                        user=user,
                        organization=organization,
                        event=notice.event,
                        title=theirs.title[:300],
                        body=theirs.body,
                        link=notice.link,
                    )
                )
            if channels["digest"]:
                rows.digest.append(
                    DigestItem(
                        user=user,
                        event_id=event_id,
                        event=notice.event,
                        organization=organization,
                        title=theirs.title[:300],
                        body=theirs.body,
                        link=notice.link,
                        created_at=now,
                    )
                )
            address = (user.email or "").strip()
            if channels["email"] and address and address.lower() not in emails_seen:
                emails_seen.add(address.lower())
                if reading not in rendered:
                    rendered[reading] = _render_email(theirs, reading)
                if reading not in emails:
                    emails[reading] = EmailContent(
                        id=uuid.uuid5(event_id, f"{organization.pk}:{reading[0]}:{reading[1]}"),
                        **_email_for(rendered[reading], organization),
                    )
                    rows.contents.append(emails[reading])
                rows.deliveries.append(
                    Delivery(
                        event_id=event_id,
                        event=notice.event,
                        channel=Delivery.Channel.EMAIL,
                        organization=organization,
                        recipient=address,
                        content_id=emails[reading].pk,
                        payload={},
                        next_attempt_at=now,
                    )
                )
        for webhook in webhooks[organization.pk]:
            if not webhook.receives(TOPIC_OF_EVENT.get(notice.event)):
                continue
            rows.deliveries.append(
                Delivery(
                    event_id=event_id,
                    event=notice.event,
                    channel=Delivery.Channel.WEBHOOK,
                    organization=organization,
                    webhook=webhook,
                    recipient=webhook.url,
                    payload=formats.webhook_payload(notice, webhook.format),
                    next_attempt_at=now,
                )
            )


def enqueue_pending(*, event_ids: Sequence[uuid.UUID]) -> int:
    """Hand the events' pending deliveries to ``credits.deliver_batch`` tasks
    (:func:`~credits.notify.delivery.enqueue`); returns how many."""
    # Each channel named, so that the events' deliveries are found through the unique
    # indexes that lead with the event (one per channel), and the status judged here
    # rather than asked of PostgreSQL: that would let it read the status index too, which
    # after a burst of deliveries holds an entry for every version of every row until
    # vacuum (200,000 read to find none at the end of the 20,000-statement benchmark).
    ids = [
        pk
        for pk, status in Delivery.objects.filter(
            Q(channel=Delivery.Channel.EMAIL) | Q(channel=Delivery.Channel.WEBHOOK),
            event_id__in=event_ids,
        )
        .order_by("pk")
        .values_list("pk", "status")
        if status == Delivery.Status.PENDING
    ]
    delivery.enqueue(ids)
    return len(ids)


# --------------------------------------------------------------------------- the events


def statement_issued(*, statement_id: int) -> None:
    """Tell both parties (members, e-mail, webhooks) that a statement was issued."""
    statements_issued([statement_id])


def no_data(*, statement_id: int) -> None:
    """Warn the provider's members that objectives of the statement had no data."""
    statements_issued([], no_data_ids=[statement_id])


def statements_issued(statement_ids: Sequence[int], *, no_data_ids: Sequence[int] = ()) -> None:
    """:func:`statement_issued` for many statements, and :func:`no_data` for those of
    ``no_data_ids``, published together: a constant number of queries."""
    loaded = {
        statement.pk: (statement, lines)
        for statement, lines in events.load_statements([*statement_ids, *no_data_ids])
    }
    if statement_ids or no_data_ids:
        publish(partial(_statement_notices, loaded, statement_ids, no_data_ids))


def _statement_notices(
    loaded: dict[int, tuple[Statement, list[StatementLine]]],
    statement_ids: Sequence[int],
    no_data_ids: Sequence[int],
) -> list[Notice]:
    notices = [events.statement_notice(*loaded[pk]) for pk in statement_ids if pk in loaded]
    for pk in no_data_ids:
        if pk in loaded and (notice := events.no_data_notice(*loaded[pk])) is not None:
            notices.append(notice)
    return notices


def early_warning(*, warning_id: int) -> None:
    """Warn the provider's members of an objective breached or at risk, with the projection."""
    early_warnings(warning_ids=[warning_id])


def early_warnings(*, warning_ids: Sequence[int]) -> None:
    """:func:`early_warning` for many warnings (a sweep chunk's), published together: one
    publication, so their deliveries go in shared batches rather than one batch each. Each
    warning is still its own event (its own id, notifications and e-mails)."""
    warnings = events.load_early_warnings(warning_ids)
    if warnings:
        publish(lambda: [events.early_warning_notice(warning) for warning in warnings])


def dispute_opened(*, dispute_id: int) -> None:
    """Tell both parties that the customer disputes a statement line."""
    publish(lambda: [events.dispute_notice(dispute_id, Event.DISPUTE_OPENED)])


def dispute_resolved(*, dispute_id: int) -> None:
    """Tell both parties that the provider accepted or rejected a dispute."""
    publish(lambda: [events.dispute_notice(dispute_id, Event.DISPUTE_RESOLVED)])


def dispute_reopened(*, dispute_id: int) -> None:
    """Tell both parties that the provider reopened a dispute it had rejected."""
    publish(lambda: [events.dispute_notice(dispute_id, Event.DISPUTE_REOPENED)])


def lapse_recorded(*, lapse_id: int) -> None:
    """Tell both parties that a lapse of a customer responsibility was recorded."""
    lapse = events.load_lapse(lapse_id)
    publish(lambda: [events.lapse_notice(lapse)], zoned=True)


def lapse_contested(*, lapse_id: int) -> None:
    """Tell both parties that the customer contested a lapse the provider recorded."""
    lapse = events.load_lapse(lapse_id)
    publish(lambda: [events.lapse_contest_notice(lapse, Event.LAPSE_CONTESTED)], zoned=True)


def lapse_resolved(*, lapse_id: int) -> None:
    """Tell both parties that the provider kept or withdrew a contested lapse."""
    lapse = events.load_lapse(lapse_id)
    publish(lambda: [events.lapse_contest_notice(lapse, Event.LAPSE_RESOLVED)], zoned=True)


def claim_filed(*, claim_id: int) -> None:
    """Tell both parties that the customer claims an outage the provider did not record."""
    publish(lambda: [events.claim_notice(claim_id, Event.CLAIM_FILED)], zoned=True)


def claim_resolved(*, claim_id: int) -> None:
    """Tell both parties that the provider accepted or rejected a claim."""
    publish(lambda: [events.claim_notice(claim_id, Event.CLAIM_RESOLVED)], zoned=True)


def chronic_failure(*, failure_id: int) -> None:
    """Tell both parties that an objective is in chronic failure (the customer's right to
    terminate); once, whatever settles its period again."""
    publish(lambda: [events.chronic_failure_notice(failure_id)])


def member_joined(*, invitation_id: int) -> None:
    """Tell the organisation joined (and the provider that invited) of a new member."""
    publish(lambda: [events.member_joined_notice(invitation_id)])


_PUBLISHERS = {
    Event.STATEMENT_ISSUED: ("statement_id", statement_issued),
    Event.NO_DATA: ("statement_id", no_data),
    Event.EARLY_WARNING: ("warning_id", early_warning),
    Event.DISPUTE_OPENED: ("dispute_id", dispute_opened),
    Event.DISPUTE_RESOLVED: ("dispute_id", dispute_resolved),
    Event.LAPSE_RECORDED: ("lapse_id", lapse_recorded),
    Event.LAPSE_CONTESTED: ("lapse_id", lapse_contested),
    Event.LAPSE_RESOLVED: ("lapse_id", lapse_resolved),
    Event.MEMBER_JOINED: ("invitation_id", member_joined),
    Event.CHRONIC_FAILURE: ("failure_id", chronic_failure),
    Event.CLAIM_FILED: ("claim_id", claim_filed),
    Event.CLAIM_RESOLVED: ("claim_id", claim_resolved),
}


def publish_event(*, event: str, object_id: int) -> None:
    """Publish an event named by its kind and the id of its object (what the
    ``credits.notify`` task receives)."""
    argument, publisher = _PUBLISHERS[Event(event)]
    publisher(**{argument: object_id})
