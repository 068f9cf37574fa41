"""Filtering of the API's lists: django-filter, with ids as whole numbers and no empty values.

An id (:class:`IdFilter`, also what a ``filterset_fields`` foreign key becomes) is a whole
number in digits 0-9, documented as an integer; one outside the caller's scope matches
nothing, where django-filter's choice filter would answer "not a valid choice" for a
missing id and an empty list for an existing one. django-filter reads ``?status=`` or
``?contract=`` as no filter at all, so a client that sent an empty value by mistake would
get every row back; the schema documents those parameters as an enum, a boolean or an
integer, which the empty text is not: a 400. Text filters take it. A boolean is true or
false (1 or 0): django-filter would read any other word as no filter (:class:`StrictBooleanFilter`).
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError as FieldError
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from engine.numbers import is_plain_integer

EMPTY_VALUE = "Give a value, or leave the parameter out."


class WholeNumberField(forms.IntegerField):
    """A whole number in digits 0-9: Django's IntegerField would read "3.0" as 3, and
    int() reads "３" and "1_0"."""

    default_error_messages = {"invalid": "Enter a whole number in digits 0-9."}

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not is_plain_integer(text):
            raise FieldError(self.error_messages["invalid"], code="invalid")
        return int(text)


@extend_schema_field({"type": "integer"})
class IdFilter(filters.NumberFilter):
    """An id, or any whole number: one that no row has (0, -1, 10**30) matches nothing."""

    field_class = WholeNumberField


class StrictBooleanField(forms.Field):
    """true or false (also 1 or 0): django-filter's boolean reads any other word as no
    filter at all, so a typo would return every row."""

    default_error_messages = {"invalid": "Enter true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise FieldError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    """A boolean whose other values are a 400 ("Enter true or false."): every boolean
    query parameter of the API is one (a model's boolean field in ``filterset_fields``
    too). A ``BooleanFilter`` underneath, so the schema says boolean and keeps the help
    text; its own field, because django-filter's reads any other word as no filter."""

    field_class = StrictBooleanField


class PortalFilterSet(FilterSet):
    """What ``filterset_fields`` builds: a foreign key is filtered by id."""

    FILTER_DEFAULTS = {
        **FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class PortalFilterBackend(DjangoFilterBackend):
    filterset_base = PortalFilterSet

    def filter_queryset(
        self, request: Request, queryset: models.QuerySet, view: Any
    ) -> models.QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = {
                name: [EMPTY_VALUE]
                for name, field in filterset_class.base_filters.items()
                if not isinstance(field, filters.CharFilter)
                and "" in request.query_params.getlist(name)
            }
            if empty:
                raise ValidationError(empty)
        return super().filter_queryset(request, queryset, view)
