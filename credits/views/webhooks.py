"""An organisation's webhook, for its admins: where it goes, its shape, a test message,
and the log of what was delivered."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from contracts import services as contract_services
from contracts.models import Organization
from contracts.views.common import apply_form_errors
from credits import notify
from credits.selectors.webhooks import webhook_deliveries
from people.selectors import administered


class WebhookForm(forms.ModelForm):
    webhook_secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        label="Secret",
        help_text="Signs every message (X-SLA-Signature). Leave empty to keep the current one.",
    )

    class Meta:
        model = Organization
        fields = ["webhook_url", "webhook_format", "webhook_secret"]
        labels = {"webhook_url": "URL", "webhook_format": "Format"}
        help_texts = {
            "webhook_url": "An https address that receives every event of the organisation. "
            "Empty: no webhook.",
        }

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data["webhook_secret"] or self.instance.webhook_secret


def _organization(request: HttpRequest, slug: str) -> Organization:
    # Only the organisation's admins: anyone else finds no such page.
    return get_object_or_404(administered(request.user), slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_settings(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _organization(request, slug)
    form = WebhookForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        try:
            contract_services.save_organization(organization=form.save(commit=False))
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhook-settings", slug=organization.slug)
    return render(
        request,
        "credits/webhook_settings.html",
        {
            "organization": organization,
            "form": form,
            "deliveries": webhook_deliveries(organization),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def webhook_test(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _organization(request, slug)
    try:
        notify.send_test_webhook(organization=organization)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Test message queued: its delivery appears in the log below.")
    return redirect("webhook-settings", slug=organization.slug)
