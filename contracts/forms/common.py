"""What every browser form shares: date and time inputs, decimal inputs read as the
exact text typed, numbers in digits 0-9 only, and model errors routed to a visible input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from engine.numbers import is_plain_integer, is_plain_number

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def decimal_input(**attrs: Any) -> forms.TextInput:
    # Text, not number: the engine reads the exact text, and a browser's number input
    # would silently drop "99,5" instead of letting the server explain what is wrong.
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


def loose_number(field: forms.Field, raw: object) -> bool:
    """Whether ``raw`` is text that ``field`` would read as a number or an id although it is
    not written in digits 0-9: Django reads through Decimal() and int(), which also take
    "１２" (full-width), "1_000", and "3.0" as the integer 3."""
    if isinstance(raw, list | tuple):
        return any(loose_number(field, item) for item in raw)
    if not isinstance(raw, str) or not raw.strip():
        return False
    if isinstance(field, forms.DecimalField | forms.FloatField):
        return not is_plain_number(raw)
    if isinstance(field, forms.IntegerField):
        return not is_plain_integer(raw)
    if isinstance(field, forms.ModelChoiceField):
        meta = field.queryset.model._meta
        key = meta.get_field(field.to_field_name) if field.to_field_name else meta.pk
        return isinstance(key, models.AutoField | models.IntegerField) and not is_plain_integer(raw)
    return False


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

    def _clean_fields(self) -> None:
        super()._clean_fields()  # type: ignore[misc]
        # The model's number fields and foreign keys become Django's lenient form fields;
        # text they would misread is refused here, for every model form at once.
        for name, bound in self._bound_items():  # type: ignore[attr-defined]
            if name in self._errors or bound.field.disabled:  # type: ignore[attr-defined]
                continue
            if loose_number(bound.field, bound.data):
                messages = bound.field.error_messages
                code = "invalid_choice" if "invalid_choice" in messages else "invalid"
                self.add_error(  # type: ignore[attr-defined]
                    name, ValidationError(messages[code], code=code, params={"value": bound.data})
                )

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
