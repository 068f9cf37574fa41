"""A provider's services, its contracts and the services each contract includes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from rest_framework import serializers

from contracts.api.serializers.terms import TermsEditMixin
from contracts.models import Contract, ContractService, Organization, Service
from contracts.querysets import organizations_edited_by
from slaportal.api.fields import MoneyField, ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer

if TYPE_CHECKING:
    from contracts.querysets import User


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
            "minimum_credit",
            "settlement_delay_days",
            "claim_window_days",
            "ticket_priorities",
            "created_at",
        ]


class ContractTotalsSerializer(serializers.Serializer):
    """The contract list's totals in one currency (two currencies are never added)."""

    currency = serializers.CharField()
    contracts = serializers.IntegerField(help_text="How many contracts the filters keep.")
    credits = MoneyField(
        currency="currency",
        help_text="Their payable credits: of the periods overlapping period_from to period_to "
        "(the latest revision of each), or of this year's periods without a range.",
    )


class ContractServiceSerializer(TermsEditMixin, ValidatedModelSerializer):
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
        fields = [
            "id",
            "contract",
            "service",
            "fee",
            "service_code",
            "service_name",
            "change",
            "effective_from",
            "change_note",
        ]
