"""Amendment or correction: what every write of a fee or an objective says about time, and
the timeline of a contract's terms."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils import timezone
from rest_framework import serializers

from contracts.models import TermsChange
from contracts.services.terms import TermsEdit, check_edit, record_terms_change, stored_terms
from slaportal.api.errors import api_errors

_EDIT_FIELDS = ("change", "effective_from", "change_note")


class TermsEditMixin(serializers.Serializer):
    # A change of the versioned terms (a fee; an objective's target, comparator, threshold
    # or credit rule) is an amendment from a period start or a retroactive correction.
    change = serializers.ChoiceField(
        choices=[("amendment", "amendment"), ("correction", "correction")],
        write_only=True,
        required=False,
        help_text="On a change of the terms: 'amendment' (default) takes effect from "
        "effective_from, a period start (default the next one), and never changes a "
        "period that has begun; 'correction' rewrites the version in force on "
        "effective_from (default today), retroactively.",
    )
    effective_from = serializers.DateField(write_only=True, required=False, allow_null=True)
    change_note = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=2000
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        wanted = {name: attrs.pop(name) for name in _EDIT_FIELDS if name in attrs}
        attrs = super().validate(attrs)
        self._terms_edit = None
        if self.instance is not None:
            edit = TermsEdit(
                kind=wanted.get("change") or "amendment",
                effective_from=wanted.get("effective_from"),
                note=wanted.get("change_note") or "",
            )
            try:
                self._terms_edit = check_edit(self._validated_instance, edit, now=timezone.now())
            except DjangoValidationError as exc:
                raise serializers.ValidationError(api_errors(exc)) from None
        return attrs

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        # What the database holds still: the instance already carries the new values.
        before = stored_terms(instance)
        with transaction.atomic():
            instance = super().update(instance, validated_data)
            record_terms_change(item=instance, before=before, edit=self._terms_edit, user=self.user)
        return instance


class TermsChangeSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item_label", read_only=True)
    # Text rather than an enum: the schema has many fields named "kind".
    kind = serializers.CharField(
        read_only=True, help_text="original (as first agreed), amendment or correction."
    )
    made_by = serializers.CharField(source="made_by.username", read_only=True, default=None)

    class Meta:
        model = TermsChange
        fields = [
            "id",
            "contract",
            "contract_service",
            "service_level",
            "item",
            "kind",
            "effective_from",
            "terms",
            "note",
            "made_by",
            "made_at",
        ]
        read_only_fields = fields
