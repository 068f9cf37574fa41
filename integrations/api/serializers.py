"""Serializers of the integrations API. Each is validated by its model (``full_clean``)
and saved through the integrations services."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import reverse
from rest_framework import serializers

from contracts.models import Contract, ContractService, Organization
from contracts.querysets import organizations_edited_by
from integrations import secrets, services
from integrations.models import (
    AlertMapping,
    IntegrationEvent,
    PrometheusPull,
    PrometheusSource,
    Receiver,
)
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer


def _providers(user: Any) -> models.QuerySet:
    return organizations_edited_by(user, Organization.Kind.PROVIDER)


class ReceiverSerializer(ValidatedModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope=_providers)
    url = serializers.SerializerMethodField(
        help_text="Where the monitoring or ticket system posts."
    )
    token = serializers.SerializerMethodField(
        help_text="The secret token: shown only in the answer that created or replaced it."
    )
    acting_user = serializers.StringRelatedField(read_only=True)

    immutable_fields = ("organization", "kind")

    class Meta:
        model = Receiver
        fields = [
            "id",
            "organization",
            "kind",
            "name",
            "url",
            "token",
            "token_hint",
            "ticket_format",
            "ticket_settings",
            "acting_user",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["token_hint", "created_at"]

    def get_url(self, receiver: Receiver) -> str:
        path = reverse("integration-hook", args=[str(receiver.public_id)])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_token(self, receiver: Receiver) -> str | None:
        return getattr(receiver, "new_token", None)

    def prepare_instance(self, instance: Receiver) -> None:
        # A ticket receiver writes tickets with the rights of the editor who last saved it:
        # saving it again is how another editor takes over from one who left.
        if instance.kind == Receiver.Kind.TICKETS:
            instance.acting_user = self.user

    def create(self, validated_data: dict[str, Any]) -> Receiver:
        receiver, token = services.create_receiver(receiver=self._validated_instance)
        receiver.new_token = token
        return receiver

    def update(self, instance: Receiver, validated_data: dict[str, Any]) -> Receiver:
        return services.save_receiver(receiver=self._validated_instance)


class AlertMappingSerializer(ValidatedModelSerializer):
    receiver = ScopedPrimaryKeyRelatedField(model=Receiver)
    contract_service = ScopedPrimaryKeyRelatedField(model=ContractService)

    immutable_fields = ("receiver",)

    class Meta:
        model = AlertMapping
        fields = ["id", "receiver", "matchers", "contract_service", "key", "created_at"]
        read_only_fields = ["created_at"]

    def create(self, validated_data: dict[str, Any]) -> AlertMapping:
        return services.save_mapping(mapping=self._validated_instance)

    def update(self, instance: AlertMapping, validated_data: dict[str, Any]) -> AlertMapping:
        return services.save_mapping(mapping=self._validated_instance)


class PrometheusSourceSerializer(ValidatedModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope=_providers)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=4000,
        help_text="The bearer token or password, stored encrypted and never shown; an empty "
        "text removes it. Or name an environment variable in secret_env.",
    )
    has_secret = serializers.BooleanField(read_only=True)

    immutable_fields = ("organization",)

    class Meta:
        model = PrometheusSource
        fields = [
            "id",
            "organization",
            "name",
            "base_url",
            "auth",
            "username",
            "secret",
            "secret_env",
            "has_secret",
            "timeout_seconds",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._secret = attrs.pop("secret", None)
        return super().validate(attrs)

    def prepare_instance(self, instance: PrometheusSource) -> None:
        if self._secret is not None:
            instance.secret_encrypted = secrets.encrypt(self._secret) if self._secret else ""

    def create(self, validated_data: dict[str, Any]) -> PrometheusSource:
        return services.save_source(source=self._validated_instance)

    def update(self, instance: PrometheusSource, validated_data: dict[str, Any]) -> Any:
        return services.save_source(source=self._validated_instance)


class PrometheusPullSerializer(ValidatedModelSerializer):
    source = ScopedPrimaryKeyRelatedField(model=PrometheusSource)
    contract_service = ScopedPrimaryKeyRelatedField(model=ContractService)

    immutable_fields = ("source",)

    class Meta:
        model = PrometheusPull
        fields = [
            "id",
            "source",
            "contract_service",
            "key",
            "query",
            "step_seconds",
            "start_at",
            "enabled",
            "pulled_until",
            "next_attempt_at",
            "failures",
            "last_attempt_at",
            "last_success_at",
            "last_error",
            "samples_recorded",
            "samples_refused",
            "last_refusal",
        ]
        read_only_fields = [
            "pulled_until",
            "next_attempt_at",
            "failures",
            "last_attempt_at",
            "last_success_at",
            "last_error",
            "samples_recorded",
            "samples_refused",
            "last_refusal",
        ]

    def create(self, validated_data: dict[str, Any]) -> PrometheusPull:
        return services.save_pull(pull=self._validated_instance)

    def update(self, instance: PrometheusPull, validated_data: dict[str, Any]) -> PrometheusPull:
        return services.save_pull(pull=self._validated_instance)


class IntegrationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntegrationEvent
        fields = [
            "id",
            "organization",
            "channel",
            "receiver",
            "pull",
            "at",
            "outcome",
            "test",
            "summary",
            "result",
            "refusals",
        ]
        read_only_fields = fields


class OpenSLOImportSerializer(serializers.Serializer):
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope=_providers)
    contract = ScopedPrimaryKeyRelatedField(
        model=Contract, required=False, allow_null=True, help_text="Empty: service level."
    )
    document = serializers.CharField(
        trim_whitespace=False, max_length=1_000_000, help_text="OpenSLO v1 YAML."
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="True (default): only the preview; false: import."
    )

    def validate_document(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Cannot contain NUL characters.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        contract = attrs.get("contract")
        if contract is not None and contract.provider_id != attrs["organization"].pk:
            raise serializers.ValidationError(
                {"contract": ["The contract belongs to another provider."]}
            )
        return attrs
