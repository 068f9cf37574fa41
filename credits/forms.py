"""Browser forms of the credits pages. They only read and check input; every write goes
through ``credits.services``, whose errors are put back beside the field they name."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from contracts.forms.common import DateInput, DateTimeInput, LocalizedDecimalField
from contracts.forms.contract_list import (
    OPEN_DISPUTE,
    PeriodRangeForm,
    breached_filter,
    disputed_filter,
    period_from_filter,
    period_to_filter,
)
from contracts.models import Contract, ContractService
from credits.models import Claim, Dispute, Statement


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contract) -> str:
        return f"{obj.reference} — {obj.customer}"


class ContractChoiceFilter(filters.ModelChoiceFilter):
    field_class = ContractChoiceField


def _readable_contracts(request: HttpRequest | None) -> QuerySet[Contract]:
    # Only contracts the user may read can be chosen: another id is "not a valid choice".
    if request is None:
        return Contract.objects.none()
    return (
        Contract.objects.visible_to(request.user).select_related("customer").order_by("reference")
    )


class PeriodOverlapMethods:
    """The statements of the periods overlapping the range: a period_from or period_to
    filter's method, on the statement list and in the API."""

    def filter_period_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.overlapping(value, None)

    def filter_period_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.overlapping(None, value)


class StatementFilter(PeriodOverlapMethods, filters.FilterSet):
    """Filters of the statement list, of its totals and of its CSV exports (all optional;
    an unticked box filters nothing). The queryset is already scoped to the user."""

    contract = ContractChoiceFilter(
        queryset=_readable_contracts,
        label=_("Contract"),
        empty_label=_("All contracts"),
    )
    period_from = period_from_filter(
        "filter_period_from",
        help_text=_(
            "Periods ending on or after this day: a week, month or quarter counts if any "
            "of its days is in the range."
        ),
    )
    period_to = period_to_filter("filter_period_to")
    with_credit = filters.BooleanFilter(
        method="filter_with_credit",
        label=_("With credit (a payable credit above zero)"),
        widget=forms.CheckboxInput,
    )
    breached = breached_filter()
    disputed = disputed_filter()
    latest_only = filters.BooleanFilter(
        method="filter_latest_only",
        label=_("Latest revisions only (hide superseded revisions)"),
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Statement
        fields: list[str] = []
        form = PeriodRangeForm

    def filter_with_credit(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.with_credit() if value else queryset

    def filter_breached(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.breached() if value else queryset

    def filter_disputed(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.disputed(open_only=value == OPEN_DISPUTE)

    def filter_latest_only(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.latest_revisions() if value else queryset


class DisputeForm(forms.Form):
    """A customer disputes one statement line."""

    reason = forms.CharField(
        label=_("Reason for the dispute"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_("What is wrong with this line, and what you expect instead."),
        error_messages={"required": _("Say why you dispute this line.")},
    )


class ResolveDisputeForm(forms.Form):
    """The provider accepts or rejects a dispute, with a resolution."""

    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[(Dispute.Status.ACCEPTED, _("Accept")), (Dispute.Status.REJECTED, _("Reject"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose to accept or reject the dispute.")},
    )
    resolution = forms.CharField(
        label=_("Resolution"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_(
            "What was decided and why (for a rejection, the reason); the customer reads this."
        ),
        error_messages={"required": _("Explain the resolution.")},
    )
    remedy = forms.ChoiceField(
        label=_("Remedy (when accepting)"),
        choices=[("", "—"), *Dispute.Remedy.choices],
        required=False,
        help_text=_(
            "Either way the period is settled again and the new revision cites the "
            "dispute. Correct the data, incident, lapse or terms first."
        ),
    )
    adjustment_amount = LocalizedDecimalField(
        label=_("Agreed adjustment amount"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=3,
    )


class ClaimFilterForm(forms.Form):
    """Filters of the claim list (all optional)."""

    status = forms.ChoiceField(
        choices=[("", _("All")), *Claim.Status.choices], required=False, label=_("Status")
    )
    contract = forms.ModelChoiceField(
        queryset=Contract.objects.none(),
        required=False,
        label=_("Contract"),
        empty_label=_("All contracts"),
    )
    period = forms.DateField(
        required=False,
        label=_("Period containing"),
        widget=DateInput(),
        help_text=_("Claims of the settlement period that contains this day."),
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
        label=_("Service"),
        error_messages={"required": _("Choose the service that was down.")},
    )
    started_at = forms.DateTimeField(
        label=_("Outage started"), widget=DateTimeInput(), help_text=_("In the portal's time zone.")
    )
    ended_at = forms.DateTimeField(
        label=_("Outage ended"), widget=DateTimeInput(), help_text=_("In the portal's time zone.")
    )
    description = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        error_messages={"required": _("Describe the outage you claim.")},
    )

    def __init__(self, *args: Any, services: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contract_service"]
        field.queryset = services
        field.label_from_instance = lambda cs: (
            f"{cs.service.name} — {cs.contract.reference} "
            + str(_("(claims within %(days)s days)")) % {"days": cs.contract.claim_window_days}
        )


class ResolveClaimForm(forms.Form):
    """The provider accepts or rejects a claim."""

    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[(Claim.Status.ACCEPTED, _("Accept")), (Claim.Status.REJECTED, _("Reject"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose to accept or reject the claim.")},
    )
    resolution = forms.CharField(
        label=_("Reason or note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        help_text=_(
            "Needed to reject; the customer reads it. Accepting records the outage as "
            "a provider incident and settles the period again."
        ),
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ``ValidationError`` beside the fields it names (the rest on top)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)
