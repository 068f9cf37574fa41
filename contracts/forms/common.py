"""What every browser form shares: date and time inputs, decimal inputs read as the
exact text typed, and model errors routed to a visible input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

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
