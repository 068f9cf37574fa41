"""Samples: as read, as posted in a batch, and the answers to a batch."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from contracts.models import Measurement
from contracts.services import MAX_BATCH
from slaportal.api.fields import PlainDecimalField


class MeasurementSerializer(serializers.ModelSerializer):
    value = PlainDecimalField(max_digits=20, decimal_places=6, allow_null=True, required=False)

    class Meta:
        model = Measurement
        fields = ["id", "contract_service", "key", "observed_at", "value", "ok"]
        read_only_fields = fields


class MeasurementInputSerializer(serializers.Serializer):
    """One sample as posted; the whole batch is validated by ``record_measurements``."""

    contract_service = serializers.IntegerField()
    key = serializers.SlugField(max_length=60)
    observed_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    value = serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )
    ok = serializers.BooleanField(required=False, allow_null=True)


class MeasurementBatchSerializer(serializers.Serializer):
    """The JSON body of a POST: one sample, or a list of up to 10,000 (schema only)."""


class MeasurementBatchExtension(OpenApiSerializerExtension):
    target_class = "contracts.api.serializers.measurements.MeasurementBatchSerializer"

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        item = auto_schema.resolve_serializer(MeasurementInputSerializer, direction).ref
        return {
            "oneOf": [
                item,
                {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH},
            ]
        }


class MeasurementsCreatedSerializer(serializers.Serializer):
    created = serializers.IntegerField()


class MeasurementErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch, from 0.")
    line = serializers.IntegerField(
        required=False, help_text="CSV bodies only: the line of the file, the header being 1."
    )
    field = serializers.CharField()
    message = serializers.CharField()


class MeasurementsRejectedSerializer(serializers.Serializer):
    """400 for a batch: every bad item; nothing of the batch was stored."""

    errors = MeasurementErrorSerializer(many=True, required=False)
    detail = serializers.CharField(required=False, help_text="The body could not be read.")
