"""Organisations, contracts, service levels, calendars, responsibilities, measurements
and tickets.

The invariants that a database can hold live in the models as constraints; the ones it
cannot (a contract's provider must be a provider, a credit rule must be well-formed) live
in ``clean()``, which every interface reaches through ``full_clean()``.

Each model lives in the module of its job; importing them all here is what lets Django
find them and lets callers write ``from contracts.models import Contract``.
"""

from contracts.models.calendars import CalendarClosure, ServiceCalendar
from contracts.models.contracts import Contract, ContractService, Service
from contracts.models.measurements import Measurement, MeasurementRollup, ThresholdRollup
from contracts.models.objectives import ServiceLevel
from contracts.models.parties import Membership, Organization
from contracts.models.records import Incident, MaintenanceWindow
from contracts.models.responsibilities import Responsibility, ResponsibilityLapse
from contracts.models.settled import SettledThrough
from contracts.models.terms import TermsChange
from contracts.models.tickets import Ticket, TicketClock, TicketClockSet, TicketEvent

__all__ = [
    "CalendarClosure",
    "Contract",
    "ContractService",
    "Incident",
    "MaintenanceWindow",
    "Measurement",
    "MeasurementRollup",
    "Membership",
    "Organization",
    "Responsibility",
    "ResponsibilityLapse",
    "Service",
    "ServiceCalendar",
    "ServiceLevel",
    "SettledThrough",
    "TermsChange",
    "ThresholdRollup",
    "Ticket",
    "TicketClock",
    "TicketClockSet",
    "TicketEvent",
]
