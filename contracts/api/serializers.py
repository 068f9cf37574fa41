"""Serializers of the contracts API: the SPEC §5 shapes, validated by the models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

import engine
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.querysets import is_anonymous, organizations_edited_by
from contracts.selectors import objectives_applying_to
from contracts.services import MAX_BATCH, record_lapse
from slaportal.api.errors import api_errors
from slaportal.api.fields import MoneyField, PlainDecimalField, ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer

if TYPE_CHECKING:
    from contracts.querysets import User

# --------------------------------------------------------------------------- credit rules
# These describe the rule shapes of SPEC §5 for the schema; the engine parses and checks.


def _rule_number(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=27, decimal_places=12, **kwargs)


class PerStepRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["per_step"])
    step = _rule_number(help_text="Points of shortfall per step; every started step counts.")
    percent = _rule_number(help_text="Percent of the fee credited per step.")
    max_percent = _rule_number(required=False, allow_null=True)


class TierSerializer(serializers.Serializer):
    bound = _rule_number()
    percent = _rule_number()


class TieredRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["tiered"])
    tiers = TierSerializer(
        many=True, help_text="From the mildest breach to the worst; the largest crossed wins."
    )


class LinearRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["linear"])
    factor = _rule_number(help_text="Percent of the fee per point of shortfall.")
    max_percent = _rule_number(required=False, allow_null=True)


class FlatRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["flat"])
    percent = _rule_number(required=False, allow_null=True, help_text="Either this…")
    amount = _rule_number(required=False, allow_null=True, help_text="…or a fixed amount.")


class PoolRuleSerializer(serializers.Serializer):
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


# --------------------------------------------------------------------------- organisations


class OrganizationSerializer(ValidatedModelSerializer):
    immutable_fields = ("slug", "kind")

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "webhook_url", "webhook_secret", "created_at"]
        extra_kwargs = {
            "webhook_secret": {"write_only": True},
            "webhook_url": {"help_text": "Shown only to the organisation's admins."},
        }

    def _administered(self) -> set[int]:
        ids = self.context.get("_administered_org_ids")
        if ids is None:
            user = self.user
            ids = set()
            if not is_anonymous(user):
                ids = set(
                    Membership.objects.filter(user_id=user.pk, role="admin").values_list(
                        "organization_id", flat=True
                    )
                )
            self.context["_administered_org_ids"] = ids
        return ids

    def to_representation(self, instance: Organization) -> dict[str, Any]:
        data = super().to_representation(instance)
        user = self.user
        # Where a counterparty receives its events is its own business.
        if not (user is not None and user.is_staff) and instance.pk not in self._administered():
            data["webhook_url"] = ""
        return data


class MembershipSerializer(ValidatedModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope="editable")
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, max_length=128
    )
    immutable_fields = ("organization", "username", "email", "password")

    class Meta:
        model = Membership
        fields = ["id", "organization", "user", "username", "email", "password", "role"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            return super().validate(attrs)
        # A new member is a new user: Django's own validators judge name and password.
        user_fields = attrs.pop("user")
        password = attrs.pop("password")
        user = get_user_model()(
            username=user_fields["username"], email=user_fields.get("email", "")
        )
        errors: dict[str, Any] = {}
        try:
            user.full_clean(exclude=["password"])
        except DjangoValidationError as exc:
            errors.update(api_errors(exc))
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
        if errors:
            raise serializers.ValidationError(errors)
        user.set_password(password)
        self._new_user = user
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Membership:
        with transaction.atomic():
            user = self._new_user
            user.save()
            membership = Membership(user=user, **validated_data)
            membership.full_clean()
            membership.save()
        return membership


# --------------------------------------------------------------------------- services, contracts


def providers_edited_by(user: User | None) -> QuerySet[Organization]:
    """The providers a service, a contract or an objective may name as its provider."""
    return organizations_edited_by(user, Organization.Kind.PROVIDER)


class ServiceSerializer(ValidatedModelSerializer):
    provider = ScopedPrimaryKeyRelatedField(model=Organization, scope=providers_edited_by)
    immutable_fields = ("provider",)

    class Meta:
        model = Service
        fields = ["id", "provider", "code", "name", "description"]


class ContractSerializer(ValidatedModelSerializer):
    provider = ScopedPrimaryKeyRelatedField(model=Organization, scope=providers_edited_by)
    customer = ScopedPrimaryKeyRelatedField(model=Organization, scope="visible")
    # The parties never change: the customer's statements must stay the customer's.
    immutable_fields = ("provider", "customer")

    class Meta:
        model = Contract
        fields = [
            "id",
            "provider",
            "customer",
            "reference",
            "title",
            "currency",
            "start_date",
            "end_date",
            "status",
            "settlement_period",
            "timezone",
            "credit_cap_percent",
            "settlement_delay_days",
            "created_at",
        ]


class ContractServiceSerializer(ValidatedModelSerializer):
    contract = ScopedPrimaryKeyRelatedField(model=Contract)
    service = ScopedPrimaryKeyRelatedField(model=Service)
    fee = MoneyField(
        currency="contract.currency",
        max_digits=16,
        decimal_places=3,
        min_value=0,
        help_text="Per settlement period, in the contract's currency.",
    )
    service_code = serializers.CharField(source="service.code", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    immutable_fields = ("contract", "service")

    class Meta:
        model = ContractService
        fields = ["id", "contract", "service", "fee", "service_code", "service_name"]


# --------------------------------------------------------------------------- service levels

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


class ServiceLevelSerializer(ValidatedModelSerializer):
    provider = ScopedPrimaryKeyRelatedField(
        model=Organization,
        scope=providers_edited_by,
        required=False,
        help_text="May be omitted where the contract or service implies it.",
    )
    contract = ScopedPrimaryKeyRelatedField(model=Contract, required=False, allow_null=True)
    service = ScopedPrimaryKeyRelatedField(model=Service, required=False, allow_null=True)
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
            "description",
        ]

    def get_description(self, service_level: ServiceLevel) -> str:
        return describe_service_level(service_level)


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


class ResponsibilityLapseSerializer(ValidatedModelSerializer):
    responsibility = ScopedPrimaryKeyRelatedField(model=Responsibility)
    recorded_by = serializers.IntegerField(source="recorded_by_id", read_only=True, allow_null=True)
    immutable_fields = ("responsibility",)

    class Meta:
        model = ResponsibilityLapse
        fields = ["id", "responsibility", "start", "end", "note", "recorded_by", "recorded_at"]

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


class MaintenanceWindowSerializer(ValidatedModelSerializer):
    contract = ScopedPrimaryKeyRelatedField(model=Contract)
    contract_service = ScopedPrimaryKeyRelatedField(
        model=ContractService,
        required=False,
        allow_null=True,
        help_text="Empty for every service of the contract.",
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "contract", "contract_service", "start", "end", "description"]


class IncidentSerializer(ValidatedModelSerializer):
    contract_service = ScopedPrimaryKeyRelatedField(model=ContractService)

    class Meta:
        model = Incident
        fields = [
            "id",
            "contract_service",
            "key",
            "started_at",
            "ended_at",
            "cause",
            "description",
        ]


# --------------------------------------------------------------------------- measurements


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
    target_class = "contracts.api.serializers.MeasurementBatchSerializer"

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


# --------------------------------------------------------------------------- effective levels


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


class SettleSerializer(serializers.Serializer):
    period_start = serializers.DateField(
        help_text="First day of the period to settle, e.g. 2026-10-01 for October."
    )
