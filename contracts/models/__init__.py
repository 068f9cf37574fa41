"""Organisations, contracts, service levels, responsibilities and measurements.

The invariants that a database can hold live in the models as constraints; the ones it
cannot (a contract's provider must be a provider, a credit rule must be well-formed) live
in ``clean()``, which every interface reaches through ``full_clean()``.

Each model lives in the module of its job; importing them all here is what lets Django
find them and lets callers write ``from contracts.models import Contract``.
"""

from contracts.models.contracts import Contract, ContractService, Service
from contracts.models.measurements import Measurement
from contracts.models.objectives import ServiceLevel
from contracts.models.parties import Membership, Organization
from contracts.models.records import Incident, MaintenanceWindow
from contracts.models.responsibilities import Responsibility, ResponsibilityLapse

__all__ = [
    "Contract",
    "ContractService",
    "Incident",
    "MaintenanceWindow",
    "Measurement",
    "Membership",
    "Organization",
    "Responsibility",
    "ResponsibilityLapse",
    "Service",
    "ServiceLevel",
]
