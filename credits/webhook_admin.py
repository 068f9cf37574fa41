"""Organisations' webhooks in the admin: set through the same service as their page and
the API, with a test message action and each one's delivery log. (Imported by
``credits.admin``.)"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from credits import notify
from credits.selectors.webhooks import webhook_log
from people import services as people_services
from people.models import Webhook
from people.topics import TOPICS


class WebhookAdminForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs every message (X-SLA-Signature). Leave empty to keep the current one.",
    )
    topics = forms.MultipleChoiceField(
        choices=list(TOPICS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The topics whose events it receives; none ticked: every event.",
    )

    class Meta:
        model = Webhook
        fields = ["organization", "name", "url", "format", "secret", "topics"]

    def clean_secret(self) -> str:
        # Left empty, the secret stays; a new webhook has none to keep (the form would not
        # let the model judge an empty optional field).
        secret = self.cleaned_data["secret"] or self.instance.secret
        if not secret:
            raise forms.ValidationError(
                Webhook._meta.get_field("secret").error_messages["blank"], code="blank"
            )
        return secret


@admin.register(Webhook)
class WebhookAdmin(SimpleHistoryAdmin):
    form = WebhookAdminForm
    list_display = ["__str__", "organization", "format", "url", "created_at"]
    list_filter = ["format"]
    search_fields = ["name", "url", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["delivery_log"]
    actions = ["send_test"]

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        people_services.save_webhook(webhook=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        people_services.delete_webhook(webhook=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            people_services.delete_webhook(webhook=webhook, user=request.user)

    @admin.display(description="Delivery log (latest 50)")
    def delivery_log(self, obj: Webhook) -> str:
        if obj.pk is None:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.created_at,
                    d.get_event_display(),
                    d.get_status_display(),
                    d.attempts,
                    d.last_error or "—",
                )
                for d in webhook_log(obj)
            ),
        )
        return format_html(
            "<table><thead><tr><th>Queued</th><th>Event</th><th>Status</th><th>Attempts</th>"
            "<th>Last error</th></tr></thead><tbody>{}</tbody></table>",
            rows or format_html("<tr><td colspan=5>Nothing delivered yet.</td></tr>"),
        )

    @admin.action(description="Send a test message to the selected webhooks")
    def send_test(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        count = 0
        for webhook in queryset.select_related("organization"):
            notify.send_test_webhook(webhook=webhook)
            count += 1
        self.message_user(
            request, f"{count} test message(s) queued: see each webhook's log.", messages.SUCCESS
        )
