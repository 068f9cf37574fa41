"""The customer's responsibilities and their lapses (recorded through the service)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.models import Contract, Responsibility, ResponsibilityLapse, ServiceLevel
from contracts.selectors import objectives_applying_to
from contracts.services import record_lapse
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer


class ResponsibilitySerializer(ValidatedModelSerializer):
    contract = ScopedPrimaryKeyRelatedField(model=Contract)
    service_levels = ScopedPrimaryKeyRelatedField(
        model=ServiceLevel,
        scope="visible",
        many=True,
        required=False,
        help_text="Ids of the objectives the obligation affects; each must apply to the contract.",
    )
    immutable_fields = ("contract",)

    class Meta:
        model = Responsibility
        fields = ["id", "contract", "title", "description", "service_levels"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        contract = attrs.get("contract") or self.instance.contract
        chosen = [sl.pk for sl in attrs.get("service_levels") or []]
        if chosen:
            applying = set(
                objectives_applying_to(contract).filter(pk__in=chosen).values_list("pk", flat=True)
            )
            foreign = [pk for pk in chosen if pk not in applying]
            if foreign:
                raise serializers.ValidationError(
                    {
                        "service_levels": [
                            f"Objective {pk} does not apply to contract {contract.reference}."
                            for pk in foreign
                        ]
                    }
                )
        return attrs


def _recordable(user: object) -> object:
    return Responsibility.objects.lapses_recordable_by(user)


class ResponsibilityLapseSerializer(ValidatedModelSerializer):
    # Either party's editors record a lapse (the customer its own); only the provider's
    # change or delete one (the viewset's editable scope).
    responsibility = ScopedPrimaryKeyRelatedField(model=Responsibility, scope=_recordable)
    recorded_by = serializers.IntegerField(source="recorded_by_id", read_only=True, allow_null=True)
    contested_by = serializers.IntegerField(
        source="contested_by_id", read_only=True, allow_null=True
    )
    resolved_by = serializers.IntegerField(source="resolved_by_id", read_only=True, allow_null=True)
    immutable_fields = ("responsibility",)

    class Meta:
        model = ResponsibilityLapse
        fields = [
            "id",
            "responsibility",
            "start",
            "end",
            "note",
            "recorded_by",
            "recorded_at",
            "recorded_for",
            "status",
            "contest_reason",
            "contested_by",
            "contested_at",
            "resolution",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = [
            "recorded_for",
            "status",
            "contest_reason",
            "contested_at",
            "resolution",
            "resolved_at",
        ]

    def create(self, validated_data: dict[str, Any]) -> ResponsibilityLapse:
        # Recording a lapse notifies both parties: that is the service's job.
        responsibility = validated_data["responsibility"]
        try:
            return record_lapse(
                responsibility=responsibility,
                start=validated_data["start"],
                end=validated_data["end"],
                note=validated_data.get("note", ""),
                user=self.user,
            )
        except Responsibility.DoesNotExist:
            message = self.fields["responsibility"].error_messages["does_not_exist"]
            raise serializers.ValidationError(
                {"responsibility": [message.format(pk_value=responsibility.pk)]}
            ) from None


class LapseContestSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=5000, help_text="Why the customer contests the lapse."
    )


class LapseDecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[("kept", "Kept"), ("withdrawn", "Withdrawn")],
        help_text="kept: the lapse stands; withdrawn: it relieves nothing, and closed "
        "periods it touched are settled again.",
    )
    resolution = serializers.CharField(max_length=5000, help_text="Why.")
