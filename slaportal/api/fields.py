"""Fields of the API: foreign keys looked up in the caller's scope, decimals shown as the
numbers they are, and money at its currency's minor unit.

Every foreign key of a request body is looked up in the caller's scope, so an
out-of-scope id reads "Invalid pk … object does not exist", like a missing one. Figures
become text through ``engine.text``, as on every other surface.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.db import models
from rest_framework import serializers

from engine.numbers import is_plain_integer
from engine.text import plain_decimal, plain_money

if TYPE_CHECKING:
    from contracts.querysets import User

Scope = str | Callable[["User | None"], models.QuerySet]


class StrictDecimalField(serializers.DecimalField):
    """A decimal written in digits 0-9: DRF reads through Decimal(), which also takes
    full-width or Arabic-Indic digits and "1_000"."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and (not data.isascii() or "_" in data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer as a JSON integer or digits 0-9 in a string: DRF's field would take 3.0,
    "3.0", "３" and "1_000"."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and is_plain_integer(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class PlainDecimalField(StrictDecimalField):
    """A decimal stored with spare places, shown as the number it is: "99.9" not "99.9000"."""

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return plain_decimal(value)


class MoneyField(StrictDecimalField):
    """An amount shown with its currency's minor unit ("300.00", "5000" for JPY)."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        self.currency_getter = attrgetter(currency)
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return (value, self.currency_getter(instance))

    def to_representation(self, data: Any) -> str | None:
        value, currency = data
        if value is None:
            return None
        return plain_money(value, currency)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key looked up in the caller's scope: ``"editable"``, ``"visible"`` or a
    function of the user returning a queryset."""

    def __init__(self, *, model: type[models.Model], scope: Scope = "editable", **kwargs: Any):
        self.scoped_model = model
        self.scope = scope
        if not kwargs.get("read_only"):
            # The unscoped queryset only tells the schema generator the target model.
            kwargs.setdefault("queryset", model.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        # Django would look up 3.5 as 3 (int()), and "３" or "1_0" as well.
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and is_plain_integer(data))
        ):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    def get_queryset(self) -> models.QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if callable(self.scope):
            return self.scope(user)
        manager = self.scoped_model.objects
        if self.scope == "visible":
            return manager.visible_to(user)
        return manager.editable_by(user)
