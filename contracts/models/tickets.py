"""Tickets of a contract service and their status events, measured by ticket clocks."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contracts.models.contracts import ContractService
from contracts.querysets import ContractScopedQuerySet


class TicketQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"


class TicketEventQuerySet(ContractScopedQuerySet):
    contract_path = "ticket__contract_service__contract"


class Ticket(models.Model):
    """A ticket as the provider's ticket system reports it; ``reference`` is its key there."""

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="tickets"
    )
    reference = models.CharField(max_length=100)
    priority = models.CharField(max_length=20, help_text=_("One of the contract's priority codes."))
    title = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text=_("The final resolution: a reopened ticket is open.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["contract_service_id", "opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "reference"],
                name="ticket_reference_unique",
                violation_error_message="This service already has a ticket with this reference.",
            ),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True)
                | Q(first_response_at__gte=models.F("opened_at")),
                name="ticket_response_after_opening",
                violation_error_message="The first response cannot come before the opening.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("opened_at")),
                name="ticket_resolution_after_opening",
                violation_error_message="A ticket cannot be resolved before it was opened.",
            ),
        ]
        indexes = [
            models.Index(fields=["contract_service", "opened_at"], name="ticket_service_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.priority})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.opened_at is not None:
            if self.first_response_at is not None and self.first_response_at < self.opened_at:
                errors["first_response_at"] = gettext(
                    "The first response cannot come before the opening."
                )
            if self.resolved_at is not None and self.resolved_at < self.opened_at:
                errors["resolved_at"] = gettext("A ticket cannot be resolved before it was opened.")
        if (
            "first_response_at" not in errors
            and "resolved_at" not in errors
            and self.first_response_at is not None
            and self.resolved_at is not None
            and self.first_response_at > self.resolved_at
        ):
            errors["first_response_at"] = gettext(
                "The first response cannot come after the resolution."
            )
        if errors:
            raise ValidationError(errors)


class TicketEvent(models.Model):
    """A change of a ticket's status: its clock stands while it waits on the customer, and
    between a resolution and a reopen."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting on the customer")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "open",
                        "in_progress",
                        "waiting_on_customer",
                        "resolved",
                        "reopened",
                    ]
                ),
                name="ticket_event_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_at")]

    def __str__(self) -> str:
        return f"{self.ticket.reference} {self.status} at {self.at:%Y-%m-%d %H:%M}"


class TicketClockSet(models.Model):
    """The clocks of every ticket of a contract service are kept for these terms: a
    ``TicketClock`` row per ticket, refreshed whenever a ticket arrives or changes.

    ``terms`` names the clock: its kind, its threshold in seconds, its calendar's
    definition (hours, zone, holidays, closed days) and its tickets' priority, so that a
    changed calendar or threshold is a set of its own, built when a settlement first needs
    it."""

    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="ticket_clock_sets"
    )
    terms = models.CharField(max_length=200)
    # What the terms say, to refresh the clocks as tickets change.
    kind = models.CharField(max_length=20)
    limit_seconds = models.BigIntegerField()
    calendar = models.ForeignKey(
        "contracts.ServiceCalendar",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ticket_clock_sets",
    )
    # The tickets of one priority, or all (null).
    priority = models.CharField(max_length=20, null=True, blank=True)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "terms"], name="ticket_clock_set_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_service_id}: {self.terms}"


class TicketClock(models.Model):
    """One ticket's clock under one set of terms (its ``clock_set``), as instants in epoch
    seconds: when it was answered or resolved (``done``) and the last instant its clock
    was still within the threshold (``deadline``; null: never past it). Settlement counts
    a period's tickets by comparing the two with the period's bounds
    (``engine.clock_deadline``), from an index, without reading a single event."""

    clock_set = models.ForeignKey(
        TicketClockSet, on_delete=models.CASCADE, related_name="clocks", db_index=False
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks")
    reference = models.CharField(max_length=100)
    priority = models.CharField(max_length=20)
    opened = models.BigIntegerField()
    done = models.BigIntegerField(null=True)
    deadline = models.BigIntegerField(null=True)
    # The final clock once answered or resolved; null while open.
    business_seconds = models.BigIntegerField(null=True)
    stopped_seconds = models.BigIntegerField(null=True)
    # engine.ticket_fingerprint: what the statement's digest of its tickets adds up.
    fingerprint = models.BigIntegerField()
    # The stops while open, [[start, end or null], ...]: an open ticket's clock is read
    # from them at a period's end.
    stops = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clock_set", "ticket"], name="ticket_clock_unique"),
        ]
        indexes = [
            # The tickets answered or resolved in a period, and those whose clock passed
            # the threshold in it: two index-only range scans per objective.
            models.Index(
                fields=["clock_set", "done"],
                include=["priority", "deadline", "fingerprint"],
                name="ticket_clock_done",
            ),
            models.Index(
                fields=["clock_set", "deadline"],
                include=["priority", "done", "fingerprint"],
                name="ticket_clock_deadline",
            ),
            # The longest clocks first, for the worst tickets an explanation names.
            models.Index(
                fields=["clock_set", "-business_seconds"],
                include=["done", "deadline", "priority", "reference", "id"],
                condition=Q(done__isnull=False),
                name="ticket_clock_longest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.clock_set_id})"
