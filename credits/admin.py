"""The operators' view of the credits app.

Statements and their lines are issued by settlement and immutable (the database refuses
changes): the admin shows them read-only. Disputes, notifications, deliveries and early
warnings are recorded by their services; the admin shows them for support, read-only, so
that no change skips the notifications those services send.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from credits.models import (
    Claim,
    Delivery,
    Dispute,
    EarlyWarning,
    Notification,
    Statement,
    StatementLine,
)


class ReadOnlyAdminMixin:
    """View only: no add, change or delete, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatementLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = [
        "contract_service",
        "key",
        "name",
        "source_level",
        "target",
        "attainment",
        "met",
        "fee",
        "credit_percent",
        "amount",
        "explanation",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("contract_service__service")


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "contract",
        "period_start",
        "period_end",
        "revision",
        "credit_total",
        "currency",
        "issued_at",
    ]
    list_filter = ["currency", "contract__provider", "contract__customer", "revision"]
    search_fields = ["contract__reference", "contract__title", "fingerprint"]
    list_select_related = ["contract"]
    date_hierarchy = "period_start"
    inlines = [StatementLineInline]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["line", "status", "opened_by", "opened_at", "resolved_by", "resolved_at"]
    list_filter = ["status", "line__statement__contract__provider"]
    search_fields = ["reason", "resolution", "line__statement__contract__reference"]
    list_select_related = ["line", "opened_by", "resolved_by"]
    date_hierarchy = "opened_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "event", "user", "organization", "created_at", "read_at"]
    list_filter = ["event", "organization"]
    search_fields = ["title", "body", "user__username", "organization__name", "event_id"]
    list_select_related = ["user", "organization"]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "event",
        "channel",
        "recipient",
        "organization",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "event"]
    search_fields = ["recipient", "organization__name", "event_id", "last_error"]
    list_select_related = ["organization", "webhook"]
    date_hierarchy = "created_at"


@admin.register(EarlyWarning)
class EarlyWarningAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "contract_service",
        "key",
        "period_start",
        "state",
        "projected_amount",
        "created_at",
    ]
    list_filter = ["state", "key", "contract_service__contract__provider"]
    search_fields = ["key", "message", "contract_service__contract__reference"]
    list_select_related = ["contract_service__contract", "contract_service__service"]
    date_hierarchy = "period_start"


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Claims are filed and decided through their service (the window, the incident, the
    revision, both parties told); here operators follow them, and accept open ones."""

    list_display = [
        "pk",
        "contract_service",
        "started_at",
        "ended_at",
        "period_start",
        "status",
        "filed_by",
        "filed_at",
        "resolved_by",
        "resolved_at",
    ]
    list_filter = ["status", "contract_service__contract__provider", "period_start"]
    search_fields = [
        "description",
        "resolution",
        "contract_service__contract__reference",
        "contract_service__service__name",
    ]
    list_select_related = ["contract_service__contract", "contract_service__service", "filed_by"]
    date_hierarchy = "filed_at"
    actions = ["accept_claims"]

    @admin.action(description="Accept the selected open claims (record their incidents)")
    def accept_claims(self, request: HttpRequest, queryset: Any) -> None:
        from django.contrib import messages as admin_messages
        from django.core.exceptions import PermissionDenied, ValidationError

        from credits import services

        accepted = 0
        for claim in queryset.filter(status=Claim.Status.OPEN):
            try:
                services.resolve_claim(claim=claim, user=request.user, status="accepted")
            except ValidationError as exc:
                refusal = " ".join(exc.messages)
                self.message_user(request, f"Claim #{claim.pk}: {refusal}", admin_messages.ERROR)
            except PermissionDenied as exc:
                self.message_user(request, f"Claim #{claim.pk}: {exc}", admin_messages.ERROR)
            else:
                accepted += 1
        self.message_user(request, f"{accepted} claim(s) accepted.")


# Organisations' webhooks (kept apart: their form, actions and log).
from credits import webhook_admin  # noqa: E402, F401
