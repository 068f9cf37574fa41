"""Writes of the contracts app. Views, serializers, forms, admin and tasks call these.

Each job has its module; the names callers use are importable from here, so
``from contracts import services`` then ``services.save_contract(...)`` keeps reading the
same wherever a write lives.
"""

from contracts.services.calendars import (
    IcsImport,
    add_closure,
    create_calendar,
    delete_calendar,
    import_ics,
    remove_closure,
    save_calendar,
    save_closure,
    update_calendar,
)
from contracts.services.contracts import (
    delete_contract,
    delete_service,
    remove_contract_service,
    save_contract,
    save_contract_service,
    save_service,
    terminate_contract,
)
from contracts.services.measurement_csv import CsvRejected, CsvRowError, record_measurements_csv
from contracts.services.measurements import (
    MAX_BATCH,
    MEASUREMENT_FIELDS,
    BatchRejected,
    ItemError,
    delete_measurements,
    record_measurements,
)
from contracts.services.objectives import (
    delete_service_level,
    remove_inherited_service_level,
    save_service_level,
)
from contracts.services.parties import (
    delete_membership,
    delete_organization,
    save_membership,
    save_organization,
)
from contracts.services.records import (
    delete_incident,
    delete_maintenance_window,
    incident_problems,
    record_incidents,
    save_incident,
    save_incident_ends,
    save_maintenance_window,
)
from contracts.services.responsibilities import (
    contest_lapse,
    delete_lapse,
    delete_responsibility,
    record_lapse,
    resolve_lapse_contest,
    save_lapse,
    save_responsibility,
)
from contracts.services.tickets import TicketsRecorded, delete_tickets, record_tickets

__all__ = [
    "MAX_BATCH",
    "MEASUREMENT_FIELDS",
    "BatchRejected",
    "CsvRejected",
    "CsvRowError",
    "IcsImport",
    "ItemError",
    "TicketsRecorded",
    "add_closure",
    "contest_lapse",
    "create_calendar",
    "delete_calendar",
    "delete_contract",
    "delete_incident",
    "delete_lapse",
    "delete_maintenance_window",
    "delete_measurements",
    "delete_membership",
    "delete_organization",
    "delete_responsibility",
    "delete_service",
    "delete_service_level",
    "delete_tickets",
    "import_ics",
    "incident_problems",
    "record_incidents",
    "record_lapse",
    "record_measurements",
    "record_measurements_csv",
    "record_tickets",
    "remove_closure",
    "remove_contract_service",
    "remove_inherited_service_level",
    "resolve_lapse_contest",
    "save_calendar",
    "save_closure",
    "save_contract",
    "save_contract_service",
    "save_incident",
    "save_incident_ends",
    "save_lapse",
    "save_maintenance_window",
    "save_membership",
    "save_organization",
    "save_responsibility",
    "save_service",
    "save_service_level",
    "terminate_contract",
    "update_calendar",
]
