"""Invitations, the organisation a person acts for, notification choices, digest items,
and the organisations' webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.models import Membership, Organization
from contracts.webhook_targets import url_refusal
from people.querysets import InvitationQuerySet, WebhookQuerySet
from people.topics import TOPICS


class Invitation(models.Model):
    """An offer to join an organisation with a role, sent by e-mail as a signed link.

    Single use: accepting moves it from pending to accepted once (a conditional update
    in ``people.services``); revoking moves it to revoked. An expired invitation is a
    pending one past ``expires_at``; resending extends it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    # Who offers: the organisation itself, or the provider inviting its customer's admin.
    invited_by_organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations_sent"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    # What the signed link carries; never shown, never guessable.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "accepted", "revoked"]),
                name="invitation_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["admin", "editor", "viewer"]), name="invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(accepted_at__isnull=False),
                name="invitation_accepted_when",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | Q(revoked_at__isnull=False),
                name="invitation_revoked_when",
            ),
            # One open offer per address and organisation: a second would only confuse.
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
                violation_error_message="This address already has a pending invitation "
                "to the organisation: resend it instead.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    def state(self, now: datetime | None = None) -> str:
        """pending, accepted, revoked or expired (a pending one past its time)."""
        if self.status == self.Status.PENDING and self.expires_at <= (now or timezone.now()):
            return "expired"
        return self.status


class OrganizationChoice(models.Model):
    """The organisation a person belonging to several is acting for: the dashboard and
    the lists show it. A choice of an organisation one has left counts as none."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="organization_choice",
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    chosen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} acts for {self.organization}"


class Profile(models.Model):
    """A person's own reading choices: the language of pages, e-mails and PDFs, and the zone
    times are shown in. Blank means "as my browser asks" and "as my organisation's"."""

    class Language(models.TextChoices):
        BROWSER = "", _("As my browser asks")
        ENGLISH = "en", "English"
        GERMAN = "de", "Deutsch"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    language = models.CharField(max_length=8, choices=Language.choices, blank=True, default="")
    # The language the person's browser last asked for (``Accept-Language``), kept while they
    # choose none, so that e-mails and notifications sent without a request follow it too.
    browser_language = models.CharField(max_length=8, blank=True, default="", editable=False)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text=_("An IANA zone such as Europe/Berlin; blank for the organisation's zone."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}'s reading choices"


class NotificationPreference(models.Model):
    """How one person hears of one topic; no row means ``topics.DEFAULT_CHANNELS``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    topic = models.CharField(max_length=30)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True, help_text=_("An e-mail for each event, at once."))
    digest = models.BooleanField(default=False, help_text=_("The day's events in one e-mail."))
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["user_id", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="preference_once_per_topic"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.topic}"

    def clean(self) -> None:
        if self.topic not in TOPICS:
            raise ValidationError(
                {
                    "topic": gettext("Unknown topic; choose one of: %(topics)s.")
                    % {"topics": ", ".join(TOPICS)}
                }
            )


class DigestItem(models.Model):
    """An event waiting for a person's daily digest e-mail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_items"
    )
    event_id = models.UUIDField()
    event = models.CharField(max_length=20)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set in the transaction that writes the digest's e-mail: never in two digests.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "user"], name="digest_item_once"),
        ]
        indexes = [models.Index(fields=["sent_at", "user"])]

    def __str__(self) -> str:
        return self.title


class Webhook(models.Model):
    """One of an organisation's webhooks: where the events of the chosen topics go, in
    which shape, signed with its own secret. An organisation may have several (a signed
    JSON receiver for its tools, a Slack channel for its people…); its admins set them."""

    class Format(models.TextChoices):
        JSON = "json", _("Signed JSON")
        SLACK = "slack", _("Slack (incoming webhook)")
        TEAMS = "teams", _("Microsoft Teams (incoming webhook)")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(
        max_length=100, blank=True, help_text=_("A name for people, e.g. “#ops channel”.")
    )
    url = models.URLField(max_length=500, verbose_name="URL")
    secret = models.CharField(
        max_length=200,
        help_text=_("Key of the X-SLA-Signature HMAC."),
        error_messages={"blank": _("A webhook needs a secret to sign with.")},
    )
    # Chat tools read their own shapes; every format is signed all the same.
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON)
    # The topics (people.topics) whose events it receives; none chosen means every event,
    # those of topics added later included.
    topics = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookQuerySet.as_manager()
    # Who pointed the organisation's events where, and when; never the secret.
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["organization_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=["json", "slack", "teams"]), name="webhook_format_valid"
            ),
            models.UniqueConstraint(
                fields=["organization", "url"],
                name="webhook_url_once_per_organization",
                violation_error_message="The organisation already has a webhook to this URL.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.url

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.url:
            # Refused when typed, with its reason, rather than at the first delivery.
            refusal = url_refusal(self.url)
            if refusal:
                errors["url"] = refusal
        if not isinstance(self.topics, list) or not all(
            isinstance(topic, str) and topic in TOPICS for topic in self.topics
        ):
            errors["topics"] = f"Choose topics among {', '.join(TOPICS)} (none: every event)."
        elif len(set(self.topics)) != len(self.topics):
            errors["topics"] = "Name each topic once."
        if errors:
            raise ValidationError(errors)

    def receives(self, topic: str | None) -> bool:
        """Whether an event of ``topic`` goes to this webhook (an event of no topic, such
        as a test message, goes to every webhook)."""
        return not self.topics or topic is None or topic in self.topics
