"""Browser forms of the integrations."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contracts.forms.common import DateTimeInput, ModelErrorsMixin
from contracts.models import ContractService, Organization
from integrations import secrets
from integrations.models import (
    LABEL_NAME,
    AlertMapping,
    PrometheusPull,
    PrometheusSource,
    Receiver,
)
from integrations.services.openslo import MAX_DOCUMENT_BYTES


class OpenSLOImportForm(forms.Form):
    contract = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("Contract"),
        empty_label=_("No contract: service-level objectives for every contract"),
        help_text=_("With a contract, each SLO becomes an objective of that contract's service."),
    )
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        required=False,
        label=_("OpenSLO YAML"),
    )
    upload = forms.FileField(required=False, label=_("…or a YAML file"))

    def __init__(self, *args: Any, contracts: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts.order_by("reference")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("upload")
        text = data.get("document") or ""
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                self.add_error("upload", _("The file is larger than 1 MB."))
                return data
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", _("The file is not UTF-8 text."))
                return data
        if not text.strip():
            self.add_error("document", _("Paste an OpenSLO document or choose a file."))
        elif "\x00" in text:
            self.add_error("document", _("The document cannot contain NUL characters."))
        data["text"] = text
        return data


def _contract_service_label(cs: ContractService) -> str:
    return f"{cs.contract.reference} · {cs.service.name} ({cs.service.code})"


def contract_services_of(organization: Organization) -> QuerySet[ContractService]:
    """The contract services of the provider's contracts, as the forms offer them."""
    return (
        ContractService.objects.filter(contract__provider=organization)
        .select_related("contract", "service")
        .order_by("contract__reference", "service__code")
    )


class ContractServiceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ContractService) -> str:
        return _contract_service_label(obj)


def _name_lines(text: str) -> list[tuple[int, str, str]]:
    """``name = value`` lines (blank lines and ``#`` comments skipped), with their number."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        if not separator or not name.strip() or not value.strip():
            raise ValidationError(gettext("Line %(line)s: write name = value.") % {"line": number})
        lines.append((number, name.strip(), value.strip().strip('"')))
    return lines


class ReceiverForm(ModelErrorsMixin, forms.ModelForm):
    """A receiver's name and, for a ticket receiver, its format and how that format's
    projects, priorities and statuses map to the portal's."""

    contract_services = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        label=_("Projects or groups → contract services"),
        help_text=_(
            "One per line: the Jira project key or Zammad group = the contract "
            "reference / service code, e.g. SUP = ACME-1 / internet-1g."
        ),
    )
    priorities = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        label=_("Priorities"),
        help_text=_("Only those the defaults miss, one per line: Blocker = P1."),
    )
    statuses = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        label=_("Statuses"),
        help_text=_(
            "Only those the defaults miss, one per line: Awaiting reply = "
            "waiting_on_customer (open, in_progress, waiting_on_customer, resolved, reopened)."
        ),
    )

    validated_instance_fields = ("organization", "kind")

    class Meta:
        model = Receiver
        fields = ["name", "ticket_format", "enabled"]
        # Labels of their own: the model's fields are named in English only.
        labels = {
            "name": _("Name"),
            "ticket_format": _("What the ticket system sends"),
            "enabled": _("Enabled"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        receiver: Receiver = self.instance
        if receiver.kind == Receiver.Kind.ALERTMANAGER:
            for name in ("ticket_format", "contract_services", "priorities", "statuses"):
                del self.fields[name]
            return
        self._contract_services = {cs.pk: cs for cs in contract_services_of(receiver.organization)}
        settings = receiver.ticket_settings or {}
        if not self.is_bound:
            self.initial["contract_services"] = "\n".join(
                f"{name} = {self._shown(cs_id)}"
                for name, cs_id in settings.get("contract_services", {}).items()
            )
            for part in ("priorities", "statuses"):
                self.initial[part] = "\n".join(
                    f"{name} = {value}" for name, value in settings.get(part, {}).items()
                )

    def _shown(self, cs_id: int) -> str:
        cs = self._contract_services.get(cs_id)
        return f"{cs.contract.reference} / {cs.service.code}" if cs else str(cs_id)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        same = Receiver.objects.filter(organization=self.instance.organization, name=name)
        if same.exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("The organisation already has a receiver of this name."))
        return name

    def clean_contract_services(self) -> dict[str, int]:
        by_label = {
            f"{cs.contract.reference} / {cs.service.code}".lower(): cs.pk
            for cs in self._contract_services.values()
        }
        table = {}
        for number, name, value in _name_lines(self.cleaned_data["contract_services"]):
            label = " / ".join(part.strip() for part in value.split("/")).lower()
            cs_id = by_label.get(label)
            if cs_id is None:
                raise ValidationError(
                    gettext(
                        "Line %(line)s: %(value)s is none of this provider's contract services "
                        "(write the contract reference / service code)."
                    )
                    % {"line": number, "value": repr(value)}
                )
            table[name] = cs_id
        return table

    def clean_priorities(self) -> dict[str, str]:
        return {name: value for _, name, value in _name_lines(self.cleaned_data["priorities"])}

    def clean_statuses(self) -> dict[str, str]:
        return {name: value for _, name, value in _name_lines(self.cleaned_data["statuses"])}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.kind == Receiver.Kind.TICKETS:
            self.instance.ticket_settings = {
                part: data[part]
                for part in ("contract_services", "priorities", "statuses")
                if data.get(part)
            }
        return data

    def route_error(self, field: str, error: ValidationError) -> str | None:
        if field == "ticket_settings":
            message = " ".join(error.messages)
            for part in ("contract_services", "priorities", "statuses"):
                if message.startswith(part) or f"{part}[" in message:
                    return part
            return "contract_services"
        return super().route_error(field, error)


class AlertMappingForm(ModelErrorsMixin, forms.ModelForm):
    """Which alerts (by labels) count against which contract service's uptime objective."""

    labels = forms.CharField(
        label=_("Alert labels"),
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
        help_text=_(
            'Every label the alert must carry, e.g. service="internet-1g", customer="globex".'
        ),
    )
    contract_service = ContractServiceChoice(queryset=None, label=_("Contract service"))

    validated_instance_fields = ("receiver",)

    class Meta:
        model = AlertMapping
        fields = ["contract_service", "key"]
        labels = {"key": _("Uptime objective key")}
        help_texts = {
            "key": _("The uptime objective of the contract service that alerts count against.")
        }

    field_order = ["labels", "contract_service", "key"]

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract_service"].queryset = contract_services_of(organization)
        if self.instance.pk and not self.is_bound:
            self.initial["labels"] = ", ".join(
                f'{name}="{value}"' for name, value in self.instance.matchers.items()
            )

    def clean_labels(self) -> dict[str, str]:
        matchers: dict[str, str] = {}
        for part in re.split(r"[,\n]", self.cleaned_data["labels"]):
            part = part.strip()
            if not part:
                continue
            name, separator, value = part.partition("=")
            name, value = name.strip(), value.strip()
            quoted = value[:1] in ("'", '"')
            if quoted and len(value) > 1 and value[-1] == value[0]:
                value = value[1:-1]
            elif quoted:
                value = ""  # an opening quote without its closing one
            if not separator or not LABEL_NAME.match(name) or not value:
                raise ValidationError(
                    gettext('%(part)s: write name="value" (a label name of letters, digits and _).')
                    % {"part": repr(part)}
                )
            if name in matchers:
                raise ValidationError(
                    gettext("The label %(name)s is given twice.") % {"name": name}
                )
            matchers[name] = value
        if not matchers:
            raise ValidationError(gettext('At least one label, e.g. service="internet-1g".'))
        self.instance.matchers = matchers
        return matchers

    def route_error(self, field: str, error: ValidationError) -> str | None:
        if field == "matchers":
            return "labels"
        return super().route_error(field, error)

    def _post_clean(self) -> None:
        # Unreadable labels leave the mapping without matchers: the model would only add
        # that it needs some, beside the reason already shown.
        if "labels" not in self._errors:
            super()._post_clean()


class PrometheusSourceForm(ModelErrorsMixin, forms.ModelForm):
    """A Prometheus server; its secret is typed here, stored encrypted, and never shown."""

    secret = forms.CharField(
        required=False,
        strip=False,
        max_length=4000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label=_("Token or password"),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the stored one."),
    )
    forget_secret = forms.BooleanField(required=False, label=_("Remove the stored secret"))
    base_url = forms.URLField(
        max_length=200,
        assume_scheme="https",
        label=_("Base URL"),
        help_text=_("e.g. https://prometheus.example.com"),
        widget=forms.URLInput(attrs={"spellcheck": "false"}),
    )

    validated_instance_fields = ("organization",)

    class Meta:
        model = PrometheusSource
        fields = ["name", "base_url", "auth", "username", "secret_env", "timeout_seconds"]
        labels = {
            "name": _("Name"),
            "username": _("Username"),
            "auth": _("Authentication"),
            "secret_env": _("…or the environment variable holding it"),
            "timeout_seconds": _("Timeout (seconds)"),
        }

    field_order = [
        "name",
        "base_url",
        "auth",
        "username",
        "secret",
        "forget_secret",
        "secret_env",
        "timeout_seconds",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.secret_encrypted:
            del self.fields["forget_secret"]
            self.fields["secret"].help_text = _("Stored encrypted and never shown again.")
        else:
            self.fields["secret"].help_text = (
                "A secret is stored (never shown). Type a new one to replace it, or leave "
                "this empty to keep it."
            )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        same = PrometheusSource.objects.filter(organization=self.instance.organization, name=name)
        if same.exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("The organisation already has a source of this name."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        secret = data.get("secret") or ""
        if "\x00" in secret:
            self.add_error("secret", _("Cannot contain NUL characters."))
        elif secret:
            self.instance.secret_encrypted = secrets.encrypt(secret)
        elif data.get("forget_secret") or data.get("auth") == PrometheusSource.Auth.NONE:
            # No authentication means no credentials: a stored secret would only linger.
            self.instance.secret_encrypted = ""
        elif data.get("secret_env"):
            # The variable replaces a stored secret: one place holds the credential.
            self.instance.secret_encrypted = ""
        return data

    def route_error(self, field: str, error: ValidationError) -> str | None:
        return field if field in self.fields else "secret" if field.startswith("secret") else None


class PrometheusPullForm(ModelErrorsMixin, forms.ModelForm):
    """A PromQL query pulled into one objective of a contract service."""

    contract_service = ContractServiceChoice(queryset=None, label=_("Contract service"))

    class Meta:
        model = PrometheusPull
        fields = [
            "source",
            "contract_service",
            "key",
            "query",
            "step_seconds",
            "start_at",
            "enabled",
        ]
        labels = {
            "source": _("Source"),
            "enabled": _("Enabled"),
            "key": _("Objective key"),
            "query": _("PromQL query"),
            "step_seconds": _("Step (seconds)"),
            "start_at": _("First evaluation time (UTC)"),
        }
        help_texts = {
            "key": _("The ratio, threshold or count objective the samples feed."),
            "step_seconds": _("One sample per step (10 to 86,400 seconds)."),
        }
        widgets = {
            "query": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
            "start_at": DateTimeInput(),
        }

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = PrometheusSource.objects.filter(
            organization=organization
        ).order_by("name")
        self.fields["source"].empty_label = None
        self.fields["contract_service"].queryset = contract_services_of(organization)
        if self.instance.pk:
            # The pull's progress belongs to its source: another server is another pull.
            self.fields["source"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        cs, key = data.get("contract_service"), data.get("key")
        if cs is not None and key:
            same = PrometheusPull.objects.filter(contract_service=cs, key=key)
            if same.exclude(pk=self.instance.pk).exists():
                self.add_error(
                    "key", _("This objective of the contract service is already pulled.")
                )
        return data
