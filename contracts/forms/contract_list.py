"""The contract list's filters by what settlement found: credits, breaches and disputes in
a range of periods. Search, status and customer stay the list's own query parameters."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from contracts import hooks
from contracts.forms.common import DateInput
from contracts.models import Contract

OPEN_DISPUTE = "open"
ANY_DISPUTE = "any"


def inverted_range(data: dict[str, Any]) -> bool:
    """Whether the cleaned ``period_from`` and ``period_to`` are both given and the end
    comes before the start: the pages refuse such a range, the API matches nothing."""
    start, end = data.get("period_from"), data.get("period_to")
    return bool(start and end and end < start)


class PeriodRangeForm(forms.Form):
    """A range's end cannot come before its start."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if inverted_range(data):
            self.add_error("period_to", _("The end of the range cannot be before its start."))
        return data


def period_from_filter(method: str, *, help_text: str) -> filters.DateFilter:
    """The start of a range of periods, on the contract list and the statement list."""
    return filters.DateFilter(
        method=method, label=_("Periods from"), widget=DateInput, help_text=help_text
    )


def period_to_filter(method: str) -> filters.DateFilter:
    return filters.DateFilter(
        method=method,
        label=_("Periods to"),
        widget=DateInput,
        help_text=_("Periods starting on or before this day."),
    )


def breached_filter() -> filters.BooleanFilter:
    return filters.BooleanFilter(
        method="filter_breached",
        label=_("Breached (an objective missed its target)"),
        widget=forms.CheckboxInput,
    )


def disputed_filter() -> filters.ChoiceFilter:
    return filters.ChoiceFilter(
        method="filter_disputed",
        label=_("Disputes"),
        empty_label=_("Disputed or not"),
        choices=[
            (OPEN_DISPUTE, _("With an open dispute")),
            (ANY_DISPUTE, _("With any dispute, open or resolved")),
        ],
    )


class ContractStatementFilter(filters.FilterSet):
    """Contracts by their statements of the periods overlapping the range (all optional;
    an unticked box filters nothing). The queryset carries the ``credits`` annotation:
    the credits of that range, or of this year without one."""

    period_from = period_from_filter(
        "filter_nothing",
        help_text=_(
            "Credits, breaches and disputes of the periods ending on or after this day: a "
            "week, month or quarter counts if any of its days is in the range."
        ),
    )
    period_to = period_to_filter("filter_nothing")
    with_credit = filters.BooleanFilter(
        method="filter_with_credit",
        label=_("With credit in these periods"),
        widget=forms.CheckboxInput,
    )
    breached = breached_filter()
    disputed = disputed_filter()

    class Meta:
        model = Contract
        fields: list[str] = []
        form = PeriodRangeForm

    @property
    def period_range(self) -> tuple[date | None, date | None]:
        """The range asked for, once the form is valid; (None, None) otherwise."""
        if not self.is_bound or not self.is_valid():
            return None, None
        data = self.form.cleaned_data
        return data.get("period_from"), data.get("period_to")

    def filter_nothing(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        # The range does not drop contracts by itself: it says which periods the other
        # filters and the credits column read.
        return queryset

    def filter_with_credit(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(credits__gt=0) if value else queryset

    def _where(self, queryset: QuerySet, *, breached: bool, disputed: str) -> QuerySet:
        settlement = hooks.settlement()
        if settlement is None:
            return queryset.none()
        start, end = self.period_range
        return queryset.filter(
            settlement.statements_where(start=start, end=end, breached=breached, disputed=disputed)
        )

    def filter_breached(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return self._where(queryset, breached=True, disputed="") if value else queryset

    def filter_disputed(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._where(queryset, breached=False, disputed=value)
