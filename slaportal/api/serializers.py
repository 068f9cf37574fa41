"""The base serializer of the API: a model serializer validated by the model itself.

Serializers call the model's ``full_clean()`` (netbox ``ValidatedModelSerializer``), so
``Model.clean()`` speaks for the API exactly as it does for the admin and the forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from rest_framework import serializers

from slaportal.api.errors import api_errors
from slaportal.api.fields import PlainDecimalField, StrictIntegerField

if TYPE_CHECKING:
    from contracts.querysets import User


class ValidatedModelSerializer(serializers.ModelSerializer):
    # Builds the instance, runs full_clean() and saves exactly what was validated.
    # Model-level invariants (clean(), constraints, unique checks) are the model's; this
    # only translates their messages into the API's per-field 400 body. (A comment, not
    # a docstring: the schema would show it as every serializer's description.)

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: PlainDecimalField,
        models.IntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.PositiveBigIntegerField: StrictIntegerField,
    }

    # Fields a client sets once: the tenant owner of a row never moves.
    immutable_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def user(self) -> User | None:
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | models.QuerySet):
            for name in self.immutable_fields:
                if name in fields:
                    fields[name].read_only = True
        return fields

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attrs = super().to_internal_value(data)
        # A misspelt field ("credit_rules") must not be dropped in silence. Read-only
        # fields are known: a client may send back what it read.
        known = {*self.fields, "csrfmiddlewaretoken"}  # the browsable API's forms send it
        unknown = sorted(set(data) - known) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        changed = self._changed_immutable_fields(data)
        if changed:
            raise serializers.ValidationError({name: ["Cannot be changed."] for name in changed})
        return attrs

    def _changed_immutable_fields(self, data: Any) -> list[str]:
        """Immutable fields sent with another value than stored: refused, not ignored."""
        if self.instance is None or not isinstance(data, dict):
            return []
        changed = []
        for name in self.immutable_fields:
            if name not in data:
                continue
            try:
                field = self.instance._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            current = getattr(self.instance, field.attname)
            if str(data[name]) != str(current):
                changed.append(name)
        return changed

    def get_validators(self) -> list:
        # full_clean() checks every unique and check constraint, conditions included.
        return []

    def prepare_instance(self, instance: models.Model) -> None:
        """Hook: derive fields the client may omit, before ``full_clean()``."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        many_to_many = {f.name for f in model._meta.many_to_many}
        instance = self.instance if self.instance is not None else model()
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(instance, name, value)
        self.prepare_instance(instance)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(api_errors(exc)) from None
        self._validated_instance = instance
        return attrs

    def _save_validated(self, validated_data: dict[str, Any]) -> models.Model:
        instance = self._validated_instance
        many_to_many = {f.name for f in self.Meta.model._meta.many_to_many}
        with transaction.atomic():
            instance.save()
            for name in many_to_many & set(validated_data):
                getattr(instance, name).set(validated_data[name])
        return instance

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self._save_validated(validated_data)

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        return self._save_validated(validated_data)
