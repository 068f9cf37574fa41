"""Serializers of the contracts API: the SPEC §5 shapes, validated by the models.

Each resource has its module; the names the views and the credits API use are
importable from here (``from contracts.api import serializers``).
"""

from contracts.api.serializers.contracts import (
    ContractSerializer,
    ContractServiceSerializer,
    ContractTotalsSerializer,
    ServiceSerializer,
    providers_edited_by,
)
from contracts.api.serializers.measurements import (
    MeasurementBatchSerializer,
    MeasurementErrorSerializer,
    MeasurementInputSerializer,
    MeasurementsCreatedSerializer,
    MeasurementSerializer,
    MeasurementsRejectedSerializer,
)
from contracts.api.serializers.objectives import (
    EffectiveContractServiceSerializer,
    EffectiveServiceLevelSerializer,
    ServiceLevelSerializer,
    describe_service_level,
    effective_service_levels_json,
)
from contracts.api.serializers.parties import MembershipSerializer, OrganizationSerializer
from contracts.api.serializers.records import IncidentSerializer, MaintenanceWindowSerializer
from contracts.api.serializers.responsibilities import (
    LapseContestSerializer,
    LapseDecisionSerializer,
    ResponsibilityLapseSerializer,
    ResponsibilitySerializer,
)
from contracts.api.serializers.rules import (
    CreditRuleField,
    SourceLevelField,
    ThresholdComparatorField,
    rule_json,
)
from contracts.api.serializers.tickets import (
    TicketBatchSerializer,
    TicketErrorSerializer,
    TicketEventSerializer,
    TicketInputSerializer,
    TicketSerializer,
    TicketsRecordedSerializer,
    TicketsRejectedSerializer,
)

__all__ = [
    "ContractSerializer",
    "ContractServiceSerializer",
    "ContractTotalsSerializer",
    "CreditRuleField",
    "EffectiveContractServiceSerializer",
    "EffectiveServiceLevelSerializer",
    "IncidentSerializer",
    "LapseContestSerializer",
    "LapseDecisionSerializer",
    "MaintenanceWindowSerializer",
    "MeasurementBatchSerializer",
    "MeasurementErrorSerializer",
    "MeasurementInputSerializer",
    "MeasurementSerializer",
    "MeasurementsCreatedSerializer",
    "MeasurementsRejectedSerializer",
    "MembershipSerializer",
    "OrganizationSerializer",
    "ResponsibilityLapseSerializer",
    "ResponsibilitySerializer",
    "ServiceLevelSerializer",
    "ServiceSerializer",
    "SourceLevelField",
    "ThresholdComparatorField",
    "TicketBatchSerializer",
    "TicketErrorSerializer",
    "TicketEventSerializer",
    "TicketInputSerializer",
    "TicketSerializer",
    "TicketsRecordedSerializer",
    "TicketsRejectedSerializer",
    "describe_service_level",
    "effective_service_levels_json",
    "providers_edited_by",
    "rule_json",
]
