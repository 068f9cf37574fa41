"""Browser forms of the credits pages. They only read and check input; every write goes
through ``credits.services``, whose errors are put back beside the field they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from contracts.forms.common import DateInput, DateTimeInput
from contracts.models import Contract, ContractService
from credits.models import Claim, Dispute


class StatementFilterForm(forms.Form):
    """Filters of the statement list and of its CSV export (all optional)."""

    contract = forms.ModelChoiceField(
        queryset=Contract.objects.none(), required=False, empty_label="All contracts"
    )
    period_from = forms.DateField(
        required=False,
        label="Periods from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Periods ending on or after this day.",
    )
    period_to = forms.DateField(
        required=False,
        label="Periods to",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Periods starting on or before this day.",
    )
    latest_only = forms.BooleanField(
        required=False, label="Latest revisions only (hide superseded revisions)"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only contracts the user may read can be chosen: another id is "not a valid choice".
        self.fields["contract"].queryset = (
            Contract.objects.visible_to(user).select_related("customer").order_by("reference")
        )
        self.fields["contract"].label_from_instance = lambda c: f"{c.reference} — {c.customer}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and end < start:
            self.add_error("period_to", "The end of the range cannot be before its start.")
        return data


class DisputeForm(forms.Form):
    """A customer disputes one statement line."""

    reason = forms.CharField(
        label="Reason for the dispute",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="What is wrong with this line, and what you expect instead.",
        error_messages={"required": "Say why you dispute this line."},
    )


class ResolveDisputeForm(forms.Form):
    """The provider accepts or rejects a dispute, with a resolution."""

    status = forms.ChoiceField(
        label="Decision",
        choices=[(Dispute.Status.ACCEPTED, "Accept"), (Dispute.Status.REJECTED, "Reject")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose to accept or reject the dispute."},
    )
    resolution = forms.CharField(
        label="Resolution",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="What was decided and why (for a rejection, the reason); the customer "
        "reads this.",
        error_messages={"required": "Explain the resolution."},
    )
    remedy = forms.ChoiceField(
        label="Remedy (when accepting)",
        choices=[("", "—"), *Dispute.Remedy.choices],
        required=False,
        help_text="Either way the period is settled again and the new revision cites the "
        "dispute. Correct the data, incident, lapse or terms first.",
    )
    adjustment_amount = forms.DecimalField(
        label="Agreed adjustment amount",
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=3,
    )


class ClaimFilterForm(forms.Form):
    """Filters of the claim list (all optional)."""

    status = forms.ChoiceField(
        choices=[("", "All"), *Claim.Status.choices], required=False, label="Status"
    )
    contract = forms.ModelChoiceField(
        queryset=Contract.objects.none(), required=False, empty_label="All contracts"
    )
    period = forms.DateField(
        required=False,
        label="Period containing",
        widget=DateInput(),
        help_text="Claims of the settlement period that contains this day.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = (
            Contract.objects.visible_to(user).select_related("customer").order_by("reference")
        )
        self.fields["contract"].label_from_instance = lambda c: f"{c.reference} — {c.customer}"


class ClaimForm(forms.Form):
    """A customer claims an outage the provider did not record."""

    contract_service = forms.ModelChoiceField(
        queryset=ContractService.objects.none(),
        label="Service",
        error_messages={"required": "Choose the service that was down."},
    )
    started_at = forms.DateTimeField(
        label="Outage started", widget=DateTimeInput(), help_text="In the portal's time zone."
    )
    ended_at = forms.DateTimeField(
        label="Outage ended", widget=DateTimeInput(), help_text="In the portal's time zone."
    )
    description = forms.CharField(
        label="What happened",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        error_messages={"required": "Describe the outage you claim."},
    )

    def __init__(self, *args: Any, services: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contract_service"]
        field.queryset = services
        field.label_from_instance = lambda cs: (
            f"{cs.service.name} — {cs.contract.reference} "
            f"(claims within {cs.contract.claim_window_days} days)"
        )


class ResolveClaimForm(forms.Form):
    """The provider accepts or rejects a claim."""

    status = forms.ChoiceField(
        label="Decision",
        choices=[(Claim.Status.ACCEPTED, "Accept"), (Claim.Status.REJECTED, "Reject")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose to accept or reject the claim."},
    )
    resolution = forms.CharField(
        label="Reason or note",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        help_text="Needed to reject; the customer reads it. Accepting records the outage as "
        "a provider incident and settles the period again.",
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ``ValidationError`` beside the fields it names (the rest on top)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)
