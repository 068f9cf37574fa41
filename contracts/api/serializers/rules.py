"""Credit rules and objective choices as the API reads and writes them.

The rule serializers describe the rule shapes of SPEC §5 for the schema; the engine
parses and checks.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

import engine
from contracts.models import ServiceLevel


def _rule_number(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=27, decimal_places=12, **kwargs)


class _HeldForEarnBack(serializers.Serializer):
    """What every rule may add: its credit held for earn-back."""

    earn_back_periods = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=24,
        help_text="The credit is held; the provider earns it back if the target is met in "
        "each of this many following periods, else it is paid on the statement of the "
        "first that misses it. Absent or null: payable at once.",
    )


class PerStepRuleSerializer(_HeldForEarnBack):
    kind = serializers.ChoiceField(choices=["per_step"])
    step = _rule_number(help_text="Points of shortfall per step; every started step counts.")
    percent = _rule_number(help_text="Percent of the fee credited per step.")
    max_percent = _rule_number(required=False, allow_null=True)


class TierSerializer(serializers.Serializer):
    bound = _rule_number()
    percent = _rule_number()


class TieredRuleSerializer(_HeldForEarnBack):
    kind = serializers.ChoiceField(choices=["tiered"])
    tiers = TierSerializer(
        many=True, help_text="From the mildest breach to the worst; the largest crossed wins."
    )


class LinearRuleSerializer(_HeldForEarnBack):
    kind = serializers.ChoiceField(choices=["linear"])
    factor = _rule_number(help_text="Percent of the fee per point of shortfall.")
    max_percent = _rule_number(required=False, allow_null=True)


class FlatRuleSerializer(_HeldForEarnBack):
    kind = serializers.ChoiceField(choices=["flat"])
    percent = _rule_number(required=False, allow_null=True, help_text="Either this…")
    amount = _rule_number(required=False, allow_null=True, help_text="…or a fixed amount.")


class PoolRuleSerializer(_HeldForEarnBack):
    kind = serializers.ChoiceField(choices=["pool"])
    allocation_percent = _rule_number(help_text="Share of the period's at-risk amount.")


CREDIT_RULE_SCHEMA = PolymorphicProxySerializer(
    component_name="CreditRule",
    serializers={
        "per_step": PerStepRuleSerializer,
        "tiered": TieredRuleSerializer,
        "linear": LinearRuleSerializer,
        "flat": FlatRuleSerializer,
        "pool": PoolRuleSerializer,
    },
    resource_type_field_name="kind",
)


@extend_schema_field(CREDIT_RULE_SCHEMA)
class CreditRuleField(serializers.Field):
    """A credit rule as the nested object ``{"kind", …parameters}`` of SPEC §5, or null.

    Parsed and normalised by the engine, so the API stores and returns its canonical
    JSON (decimals as strings)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any] | None:
        try:
            rule = engine.parse_rule(data)
        except engine.ParameterError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return rule.to_json() if rule is not None else None

    def to_representation(self, value: Any) -> Any:
        return rule_json(value)


def rule_json(value: Any) -> Any:
    """The stored rule in its canonical shape; a rule the engine cannot read is shown as
    stored rather than breaking the whole response."""
    try:
        rule = engine.parse_rule(value)
    except engine.ParameterError:
        return value
    return rule.to_json() if rule is not None else None


# Inline enums: the same choice sets as `comparator` and `level`, under another field name
# (spectacular would otherwise name one choice set twice).


@extend_schema_field(
    {"type": "string", "enum": [*ServiceLevel.Comparator.values, None], "description": "gte or lte"}
)
class ThresholdComparatorField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ServiceLevel.Comparator.choices, allow_null=True, **kwargs)


@extend_schema_field({"type": "string", "enum": ServiceLevel.Level.values})
class SourceLevelField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ServiceLevel.Level.choices, **kwargs)
