"""An organisation's webhooks, for its admins: several per organisation, each with its
URL, shape, secret and topics, a test message, and its own delivery log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contracts.models import Organization
from contracts.views.common import saved_by
from credits import notify
from credits.selectors.webhooks import webhook_log, webhooks_of
from people import services as people_services
from people.models import Webhook
from people.selectors import administered
from people.topics import TOPICS


class WebhookForm(forms.ModelForm):
    # Webhooks are HTTPS endpoints: a URL typed without a scheme means https.
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label=gettext_lazy("URL"),
        help_text=gettext_lazy("An https address that receives the chosen events."),
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        label=gettext_lazy("Secret"),
        help_text=gettext_lazy(
            "Signs every message (X-SLA-Signature). Leave empty to keep the current one."
        ),
    )
    topics = forms.MultipleChoiceField(
        choices=list(TOPICS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Events"),
        help_text=gettext_lazy("The topics whose events it receives; none ticked: every event."),
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "format", "secret", "topics"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["secret"].help_text = "Signs every message (X-SLA-Signature)."

    def clean_secret(self) -> str:
        # Left empty, the secret stays; a new webhook has none to keep (the form would not
        # let the model judge an empty optional field).
        secret = self.cleaned_data["secret"] or self.instance.secret
        if not secret:
            raise forms.ValidationError(
                Webhook._meta.get_field("secret").error_messages["blank"], code="blank"
            )
        return secret


def _organization(request: HttpRequest, slug: str) -> Organization:
    # Only the organisation's admins: anyone else finds no such page.
    return get_object_or_404(administered(request.user), slug=slug)


def _webhook(request: HttpRequest, slug: str, pk: int) -> Webhook:
    organization = _organization(request, slug)
    return get_object_or_404(
        Webhook.objects.select_related("organization"), pk=pk, organization=organization
    )


def _save(request: HttpRequest, form: WebhookForm) -> Webhook | None:
    return saved_by(
        request,
        form,
        lambda unsaved: people_services.save_webhook(webhook=unsaved, user=request.user),
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's webhooks, and the form to add one."""
    organization = _organization(request, slug)
    form = WebhookForm(request.POST or None, instance=Webhook(organization=organization))
    if request.method == "POST":
        webhook = _save(request, form)
        if webhook is not None:
            messages.success(
                request,
                gettext("Webhook %(webhook)s added: send it a test message.")
                % {"webhook": webhook},
            )
            return redirect("webhook-detail", slug=organization.slug, pk=webhook.pk)
    return render(
        request,
        "credits/webhook_list.html",
        {"organization": organization, "form": form, "webhooks": webhooks_of(organization)},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One webhook: change it, send a test message, read its delivery log."""
    webhook = _webhook(request, slug, pk)
    form = WebhookForm(request.POST or None, instance=webhook)
    if request.method == "POST" and _save(request, form) is not None:
        messages.success(request, gettext("Webhook saved."))
        return redirect("webhook-detail", slug=slug, pk=webhook.pk)
    return render(
        request,
        "credits/webhook_detail.html",
        {
            "organization": webhook.organization,
            "webhook": webhook,
            "form": form,
            "deliveries": webhook_log(webhook),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def webhook_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    webhook = _webhook(request, slug, pk)
    notify.send_test_webhook(webhook=webhook)
    messages.success(
        request, gettext("Test message queued: its delivery appears in the log below.")
    )
    return redirect("webhook-detail", slug=slug, pk=webhook.pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    webhook = _webhook(request, slug, pk)
    people_services.delete_webhook(webhook=webhook, user=request.user)
    messages.success(
        request,
        gettext("Webhook %(webhook)s removed: nothing more is sent to it.") % {"webhook": webhook},
    )
    return redirect("webhook-list", slug=slug)


@login_required
@require_GET
def webhook_settings(request: HttpRequest, slug: str) -> HttpResponse:
    # The page of the single webhook an organisation once had: its list now.
    return redirect("webhook-list", slug=_organization(request, slug).slug)
