"""Admin of the integrations: operators look at what arrived and fix a setting; tokens
and secrets are never shown (only a token's last characters, and whether a secret is set)."""

from __future__ import annotations

from django.contrib import admin

from integrations.models import (
    AlertIncident,
    AlertMapping,
    IntegrationEvent,
    PrometheusPull,
    PrometheusSource,
    Receiver,
)


class AlertMappingInline(admin.TabularInline):
    model = AlertMapping
    extra = 0
    raw_id_fields = ["contract_service"]


@admin.register(Receiver)
class ReceiverAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "ticket_format", "token_hint", "enabled"]
    list_filter = ["kind", "ticket_format", "enabled"]
    search_fields = ["name", "organization__name"]
    readonly_fields = ["public_id", "token_hint", "created_at"]
    raw_id_fields = ["acting_user"]
    inlines = [AlertMappingInline]

    def has_add_permission(self, request) -> bool:
        # A receiver's token is made and shown once by the API (or rotate-token).
        return False


@admin.register(AlertIncident)
class AlertIncidentAdmin(admin.ModelAdmin):
    list_display = ["alertname", "fingerprint", "starts_at", "ends_at", "incident", "mapping"]
    search_fields = ["alertname", "fingerprint"]
    raw_id_fields = ["mapping", "incident"]


@admin.register(PrometheusSource)
class PrometheusSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "base_url", "auth", "has_secret"]
    search_fields = ["name", "organization__name", "base_url"]
    fields = [
        "organization",
        "name",
        "base_url",
        "auth",
        "username",
        "secret_env",
        "timeout_seconds",
    ]

    @admin.display(boolean=True)
    def has_secret(self, source: PrometheusSource) -> bool:
        return source.has_secret


@admin.register(PrometheusPull)
class PrometheusPullAdmin(admin.ModelAdmin):
    list_display = ["key", "contract_service", "source", "pulled_until", "failures", "last_error"]
    list_filter = ["enabled"]
    raw_id_fields = ["contract_service"]
    readonly_fields = [
        "pulled_until",
        "next_attempt_at",
        "failures",
        "last_attempt_at",
        "last_success_at",
        "last_error",
        "samples_recorded",
        "samples_refused",
        "last_refusal",
    ]


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organization", "channel", "outcome", "summary", "test"]
    list_filter = ["channel", "outcome", "test"]
    search_fields = ["summary"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
