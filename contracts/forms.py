"""Browser forms of the provider pages.

Every form is a ``ModelForm``, so the model's ``full_clean()`` (field validators,
``clean()`` and constraints) speaks for the browser exactly as it does for the API and
the admin. Model errors keyed on fields the form does not show (the contract, the
provider, the credit rule as a whole) are routed to the input that caused them: a credit
rule error carries the rule parameter's name in its code, so it lands beside that input.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet

import engine
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.selectors import objectives_applying_to

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def _decimal_input(**attrs: Any) -> forms.TextInput:
    # Text, not number: the engine reads the exact text, and a browser's number input
    # would silently drop "99,5" instead of letting the server explain what is wrong.
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class ModelErrorsMixin:
    """Routes model errors on fields the form does not show to a visible place.

    ``ModelForm`` refuses errors for fields it does not have; a model's ``clean()`` and
    constraints may raise them (the provider, the contract, the level). They become
    errors of the form as a whole, unless ``route_error`` knows a better input.
    """

    # Fields set by the view on the instance whose constraints must still be checked.
    validated_instance_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def route_error(self, field: str, error: ValidationError) -> str | None:
        return field if field in self.fields else None  # type: ignore[attr-defined]

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()  # type: ignore[misc]
        return exclude - set(self.validated_instance_fields)

    def _update_errors(self, errors: ValidationError) -> None:
        if not hasattr(errors, "error_dict"):
            super()._update_errors(errors)  # type: ignore[misc]
            return
        routed: dict[str, list[ValidationError]] = {}
        for field, messages in errors.error_dict.items():
            for message in messages:
                target = self.route_error(field, message) if field != NON_FIELD_ERRORS else None
                routed.setdefault(target or NON_FIELD_ERRORS, []).append(message)
        super()._update_errors(ValidationError(routed))  # type: ignore[misc]


class ServiceForm(ModelErrorsMixin, forms.ModelForm):
    """A service of the provider's catalogue."""

    class Meta:
        model = Service
        fields = ["code", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"code": "A short slug, unique among your services, e.g. internet-1g."}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        others = Service.objects.filter(provider_id=self.instance.provider_id, code=code)
        if others.exclude(pk=self.instance.pk).exists():
            raise ValidationError("You already offer a service with this code.")
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
            "settlement_delay_days",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "currency": forms.TextInput(attrs={"maxlength": 3, "autocapitalize": "characters"}),
            "credit_cap_percent": _decimal_input(),
        }
        labels = {
            "credit_cap_percent": "Credit cap (at-risk amount), % of the period's fees",
            "settlement_delay_days": "Settlement delay (days)",
        }
        help_texts = {
            "settlement_delay_days": "How long after a period closes late data is awaited.",
            "timezone": "IANA name, e.g. Europe/Amsterdam: periods follow its calendar.",
        }

    def __init__(
        self,
        *args: Any,
        providers: QuerySet[Organization],
        all_customers: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only customers these providers already contract with, as in the API: other
        # providers' customers are not theirs to see. Operators onboard new customers.
        self.fields["customer"].queryset = (
            Organization.objects.filter(
                kind=Organization.Kind.CUSTOMER,
                id__in=Contract.objects.filter(provider__in=providers).values("customer_id"),
            )
            if not all_customers
            else Organization.objects.filter(kind=Organization.Kind.CUSTOMER)
        ).order_by("name")
        if self.instance.pk:
            # The parties of an existing contract are fixed: its statements name them.
            del self.fields["provider"]
            self.fields["customer"].disabled = True
            self.fields["customer"].help_text = "The parties of a contract cannot change."
        else:
            self.fields["provider"].queryset = providers
            if providers.count() == 1:
                self.fields["provider"].initial = providers.first()
                self.fields["provider"].widget = forms.HiddenInput()

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        provider = cleaned.get("provider") or (
            self.instance.provider if self.instance.provider_id else None
        )
        reference = cleaned.get("reference")
        if provider and reference:
            clash = Contract.objects.filter(provider=provider, reference=reference)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error("reference", "You already have a contract with this reference.")
        return cleaned


class ContractServiceForm(ModelErrorsMixin, forms.ModelForm):
    """A service within a contract, with its fee per settlement period."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = ContractService
        fields = ["service", "fee"]
        widgets = {"fee": _decimal_input()}

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        self.fields["service"].queryset = Service.objects.filter(provider_id=contract.provider_id)
        self.fields["fee"].label = (
            f"Fee per {contract.settlement_period} ({contract.currency})"
            if contract.settlement_period
            else "Fee"
        )
        if self.instance.pk:
            self.fields["service"].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        service = cleaned.get("service")
        included = ContractService.objects.filter(contract=self.instance.contract, service=service)
        if service and not self.instance.pk and included.exists():
            self.add_error("service", "The contract already includes this service.")
        return cleaned


class TierForm(forms.Form):
    """One row of a tiered rule; a row with both inputs empty is ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    bound = forms.CharField(required=False, widget=_decimal_input(size=8))
    percent = forms.CharField(required=False, widget=_decimal_input(size=6))

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("bound") or "").strip() and not (data.get("percent") or "").strip()


TierFormSet = forms.formset_factory(TierForm, extra=0, can_delete=True, max_num=20)

RULE_KIND_CHOICES = [
    ("", "No service credit"),
    ("per_step", "Per step: a percent for every started step of shortfall"),
    ("tiered", "Tiered: a percent per bound crossed"),
    ("linear", "Linear: a percent per point of shortfall"),
    ("flat", "Flat: a percent or an amount, once"),
    ("pool", "Pool: a share of the contract's at-risk amount"),
]

# For each rule kind, which input carries which rule parameter.
RULE_INPUTS: dict[str, dict[str, str]] = {
    "per_step": {"step": "step", "percent": "step_percent", "max_percent": "step_max_percent"},
    "tiered": {"tiers": "tiers"},
    "linear": {"factor": "factor", "max_percent": "linear_max_percent"},
    "flat": {"percent": "flat_percent", "amount": "flat_amount"},
    "pool": {"allocation_percent": "allocation_percent"},
}
RULE_FIELDS = sorted({name for inputs in RULE_INPUTS.values() for name in inputs.values()})


def _rule_input(label: str) -> forms.CharField:
    """A credit rule parameter: optional here, as only the chosen kind's inputs count."""
    return forms.CharField(label=label, required=False, widget=_decimal_input())


class ServiceLevelForm(ModelErrorsMixin, forms.ModelForm):
    """An objective and its credit rule, with one set of inputs per rule kind.

    ``scope`` picks the level: on a contract page "customer" (every service of the
    contract) or "cs:<service id>"; on the provider page "corporate" or
    "service:<service id>". The tiers of a tiered rule are a formset whose rows can be
    added and removed (with JavaScript, or the "Add a tier" button without it).
    """

    validated_instance_fields = ("level", "provider", "contract", "service")

    scope = forms.ChoiceField(label="Applies to")
    rule_kind = forms.ChoiceField(
        label="Credit rule", choices=RULE_KIND_CHOICES, required=False, initial=""
    )
    step = _rule_input("Step (points of shortfall)")
    step_percent = _rule_input("Percent of the fee per started step")
    step_max_percent = _rule_input("At most (percent, optional)")
    tiers = forms.CharField(required=False, widget=forms.HiddenInput, label="Tiers")
    factor = _rule_input("Percent of the fee per point of shortfall")
    linear_max_percent = _rule_input("At most (percent, optional)")
    flat_percent = _rule_input("Percent of the fee")
    flat_amount = _rule_input("Or a fixed amount")
    allocation_percent = _rule_input("Percent of the at-risk amount")

    class Meta:
        model = ServiceLevel
        fields = [
            "key",
            "name",
            "indicator",
            "comparator",
            "target",
            "threshold",
            "threshold_comparator",
            "enabled",
        ]
        widgets = {
            "target": _decimal_input(),
            "threshold": _decimal_input(),
        }
        labels = {
            "comparator": "Attainment must be",
            "threshold_comparator": "Each sample must be",
            "enabled": "In force",
        }
        help_texts = {
            "target": "A percentage (0–100) for uptime, ratio and threshold; a number for count.",
            "threshold": "Threshold objectives only, e.g. 30 (minutes) or 100 (Mbit/s).",
        }

    def __init__(
        self,
        *args: Any,
        scopes: list[tuple[str, str]],
        scope_targets: dict[str, dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        initial = dict(kwargs.pop("initial", None) or {})
        instance = kwargs.get("instance")
        rule = instance.credit_rule if instance is not None else None
        rule = initial.pop("credit_rule", rule)
        initial.update(self.rule_initial(rule))
        if instance is not None and instance.pk:
            # 99.5, not the column's 99.5000.
            for name in ("target", "threshold"):
                value = getattr(instance, name)
                if value is not None and name not in initial:
                    initial[name] = f"{value.normalize():f}"
        super().__init__(*args, initial=initial, **kwargs)
        self.scope_targets = scope_targets
        self.fields["scope"].choices = scopes
        self.fields["threshold_comparator"].required = False
        self.fields["threshold_comparator"].choices = [
            ("", "—"),
            *ServiceLevel.Comparator.choices,
        ]
        if self.is_bound:
            # No initial rows here: a posted row equal to its initial would count as
            # "unchanged" and be skipped by the formset's validation.
            self.tier_formset = TierFormSet(self.data, prefix="tiers")
        else:
            # A new tiered rule starts with one empty row to fill in.
            self.tier_formset = TierFormSet(
                prefix="tiers", initial=initial.get("tier_rows") or [{}]
            )
        if self.adding_tier:
            self.tier_formset = self._with_extra_row()

    @staticmethod
    def rule_initial(rule: Any) -> dict[str, Any]:
        """The inputs that show a stored credit rule."""
        if not isinstance(rule, dict) or rule.get("kind") not in RULE_INPUTS:
            return {"rule_kind": ""}
        kind = rule["kind"]
        values: dict[str, Any] = {"rule_kind": kind}
        for param, name in RULE_INPUTS[kind].items():
            if param != "tiers" and rule.get(param) is not None:
                values[name] = str(rule[param])
        if kind == "tiered":
            values["tier_rows"] = [
                {"bound": str(t.get("bound", "")), "percent": str(t.get("percent", ""))}
                for t in rule.get("tiers") or []
                if isinstance(t, dict)
            ]
        return values

    def _with_extra_row(self) -> Any:
        data = self.data.copy()
        try:
            total = int(data.get("tiers-TOTAL_FORMS") or 0)
        except ValueError:
            total = 0
        total = max(0, min(total, TierFormSet.absolute_max - 1))
        data["tiers-TOTAL_FORMS"] = str(total + 1)
        return TierFormSet(data, prefix="tiers")

    @property
    def rule_sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The inputs of each rule kind, for the template."""
        return [
            (kind, [self[name] for name in inputs.values() if name != "tiers"])
            for kind, inputs in RULE_INPUTS.items()
        ]

    @property
    def adding_tier(self) -> bool:
        """Without JavaScript, "Add a tier" posts the form: redisplay it, save nothing."""
        return self.is_bound and "add_tier" in self.data

    def credit_rule_from_inputs(self) -> dict[str, Any] | None:
        kind = self.cleaned_data.get("rule_kind") or ""
        if not kind:
            return None
        rule: dict[str, Any] = {"kind": kind}
        if kind == "tiered":
            rows = []
            for form in self.tier_formset.forms:
                form.is_valid()
                if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                    continue
                if form.is_blank():
                    continue
                rows.append(
                    {
                        "bound": (form.cleaned_data.get("bound") or "").strip() or None,
                        "percent": (form.cleaned_data.get("percent") or "").strip() or None,
                    }
                )
            rule["tiers"] = rows
            return rule
        for param, name in RULE_INPUTS[kind].items():
            value = (self.cleaned_data.get(name) or "").strip()
            rule[param] = value or None
        if kind == "flat":
            # Only the parameter given goes to the rule: {"percent": "5"} or {"amount": …}.
            rule = {k: v for k, v in rule.items() if v is not None or k == "kind"}
        return rule

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        target = self.scope_targets.get(cleaned.get("scope") or "")
        if target:
            for attr, value in target.items():
                setattr(self.instance, attr, value)
        rule = self.credit_rule_from_inputs()
        if rule is not None:
            try:
                parsed = engine.parse_rule(rule)
            except engine.ParameterError:
                pass  # the model's clean() reports it, beside the parameter's input
            else:
                # Stored in the API's shape, decimals as strings.
                rule = parsed.to_json() if parsed is not None else None
        self.instance.credit_rule = rule
        self._check_unique_key(cleaned)
        if cleaned.get("indicator") != ServiceLevel.Indicator.THRESHOLD:
            # Leftovers of another indicator would be refused by the model's rule.
            for name in ("threshold", "threshold_comparator"):
                if not self.errors.get(name) and cleaned.get(name) in (None, ""):
                    cleaned[name] = None
        return cleaned

    def _check_unique_key(self, cleaned: dict[str, Any]) -> None:
        key = cleaned.get("key")
        sl = self.instance
        if not key or not sl.level:
            return
        same = ServiceLevel.objects.filter(level=sl.level, key=key).exclude(pk=sl.pk)
        where = {
            "corporate": {"provider_id": sl.provider_id},
            "service": {"service_id": sl.service_id},
            "customer": {"contract_id": sl.contract_id},
            "contract_service": {"contract_id": sl.contract_id, "service_id": sl.service_id},
        }[sl.level]
        if same.filter(**where).exists():
            self.add_error(
                "key",
                f"An objective with the key {key!r} already exists at this level; "
                "edit that one instead.",
            )

    def route_error(self, field: str, error: ValidationError) -> str | None:
        if field == "credit_rule":
            kind = self.cleaned_data.get("rule_kind") or ""
            code = error.code or ""
            if code == "kind":
                return "rule_kind"
            if code == "comparator":
                return "comparator"
            return RULE_INPUTS.get(kind, {}).get(code, "rule_kind")
        if field in ("contract", "service", "level", "provider"):
            return "scope"
        return super().route_error(field, error)

    def objective(self) -> engine.Objective | None:
        """The objective as the form describes it, for the sentence and the preview."""
        try:
            return self.instance.as_objective()
        except (engine.ParameterError, ValueError, TypeError):
            return None


def _objective_label(service_level: ServiceLevel) -> str:
    level = service_level.get_level_display().split(" (")[0].lower()
    in_force = "" if service_level.enabled else ", not in force"
    return f"{service_level.name} ({service_level.key}, {level}{in_force})"


class ResponsibilityForm(ModelErrorsMixin, forms.ModelForm):
    """An obligation of the customer and the objectives its lapses relieve."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = Responsibility
        fields = ["title", "description", "service_levels"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "service_levels": forms.CheckboxSelectMultiple,
        }
        labels = {"service_levels": "Objectives it affects"}
        help_texts = {
            "service_levels": "Incidents and samples of these objectives inside a lapse "
            "of this responsibility do not count against the provider."
        }

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        # The selector's rule, so that the browser and the API offer the same objectives.
        self.fields["service_levels"].queryset = objectives_applying_to(contract)
        self.fields["service_levels"].label_from_instance = _objective_label


class ResponsibilityLapseForm(ModelErrorsMixin, forms.ModelForm):
    """An interval in which the customer did not meet a responsibility."""

    class Meta:
        model = ResponsibilityLapse
        fields = ["start", "end", "note"]
        widgets = {
            "start": DateTimeInput(),
            "end": DateTimeInput(),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, responsibility: Responsibility, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.responsibility = responsibility


class MaintenanceWindowForm(ModelErrorsMixin, forms.ModelForm):
    """Scheduled maintenance: excluded from scheduled time."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = MaintenanceWindow
        fields = ["contract_service", "start", "end", "description"]
        widgets = {"start": DateTimeInput(), "end": DateTimeInput()}
        labels = {"contract_service": "Service"}

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        field = self.fields["contract_service"]
        field.queryset = ContractService.objects.filter(contract=contract).select_related("service")
        field.empty_label = "Every service of the contract"
        field.label_from_instance = lambda cs: cs.service.name


class IncidentForm(ModelErrorsMixin, forms.ModelForm):
    """An outage; only provider-caused incidents count against uptime."""

    class Meta:
        model = Incident
        fields = ["contract_service", "key", "started_at", "ended_at", "cause", "description"]
        widgets = {
            "started_at": DateTimeInput(),
            "ended_at": DateTimeInput(),
            "description": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"contract_service": "Service", "key": "Objective key"}
        help_texts = {"key": "The uptime objective it counts against."}

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contract_service"]
        field.queryset = ContractService.objects.filter(contract=contract).select_related("service")
        field.label_from_instance = lambda cs: cs.service.name


class MeasurementUploadForm(forms.Form):
    """A CSV file of samples: contract_service,key,observed_at,value,ok."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    MAX_BYTES = 5 * 1024 * 1024

    file = forms.FileField(
        label="CSV file",
        help_text="Columns: contract_service (id or service code), key, observed_at "
        "(ISO 8601 with offset), value, ok. At most 10,000 rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 5 MB: split it.")
        return upload


class SettleForm(forms.Form):
    """Settle one closed period now (the sweep would wait for the settlement delay)."""

    period_start = forms.DateField(label="Period starting", widget=DateInput())

    def __init__(self, *args: Any, periods: list[tuple[str, str]] | None = None, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if periods:
            self.fields["period_start"] = forms.TypedChoiceField(
                label="Period",
                choices=periods,
                coerce=lambda text: forms.DateField().clean(text),
            )
