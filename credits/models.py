"""Statements, their lines, disputes, notifications and deliveries.

Issued statements are immutable: a correction is a new revision, so the customer can see
both. The database holds that rule (a unique revision per period; on PostgreSQL a trigger
refuses updates to issued statements and lines), not only this code.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.models import Contract, ContractService, Organization, ServiceLevel, Ticket
from credits.querysets import (
    ClaimQuerySet,
    DisputeQuerySet,
    NotificationQuerySet,
    OpenPeriodProgressQuerySet,
    StatementLineQuerySet,
    StatementQuerySet,
)
from engine import phrases

MONEY = {"max_digits": 18, "decimal_places": 3}


class Explained(models.Model):
    """A row with an explanation in the site's language (``explanation``: the API, CSV and
    the audit read it) and its parts (``explanation_parts``, :mod:`engine.phrases`), written
    with the row (an issued statement's once): pages, e-mails and the PDF read
    :attr:`explanation_text`, the same sentence in the reader's language with the figures
    written. Rows written before the parts were kept say their text as written."""

    explanation = models.TextField()
    explanation_parts = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def explanation_text(self) -> str:
        """The explanation in the active language."""
        if not self.explanation_parts or phrases.reads_as_issued():
            return self.explanation
        return phrases.render(self.explanation_parts)


class Statement(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day of the period, inclusive.")
    revision = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    currency = models.CharField(max_length=3)
    fees_total = models.DecimalField(**MONEY)
    at_risk_amount = models.DecimalField(**MONEY, null=True, blank=True)
    credit_total = models.DecimalField(**MONEY)
    cap_adjustment = models.DecimalField(**MONEY, default=0)
    # A digest of every input of the settlement: the same digest means nothing changed.
    fingerprint = models.CharField(max_length=64)
    # The latest amendment or correction among the terms this statement was settled on;
    # null: the terms as first agreed.
    terms_change = models.ForeignKey(
        "contracts.TermsChange",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
    )
    issued_at = models.DateTimeField()

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period_start", "revision"], name="statement_revision_unique"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="statement_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(revision__gte=1), name="statement_revision_positive"
            ),
            models.CheckConstraint(
                condition=Q(credit_total__gte=0), name="statement_credit_positive"
            ),
            models.CheckConstraint(
                condition=Q(cap_adjustment__lte=0), name="statement_cap_adjustment_negative"
            ),
        ]
        indexes = [models.Index(fields=["contract", "-period_start", "-revision"])]

    def __str__(self) -> str:
        return f"{self.contract.reference} {self.period_start:%Y-%m-%d} r{self.revision}"


class StatementLine(Explained):
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    contract_service = models.ForeignKey(
        ContractService, on_delete=models.PROTECT, related_name="statement_lines"
    )
    # PROTECT, not SET_NULL: nulling the reference would rewrite an issued line.
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.PROTECT, null=True, related_name="statement_lines"
    )
    # A snapshot of the objective as it was applied: later edits never rewrite history.
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    source_level = models.CharField(max_length=20)
    indicator = models.CharField(max_length=20)
    comparator = models.CharField(max_length=3)
    target = models.DecimalField(max_digits=14, decimal_places=4)
    credit_rule = models.JSONField(null=True, blank=True)
    measure = models.JSONField(default=dict, help_text="The exact aggregate figures used.")
    attainment = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    met = models.BooleanField(null=True)
    fee = models.DecimalField(**MONEY, help_text="The prorated fee of the period.")
    credit_percent = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    amount = models.DecimalField(**MONEY, default=0)
    # The part of ``amount`` held for earn-back (SPEC §6): shown, not payable; a later
    # statement pays it or says the provider earned it back.
    held = models.DecimalField(**MONEY, default=0)

    objects = StatementLineQuerySet.as_manager()

    class Meta:
        ordering = ["statement_id", "contract_service_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "contract_service", "key"], name="statement_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="statement_line_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(held__gte=0, held__lte=models.F("amount")),
                name="statement_line_held_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.amount}"


class StatementLineTicket(models.Model):
    """One ticket as a ticket line of a statement counted it: its clock in business,
    stopped and wall-clock seconds, and whether it was within the threshold. Written for
    the lines issued before ticket clocks were kept (contracts.TicketClock); later lines
    keep the digest of their tickets' clocks and the drill-down reads the tickets again.

    A snapshot like the line itself, immutable once issued: the ticket may change or go
    later, the figures the customer was shown stay (only the link to a deleted ticket is
    cleared, which the database allows as the one change).
    """

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="tickets")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="statement_lines"
    )
    reference = models.CharField(max_length=100)
    priority = models.CharField(max_length=20)
    opened_at = models.DateTimeField()
    # The first response or the resolution the clock ran to; null while still open.
    done_at = models.DateTimeField(null=True, blank=True)
    business_seconds = models.BigIntegerField()
    stopped_seconds = models.BigIntegerField()
    wall_seconds = models.BigIntegerField()
    within = models.BooleanField()

    class Meta:
        ordering = ["line_id", "within", "-business_seconds", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "reference"], name="statement_line_ticket_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.business_seconds} s"


class StatementAdjustment(Explained):
    """A row of a statement below its lines that moves its total: an adjustment agreed in
    a dispute, or the note of a dispute accepted with a correction or of an accepted claim
    (zero).

    Lines, the cap adjustment and these rows add up to the statement's credit total, in
    the order of ``position``; the CSV and the PDF list them in that order. Immutable like
    the statement.
    """

    class Kind(models.TextChoices):
        MINIMUM_CREDIT = "minimum_credit", _("Minimum credit")
        AGREED = "agreed", _("Agreed adjustment")
        CORRECTION = "correction", _("Correction after a dispute")
        CLAIM = "claim", _("Accepted claim")
        EARN_BACK_HELD = "earn_back_held", _("Held for earn-back")
        EARN_BACK_PAID = "earn_back_paid", _("Held credit payable")
        EARNED_BACK = "earned_back", _("Held credit earned back")
        CHRONIC_FAILURE = "chronic_failure", _("Chronic failure")

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="adjustments")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    dispute = models.ForeignKey(
        "Dispute", on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments"
    )
    claim = models.ForeignKey(
        "Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments"
    )

    class Meta:
        ordering = ["statement_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="statement_adjustment_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "minimum_credit",
                        "agreed",
                        "correction",
                        "claim",
                        "earn_back_held",
                        "earn_back_paid",
                        "earned_back",
                        "chronic_failure",
                    ]
                ),
                name="statement_adjustment_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.amount}"


class ChronicFailure(Explained):
    """An objective in chronic failure (SPEC §6): its K-th breach within M consecutive
    periods, found when that period was settled. Written once per objective and period,
    when the statement that found it is issued, and both parties are told then; settling
    again, or a revision that no longer finds it, never writes or tells it again. The count
    of breaches starts again after it, so one run of breaches is one failure."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="chronic_failures"
    )
    contract_service = models.ForeignKey(
        ContractService, on_delete=models.PROTECT, related_name="chronic_failures"
    )
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    period_start = models.DateField()
    period_end = models.DateField()
    breaches = models.PositiveSmallIntegerField()
    window = models.PositiveSmallIntegerField()
    # The revision that found it.
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="chronic_failures"
    )
    found_at = models.DateTimeField()

    class Meta:
        ordering = ["contract_id", "-period_start", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key", "period_start"],
                name="chronic_failure_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"Chronic failure of {self.key} ({self.period_start})"


class StatementDocument(models.Model):
    """A statement as the API shows it, rendered once on first read.

    Statements and their lines never change, so their rendering never goes stale; reading
    a page of stored documents costs one query instead of rebuilding every line. The body
    is the JSON text exactly as the API sends it, kept as text rather than jsonb: a page
    splices the stored texts into the response, where jsonb would have to be turned back
    into text by PostgreSQL (or decoded and encoded again by Python) on every read.
    """

    statement = models.OneToOneField(
        Statement, on_delete=models.CASCADE, primary_key=True, related_name="document"
    )
    body = models.TextField(help_text="The statement's JSON, as the API renders it.")

    def __str__(self) -> str:
        return f"Document of statement {self.statement_id}"


class PendingAnnouncement(models.Model):
    """A statement issued by the sweep whose parties are yet to be told.

    Written in the transaction that issues the statement and deleted in the one that
    writes its notifications: whatever fails in between (a lost message, a worker killed
    after the commit, the broker away), the row stays until a later attempt announces it.
    """

    statement = models.OneToOneField(
        Statement, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Some objectives had no data: the provider is told that too.
    no_data = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    # Last handed to the notification queue; the catch-up hands over again only rows that
    # have waited long after that (their message lost, not merely queued).
    handed_at = models.DateTimeField(db_index=True)
    # Announcing this statement failed (other than for a lost connection) this many times.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Announcement of statement {self.statement_id}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    class Remedy(models.TextChoices):
        CORRECTION = "correction", _("Correct the data or terms and settle again")
        ADJUSTMENT = "adjustment", _("Agree an adjustment amount")

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="disputes")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    # An accepted dispute moves money: either the period is settled again on corrected data
    # or terms, or the parties agree an amount; both issue a revision that cites the dispute.
    remedy = models.CharField(max_length=10, choices=Remedy.choices, blank=True)
    adjustment_amount = models.DecimalField(**MONEY, null=True, blank=True)
    # Set when the provider reopened it after a resolution; the earlier outcome is in the
    # history. Reopening is the only way back to an open dispute on the same line.
    reopened_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = DisputeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(status="open"), name="dispute_one_open_per_line"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(resolved_at__isnull=False) & ~Q(resolution="")),
                name="dispute_resolution_recorded",
            ),
            models.CheckConstraint(
                # Disputes accepted before remedies existed keep an empty one.
                condition=Q(status="accepted", remedy="adjustment", adjustment_amount__gt=0)
                | Q(
                    status="accepted", remedy__in=["correction", ""], adjustment_amount__isnull=True
                )
                | (~Q(status="accepted") & Q(remedy="", adjustment_amount__isnull=True)),
                name="dispute_remedy_of_acceptance",
                violation_error_message="An accepted dispute has a remedy; only it has one.",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute on {self.line} ({self.status})"


class Claim(models.Model):
    """A customer's report of an outage the provider did not record, in a closed period.

    Filed within the contract's ``claim_window_days`` after the period ends. Accepting it
    records the outage as a provider incident (``incident``), which the period's next
    revision counts and whose row cites the claim; rejecting it needs a reason and changes
    nothing. Both parties are told at each step; earlier states stay in the history.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.PROTECT, related_name="claims"
    )
    # The uptime objective the outage counts against, as an incident's key.
    key = models.SlugField(max_length=60, default="availability")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    description = models.TextField()
    # The settlement period the outage lies in (the contract's days, inclusive).
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    incident = models.OneToOneField(
        "contracts.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claim",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    filed_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ClaimQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-filed_at", "-id"]
        indexes = [models.Index(fields=["contract_service", "period_start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=models.F("started_at")),
                name="claim_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="claim_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status="open", incident__isnull=True, resolved_at__isnull=True)
                | Q(status="accepted", incident__isnull=False, resolved_at__isnull=False)
                | (
                    Q(status="rejected", incident__isnull=True, resolved_at__isnull=False)
                    & ~Q(resolution="")
                ),
                name="claim_outcome_recorded",
                violation_error_message="An accepted claim has its incident; a rejected one "
                "its reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim #{self.pk} on {self.contract_service} ({self.status})"


class Notification(models.Model):
    class Event(models.TextChoices):
        STATEMENT_ISSUED = "statement_issued", _("Statement issued")
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        DISPUTE_RESOLVED = "dispute_resolved", _("Dispute resolved")
        LAPSE_RECORDED = "lapse_recorded", _("Responsibility lapse recorded")
        EARLY_WARNING = "early_warning", _("Early warning")
        NO_DATA = "no_data", _("No data for an objective")
        DISPUTE_REOPENED = "dispute_reopened", _("Dispute reopened")
        LAPSE_CONTESTED = "lapse_contested", _("Responsibility lapse contested")
        LAPSE_RESOLVED = "lapse_resolved", _("Contested lapse kept or withdrawn")
        MEMBER_JOINED = "member_joined", _("Invitation accepted")
        CHRONIC_FAILURE = "chronic_failure", _("Chronic failure")
        CLAIM_FILED = "claim_filed", _("Claim filed")
        CLAIM_RESOLVED = "claim_resolved", _("Claim accepted or rejected")
        # Not events of their own: a day's e-mails in one, and a webhook's test message.
        DIGEST = "digest", _("Daily digest")
        WEBHOOK_TEST = "webhook_test", _("Webhook test")

    event_id = models.UUIDField(default=uuid.uuid4)
    # Found through the (user, read_at) index, which leads with the user: an index of its
    # own would only be written with every notification.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "user"], name="notification_once_per_event_and_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class EmailContent(models.Model):
    """An event's e-mail as the members of one organisation who read in one language and
    zone receive it: written once for all of them, however many addresses it goes to (a
    rendered e-mail is ~10 kB; each address has its own ``Delivery``)."""

    # Deterministic (see credits.notify.publish): publishing an event again writes none.
    id = models.UUIDField(primary_key=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One message on one channel to one recipient: retried, never sent twice."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    event_id = models.UUIDField()
    event = models.CharField(max_length=20, choices=Notification.Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.CharField(max_length=500)
    # The webhook a webhook delivery goes to (its log); kept when the webhook is removed,
    # which refuses what was still pending for it.
    webhook = models.ForeignKey(
        "people.Webhook",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        # Found through delivery_webhook_log, which leads with the webhook.
        db_index=False,
    )
    # An e-mail's subject and parts, shared by the addresses that receive the same e-mail
    # (older e-mail deliveries keep theirs in ``payload``); a webhook's body is ``payload``.
    content = models.ForeignKey(
        EmailContent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        # Read through the delivery only: an index would be written with every delivery.
        db_index=False,
    )
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # An e-mail address hears of an event once; each webhook hears of it once, even
            # where two organisations' webhooks share a URL.
            models.UniqueConstraint(
                fields=["event_id", "recipient"],
                condition=Q(channel="email"),
                name="delivery_once_per_address",
            ),
            models.UniqueConstraint(
                fields=["event_id", "webhook"],
                condition=Q(channel="webhook"),
                name="delivery_once_per_webhook",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_log"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.status}"

    @property
    def email(self) -> dict[str, str]:
        """An e-mail delivery's subject, text and HTML."""
        if self.content_id is None:
            return self.payload
        content = self.content
        return {"subject": content.subject, "text": content.text, "html": content.html}


class EarlyWarning(models.Model):
    """Raised once per objective per open period, while the provider can still act; and
    for a ticket objective, once per open ticket about to pass its threshold (``ticket``)."""

    class State(models.TextChoices):
        AT_RISK = "at_risk", _("At risk")
        BREACHED = "breached", _("Breached")

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="early_warnings"
    )
    key = models.SlugField(max_length=60)
    period_start = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices)
    attainment = models.DecimalField(max_digits=24, decimal_places=10, null=True)
    projected_credit_percent = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    projected_amount = models.DecimalField(**MONEY, default=0)
    # In the site's language (the API and webhooks read it), and as its parts
    # (engine.phrases) for :attr:`message_text`.
    message = models.TextField()
    message_parts = models.JSONField(null=True, blank=True, editable=False)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="early_warnings"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key", "period_start"],
                condition=Q(ticket__isnull=True),
                name="early_warning_once_per_period",
            ),
            # Once per ticket and objective, whichever period it is in: the run every
            # quarter of an hour must not repeat it.
            models.UniqueConstraint(
                fields=["ticket", "key"],
                condition=Q(ticket__isnull=False),
                name="early_warning_once_per_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.state} ({self.period_start})"

    @property
    def message_text(self) -> str:
        """The message in the active language, with the figures as warned; a warning
        written before its parts were kept says its message as written."""
        if not self.message_parts or phrases.reads_as_issued():
            return self.message
        return phrases.render(self.message_parts)


class OpenPeriodProgress(Explained):
    """How one objective stands in its open period so far, as the last early-warning run
    measured it: one row per (contract service, key, period), rewritten on every run, so the
    dashboard reads the figures instead of measuring each contract on every page view."""

    class State(models.TextChoices):
        ON_TRACK = "on_track", _("On track")
        AT_RISK = "at_risk", _("At risk")
        BREACHED = "breached", _("Breached")
        NO_DATA = "no_data", _("No data yet")
        # Data, but fewer samples than the projection judges from: neither on track nor not.
        TOO_FEW = "too_few", _("Too few samples")

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="open_progress"
    )
    key = models.SlugField(max_length=60)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day of the period, inclusive.")
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="open_progress"
    )
    # The objective as it was judged: the state only means something against this target.
    indicator = models.CharField(max_length=20)
    comparator = models.CharField(max_length=3)
    target = models.DecimalField(max_digits=14, decimal_places=4)
    attainment = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    projected_credit_percent = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    # Empty while on track or without data (the parts too).
    explanation = models.TextField(blank=True)
    measured_at = models.DateTimeField()

    objects = OpenPeriodProgressQuerySet.as_manager()

    class Meta:
        ordering = ["contract_service_id", "key"]
        verbose_name_plural = "open period progress"
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key", "period_start"],
                name="open_period_progress_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.state} ({self.period_start})"
