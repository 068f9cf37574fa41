"""An objective and its credit rule, one set of inputs per rule kind, tiers as a formset."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import engine
from contracts.forms.common import (
    LocalizedDecimalField,
    ModelErrorsMixin,
    decimal_input,
    delocalized_number,
    localized_number,
)
from contracts.forms.terms import TermsEditFields
from contracts.models import ServiceCalendar, ServiceLevel


class TierForm(forms.Form):
    """One row of a tiered rule; a row with both inputs empty is ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    bound = forms.CharField(required=False, widget=decimal_input(size=8))
    percent = forms.CharField(required=False, widget=decimal_input(size=6))

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("bound") or "").strip() and not (data.get("percent") or "").strip()


TierFormSet = forms.formset_factory(TierForm, extra=0, can_delete=True, max_num=20)

RULE_KIND_CHOICES = [
    ("", _("No service credit")),
    ("per_step", _("Per step: a percent for every started step of shortfall")),
    ("tiered", _("Tiered: a percent per bound crossed")),
    ("linear", _("Linear: a percent per point of shortfall")),
    ("flat", _("Flat: a percent or an amount, once")),
    ("pool", _("Pool: a share of the contract's at-risk amount")),
]

# For each rule kind, which input carries which rule parameter.
RULE_INPUTS: dict[str, dict[str, str]] = {
    "per_step": {"step": "step", "percent": "step_percent", "max_percent": "step_max_percent"},
    "tiered": {"tiers": "tiers"},
    "linear": {"factor": "factor", "max_percent": "linear_max_percent"},
    "flat": {"percent": "flat_percent", "amount": "flat_amount"},
    "pool": {"allocation_percent": "allocation_percent"},
}


def _rule_input(label: str) -> forms.CharField:
    """A credit rule parameter: optional here, as only the chosen kind's inputs count."""
    return forms.CharField(label=label, required=False, widget=decimal_input())


class ServiceLevelForm(TermsEditFields, ModelErrorsMixin, forms.ModelForm):
    """An objective and its credit rule, with one set of inputs per rule kind.

    ``scope`` picks the level: on a contract page "customer" (every service of the
    contract) or "cs:<service id>"; on the provider page "corporate" or
    "service:<service id>". The tiers of a tiered rule are a formset whose rows can be
    added and removed (with JavaScript, or the "Add a tier" button without it).
    """

    validated_instance_fields = ("level", "provider", "contract", "service")

    scope = forms.ChoiceField(label=_("Applies to"))
    rule_kind = forms.ChoiceField(
        label=_("Credit rule"), choices=RULE_KIND_CHOICES, required=False, initial=""
    )
    step = _rule_input(_("Step (points of shortfall)"))
    step_percent = _rule_input(_("Percent of the fee per started step"))
    step_max_percent = _rule_input(_("At most (percent, optional)"))
    tiers = forms.CharField(required=False, widget=forms.HiddenInput, label=_("Tiers"))
    factor = _rule_input(_("Percent of the fee per point of shortfall"))
    linear_max_percent = _rule_input(_("At most (percent, optional)"))
    flat_percent = _rule_input(_("Percent of the fee"))
    flat_amount = _rule_input(_("Or a fixed amount"))
    allocation_percent = _rule_input(_("Percent of the at-risk amount"))
    earn_back_periods = forms.IntegerField(
        label=_("Earn-back periods (optional)"),
        required=False,
        min_value=1,
        max_value=24,
        help_text=_(
            "The credit is held; the provider earns it back if the target is met in "
            "each of this many following periods, and it is paid on the statement of the first "
            "that misses it. Empty: the credit is payable at once."
        ),
    )

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
            "calendar",
            "priority",
            "enabled",
            "chronic_breaches",
            "chronic_window",
        ]
        field_classes = {"target": LocalizedDecimalField, "threshold": LocalizedDecimalField}
        labels = {
            "key": _("Key"),
            "name": _("Name"),
            "indicator": _("Indicator"),
            "target": _("Target"),
            "threshold": _("Threshold"),
            "comparator": _("Attainment must be"),
            "threshold_comparator": _("Each sample must be"),
            "calendar": _("Service calendar"),
            "priority": _("Ticket priority"),
            "enabled": _("In force"),
            "chronic_breaches": _("Chronic failure after (breaches)"),
            "chronic_window": _("Within (consecutive periods)"),
        }
        help_texts = {
            "target": _(
                "A percentage (0–100) for uptime, ratio and threshold; a number for count."
            ),
            "threshold": _(
                "Threshold objectives, e.g. 30 (minutes) or 100 (Mbit/s); response "
                "and resolution time: the most business minutes a ticket may take, e.g. 240."
            ),
            "calendar": _(
                "Only time inside its service hours counts (samples, downtime, ticket "
                "clocks); none for around the clock."
            ),
            "priority": _(
                "Response and resolution time only: the tickets measured, e.g. P1; "
                "empty for every priority."
            ),
            "chronic_breaches": _(
                "E.g. 3 breaches within 6 periods: the customer may then "
                "terminate, and both parties are told once. Both empty: not agreed."
            ),
            "chronic_window": _("The window the breaches are counted in, in settlement periods."),
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
        super().__init__(*args, initial=initial, **kwargs)
        self.drop_terms_fields_when_adding()
        self.scope_targets = scope_targets
        self.fields["scope"].choices = scopes
        self.fields["threshold_comparator"].required = False
        self.fields["threshold_comparator"].choices = [
            ("", "—"),
            *ServiceLevel.Comparator.choices,
        ]
        # Only the objective's provider's calendars: another provider's is not a choice.
        calendar = self.fields["calendar"]
        calendar.queryset = ServiceCalendar.objects.filter(
            provider_id=self.instance.provider_id
        ).order_by("name")
        calendar.empty_label = _("None: around the clock")
        self.fields["priority"].widget.attrs.update({"size": 8, "autocomplete": "off"})
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
        """The inputs that show a stored credit rule, its numbers in the reader's format."""
        if not isinstance(rule, dict) or rule.get("kind") not in RULE_INPUTS:
            return {"rule_kind": ""}
        kind = rule["kind"]
        values: dict[str, Any] = {"rule_kind": kind}
        for param, name in RULE_INPUTS[kind].items():
            if param != "tiers" and rule.get(param) is not None:
                values[name] = localized_number(rule[param])
        if rule.get("earn_back_periods") is not None:
            values["earn_back_periods"] = rule["earn_back_periods"]
        if kind == "tiered":
            values["tier_rows"] = [
                {
                    "bound": localized_number(t.get("bound", "")),
                    "percent": localized_number(t.get("percent", "")),
                }
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
        # Any kind may hold its credit for earn-back.
        if self.cleaned_data.get("earn_back_periods") is not None:
            rule["earn_back_periods"] = self.cleaned_data["earn_back_periods"]
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
                        "bound": self._typed_number(form.cleaned_data.get("bound"), "tiers"),
                        "percent": self._typed_number(form.cleaned_data.get("percent"), "tiers"),
                    }
                )
            rule["tiers"] = rows
            return rule
        for param, name in RULE_INPUTS[kind].items():
            rule[param] = self._typed_number(self.cleaned_data.get(name), name)
        if kind == "flat":
            # Only the parameter given goes to the rule: {"percent": "5"} or {"amount": …}.
            rule = {k: v for k, v in rule.items() if v is not None or k == "kind"}
        return rule

    def _typed_number(self, typed: str | None, field: str) -> str | None:
        """A rule parameter as typed in the reader's number format, as the plain text the
        engine reads (None when empty); an ambiguous one is refused beside ``field``. Only
        the chosen kind's inputs are read: leftovers of another kind do not count."""
        text = (typed or "").strip()
        if not text:
            return None
        try:
            return delocalized_number(text)
        except ValidationError as error:
            self.add_error(field, error)
            return text

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
        indicator = cleaned.get("indicator")
        if indicator != ServiceLevel.Indicator.THRESHOLD:
            # Leftovers of another indicator would be refused by the model's rule.
            for name in ("threshold", "threshold_comparator"):
                if not self.errors.get(name) and cleaned.get(name) in (None, ""):
                    cleaned[name] = None
        if indicator in ServiceLevel.TICKET_INDICATORS:
            cleaned["priority"] = (cleaned.get("priority") or "").strip()
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
                gettext(
                    "An objective with the key %(key)s already exists at this level; edit that "
                    "one instead."
                )
                % {"key": repr(key)},
            )

    def route_error(self, field: str, error: ValidationError) -> str | None:
        if field == "credit_rule":
            kind = self.cleaned_data.get("rule_kind") or ""
            code = error.code or ""
            if code == "kind":
                return "rule_kind"
            if code == "comparator":
                return "comparator"
            if code == "earn_back_periods":
                return "earn_back_periods"
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
