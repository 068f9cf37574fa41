"""The amendment-or-correction question every edit of a fee or an objective asks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contracts.models import ContractService, ServiceLevel
from contracts.services.terms import AMENDMENT, CORRECTION, TermsEdit, check_edit


class TermsEditFields(forms.Form):
    """Mixed into a model form of a versioned item; shown only when editing one."""

    change = forms.ChoiceField(
        label=_("This change is"),
        choices=[
            (AMENDMENT, _("An amendment: it takes effect from a period start")),
            (CORRECTION, _("A correction: the terms were wrong, settled periods are revised")),
        ],
        initial=AMENDMENT,
        widget=forms.RadioSelect,
        required=False,
    )
    effective_from = forms.DateField(
        label=_("Effective from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Amendment: the first day of a period (empty: the next period of each contract). "
            "Correction: a day of the version corrected (empty: the version in force today)."
        ),
    )
    change_note = forms.CharField(
        label=_("Note for both parties"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    TERMS_FIELDS = ("change", "effective_from", "change_note")

    def drop_terms_fields_when_adding(self) -> None:
        """Only an edit has versions to amend or correct (a provider-wide objective's are
        kept in each contract it applies to)."""
        if not self.instance.pk:
            for name in self.TERMS_FIELDS:
                self.fields.pop(name, None)

    def terms_edit(self) -> TermsEdit | None:
        if "change" not in self.fields or not self.instance.pk:
            return None
        data = self.cleaned_data
        return TermsEdit(
            kind=data.get("change") or AMENDMENT,
            effective_from=data.get("effective_from"),
            note=data.get("change_note") or "",
        )

    def check_terms_edit(self) -> None:
        """Beside the field: an amendment's date that is not a period start, or has begun."""
        edit = self.terms_edit()
        if edit is None or "effective_from" in self.errors:
            return
        try:
            check_edit(self.instance, edit, now=timezone.now())
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.check_terms_edit()
        return cleaned


class ContractServiceAdminForm(TermsEditFields, forms.ModelForm):
    class Meta:
        model = ContractService
        fields = ["contract", "service", "fee"]


class ServiceLevelAdminForm(TermsEditFields, forms.ModelForm):
    class Meta:
        model = ServiceLevel
        fields = [
            "level",
            "provider",
            "contract",
            "service",
            "key",
            "name",
            "indicator",
            "comparator",
            "target",
            "threshold",
            "threshold_comparator",
            "enabled",
            "credit_rule",
            "calendar",
            "priority",
            "chronic_breaches",
            "chronic_window",
        ]
