"""What every browser form shares: date and time inputs, decimal inputs read as the
exact text typed in the reader's number format, numbers in digits 0-9 only, and model
errors routed to a visible input."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.formats import get_format, localize_input, sanitize_separators
from django.utils.translation import gettext_lazy as _

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


AMBIGUOUS_NUMBER = _(
    "“%(value)s” is ambiguous: write %(whole)s for the whole number or %(decimal)s for the decimal."
)


def delocalized_number(typed: str) -> str:
    """A number typed in the reader's format as the plain text ``Decimal()`` and the engine
    read: German "1,5" and "1.234,56" become "1.5" and "1234.56"; English stays as typed.

    Separators come from Django's formats of the active language, the decimal one turned
    into a dot by ``sanitize_separators``. Thousands separators count only in groups of
    three, and one group alone ("1.234" in German, "1,234" in English) could as well be
    the other language's decimal: refused (code "ambiguous") rather than read as either.
    A dot that cannot be a thousands separator ("1.5" in German) is read as Django reads
    it, a decimal point. Text that is no number comes back as typed, for the reader's own
    error message."""
    text = typed.strip()
    decimal_separator = get_format("DECIMAL_SEPARATOR")
    thousand_separator = get_format("THOUSAND_SEPARATOR")
    sign = text[:1] if text.startswith(("+", "-")) else ""
    whole, point, fraction = text[len(sign) :].partition(decimal_separator)
    if thousand_separator and thousand_separator in whole:
        groups = whole.split(thousand_separator)
        if not _grouped(groups):
            return text
        if not point and len(groups) == 2:
            raise ValidationError(
                AMBIGUOUS_NUMBER,
                code="ambiguous",
                params={
                    "value": text,
                    "whole": sign + "".join(groups),
                    "decimal": sign + decimal_separator.join(groups),
                },
            )
        whole = "".join(groups)
    return sanitize_separators(sign + whole + point + fraction)


def _grouped(groups: list[str]) -> bool:
    head, *tail = groups
    return (
        re.fullmatch(r"[1-9][0-9]{0,2}", head) is not None
        and bool(tail)
        and all(re.fullmatch(r"[0-9]{3}", group) for group in tail)
    )


def localized_number(value: object) -> object:
    """A number as the reader writes it, without the column's trailing zeros: 99.5000 is
    "99.5" in English, "99,5" in German; no thousands separators, so that the text reads
    back unambiguously. Text that is no number is shown as it is."""
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, Decimal) and value.is_finite():
        return localize_input(Decimal(f"{value.normalize():f}"))
    return value


class LocalizedDecimalField(forms.DecimalField):
    """A decimal typed and shown in the reader's number format (``delocalized_number``),
    in a text input with the phone's decimal keypad."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", decimal_input())
        super().__init__(localize=True, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str) and value.strip():
            value = delocalized_number(value)
            if not is_plain_number(value):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        # What was typed is shown again as typed; a stored value in the reader's format.
        return value if isinstance(value, str) else localized_number(value)


def loose_number(field: forms.Field, raw: object) -> bool:
    """Whether ``raw`` is text that ``field`` would read as a number or an id although it is
    not written in digits 0-9: Django reads through Decimal() and int(), which also take
    "１２" (full-width), "1_000", and "3.0" as the integer 3."""
    if isinstance(raw, list | tuple):
        return any(loose_number(field, item) for item in raw)
    if not isinstance(raw, str) or not raw.strip():
        return False
    if isinstance(field, LocalizedDecimalField):
        return False  # its own to_python reads the reader's format strictly
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
