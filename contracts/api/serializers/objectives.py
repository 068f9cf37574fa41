"""Objectives (service levels) with their sentence, and the effective ones of a contract."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.api.serializers.contracts import providers_edited_by
from contracts.api.serializers.rules import (
    CreditRuleField,
    SourceLevelField,
    ThresholdComparatorField,
)
from contracts.api.serializers.terms import TermsEditMixin
from contracts.models import Contract, Organization, Service, ServiceCalendar, ServiceLevel
from slaportal.api.fields import PlainDecimalField, ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer

_PERIOD_WORDS = (
    ("each month", "each period"),
    ("per month", "per period"),
    ("that month's", "that period's"),
)


def describe_service_level(service_level: ServiceLevel) -> str:
    """The plain-language sentence of an objective, worded for its scope."""
    contract = service_level.contract if service_level.contract_id else None
    service = service_level.service if service_level.service_id else None
    if service is not None and contract is not None:
        service_name = f"{service.name} in {contract.reference}"
    elif service is not None:
        service_name = service.name
    elif contract is not None:
        service_name = f"every service of {contract.reference}"
    else:
        service_name = "every service"
    period = contract.settlement_period if contract is not None else "month"
    try:
        text = service_level.describe(service_name=service_name, period_name=period)
    except (ValueError, TypeError, AssertionError):
        return ""
    if contract is None:
        # Corporate and service objectives apply under every contract's own period.
        for month, period_words in _PERIOD_WORDS:
            text = text.replace(month, period_words)
    return text


class ServiceLevelSerializer(TermsEditMixin, ValidatedModelSerializer):
    provider = ScopedPrimaryKeyRelatedField(
        model=Organization,
        scope=providers_edited_by,
        required=False,
        help_text="May be omitted where the contract or service implies it.",
    )
    contract = ScopedPrimaryKeyRelatedField(model=Contract, required=False, allow_null=True)
    service = ScopedPrimaryKeyRelatedField(model=Service, required=False, allow_null=True)
    calendar = ScopedPrimaryKeyRelatedField(
        model=ServiceCalendar,
        required=False,
        allow_null=True,
        help_text="A service calendar of the same provider: time counts only in its service "
        "hours. Null (the default) is around the clock.",
    )
    threshold_comparator = ThresholdComparatorField(required=False)
    credit_rule = CreditRuleField()
    description = serializers.SerializerMethodField()
    immutable_fields = ("level", "provider", "contract", "service")

    class Meta:
        model = ServiceLevel
        fields = [
            "id",
            "level",
            "provider",
            "contract",
            "service",
            "key",
            "name",
            "indicator",
            "comparator",
            "target",
            "threshold",
            "threshold_comparator",
            "enabled",
            "credit_rule",
            "calendar",
            "priority",
            "chronic_breaches",
            "chronic_window",
            "description",
            "change",
            "effective_from",
            "change_note",
        ]
        extra_kwargs = {
            "chronic_breaches": {
                "min_value": 1,
                "max_value": 24,
                "help_text": "Chronic failure: this many breaches within chronic_window "
                "consecutive settlement periods give the customer a right to terminate; both "
                "parties are told once. Null with chronic_window: not agreed.",
            },
            "chronic_window": {
                "min_value": 1,
                "max_value": 24,
                "help_text": "Chronic failure: the window, in consecutive settlement periods.",
            },
            "threshold": {
                "help_text": "Threshold objectives: the value samples are compared with. "
                "Ticket objectives (response_time, resolution_time): minutes on the clock."
            },
        }

    def get_description(self, service_level: ServiceLevel) -> str:
        return describe_service_level(service_level)


class EffectiveServiceLevelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    source_level = SourceLevelField()
    indicator = serializers.ChoiceField(choices=ServiceLevel.Indicator.choices)
    comparator = serializers.ChoiceField(choices=ServiceLevel.Comparator.choices)
    target = PlainDecimalField(max_digits=14, decimal_places=4)
    threshold = PlainDecimalField(max_digits=20, decimal_places=6, allow_null=True)
    threshold_comparator = ThresholdComparatorField()
    credit_rule = CreditRuleField()


class EffectiveContractServiceSerializer(serializers.Serializer):
    contract_service = serializers.IntegerField()
    service = serializers.IntegerField()
    service_code = serializers.CharField()
    service_name = serializers.CharField()
    service_levels = EffectiveServiceLevelSerializer(many=True)


def effective_service_levels_json(entries: list) -> list[dict[str, Any]]:
    """The SPEC §5 shape of ``contracts.selectors.effective_service_levels``."""
    return [
        {
            "contract_service": entry.contract_service.pk,
            "service": entry.contract_service.service_id,
            "service_code": entry.contract_service.service.code,
            "service_name": entry.contract_service.service.name,
            "service_levels": [
                {
                    "id": sl.pk,
                    "key": sl.key,
                    "name": sl.name,
                    "source_level": sl.level,
                    "indicator": sl.indicator,
                    "comparator": sl.comparator,
                    "target": sl.target,
                    "threshold": sl.threshold,
                    "threshold_comparator": sl.threshold_comparator,
                    "credit_rule": sl.credit_rule,
                }
                for sl in entry.service_levels
            ],
        }
        for entry in entries
    ]
