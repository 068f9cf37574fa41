"""Maintenance windows and incidents of a contract's services."""

from __future__ import annotations

from contracts.models import Contract, ContractService, Incident, MaintenanceWindow
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer


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
