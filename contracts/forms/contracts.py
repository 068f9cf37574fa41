"""A provider's catalogue, a contract's header and its services with their fees, and the
period to settle by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from contracts.forms.common import DateInput, LocalizedDecimalField, ModelErrorsMixin
from contracts.forms.terms import TermsEditFields
from contracts.models import Contract, ContractService, Organization, Service
from contracts.querysets import customers_served_by


class ServiceForm(ModelErrorsMixin, forms.ModelForm):
    """A service of the provider's catalogue."""

    class Meta:
        model = Service
        fields = ["code", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"code": _("Code"), "name": _("Name"), "description": _("Description")}
        help_texts = {"code": _("A short slug, unique among your services, e.g. internet-1g.")}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        others = Service.objects.filter(provider_id=self.instance.provider_id, code=code)
        if others.exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("You already offer a service with this code."))
        return code


class ContractForm(ModelErrorsMixin, forms.ModelForm):
    """A contract's header: the parties, the dates, the period and the at-risk amount."""

    validated_instance_fields = ("provider",)

    class Meta:
        model = Contract
        fields = [
            "provider",
            "customer",
            "reference",
            "title",
            "currency",
            "status",
            "start_date",
            "end_date",
            "settlement_period",
            "timezone",
            "credit_cap_percent",
            "minimum_credit",
            "settlement_delay_days",
            "claim_window_days",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "currency": forms.TextInput(attrs={"maxlength": 3, "autocapitalize": "characters"}),
        }
        field_classes = {
            "credit_cap_percent": LocalizedDecimalField,
            "minimum_credit": LocalizedDecimalField,
        }
        labels = {
            "provider": _("Provider"),
            "customer": _("Customer"),
            "reference": _("Reference"),
            "title": _("Title"),
            "currency": _("Currency"),
            "status": _("Status"),
            "start_date": _("Start date"),
            "end_date": _("End date"),
            "settlement_period": _("Settlement period"),
            "timezone": _("Timezone"),
            "credit_cap_percent": _("Credit cap (at-risk amount), % of the period's fees"),
            "settlement_delay_days": _("Settlement delay (days)"),
            "minimum_credit": _("Minimum credit per statement"),
            "claim_window_days": _("Claim window (days)"),
        }
        help_texts = {
            "settlement_delay_days": _("How long after a period closes late data is awaited."),
            "claim_window_days": _(
                "How long after a period closes the customer may claim an "
                "outage you did not record; 0: no claims."
            ),
            "timezone": _("IANA name, e.g. Europe/Amsterdam: periods follow its calendar."),
        }

    def __init__(
        self,
        *args: Any,
        providers: QuerySet[Organization],
        all_customers: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Empty means no minimum, as 0 does.
        self.fields["minimum_credit"].required = False
        # Empty keeps the window as it is (none, for a new contract).
        self.fields["claim_window_days"].required = False
        # Only customers these providers already serve, as in the API: other providers'
        # customers are not theirs to see. New customers come by invitation.
        self.fields["customer"].queryset = (
            customers_served_by(providers)
            if not all_customers
            else Organization.objects.filter(kind=Organization.Kind.CUSTOMER)
        ).order_by("name")
        if self.instance.pk:
            # The parties of an existing contract are fixed: its statements name them.
            del self.fields["provider"]
            self.fields["customer"].disabled = True
            self.fields["customer"].help_text = _("The parties of a contract cannot change.")
        else:
            self.fields["provider"].queryset = providers
            if providers.count() == 1:
                self.fields["provider"].initial = providers.first()
                self.fields["provider"].widget = forms.HiddenInput()

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean_minimum_credit(self) -> Decimal:
        value = self.cleaned_data.get("minimum_credit")
        return Decimal(0) if value is None else value

    def clean_claim_window_days(self) -> int:
        value = self.cleaned_data.get("claim_window_days")
        return self.instance.claim_window_days if value is None else value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        provider = cleaned.get("provider") or (
            self.instance.provider if self.instance.provider_id else None
        )
        reference = cleaned.get("reference")
        if provider and reference:
            clash = Contract.objects.filter(provider=provider, reference=reference)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error("reference", _("You already have a contract with this reference."))
        return cleaned


class ContractServiceForm(TermsEditFields, ModelErrorsMixin, forms.ModelForm):
    """A service within a contract, with its fee per settlement period."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = ContractService
        fields = ["service", "fee"]
        field_classes = {"fee": LocalizedDecimalField}
        labels = {"service": _("Service")}

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        self.fields["service"].queryset = Service.objects.filter(provider_id=contract.provider_id)
        self.fields["fee"].label = {
            "week": _("Fee per week (%(currency)s)"),
            "month": _("Fee per month (%(currency)s)"),
            "quarter": _("Fee per quarter (%(currency)s)"),
        }.get(contract.settlement_period, _("Fee (%(currency)s)")) % {"currency": contract.currency}
        if self.instance.pk:
            self.fields["service"].disabled = True
        self.drop_terms_fields_when_adding()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        service = cleaned.get("service")
        included = ContractService.objects.filter(contract=self.instance.contract, service=service)
        if service and not self.instance.pk and included.exists():
            self.add_error("service", _("The contract already includes this service."))
        return cleaned


class SettleForm(forms.Form):
    """Settle one closed period now (the sweep would wait for the settlement delay)."""

    period_start = forms.DateField(label=_("Period starting"), widget=DateInput())

    def __init__(
        self, *args: Any, periods: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if periods:
            self.fields["period_start"] = forms.TypedChoiceField(
                label=_("Period"),
                choices=periods,
                coerce=lambda text: forms.DateField().clean(text),
            )
