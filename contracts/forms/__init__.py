"""Browser forms of the provider pages.

Every form is a ``ModelForm``, so the model's ``full_clean()`` (field validators,
``clean()`` and constraints) speaks for the browser exactly as it does for the API and
the admin. Model errors keyed on fields the form does not show (the contract, the
provider, the credit rule as a whole) are routed to the input that caused them: a credit
rule error carries the rule parameter's name in its code, so it lands beside that input.

One module per job: ``common`` (inputs and error routing), ``contracts`` (catalogue,
header, a contract's services, settling by hand), ``objectives`` (objectives and credit
rules), ``records`` (responsibilities, lapses, maintenance windows, incidents),
``measurements`` (CSV upload).
"""

from contracts.forms.contracts import ContractForm, ContractServiceForm, ServiceForm, SettleForm
from contracts.forms.measurements import MeasurementUploadForm
from contracts.forms.objectives import ServiceLevelForm
from contracts.forms.records import (
    IncidentForm,
    MaintenanceWindowForm,
    ResponsibilityForm,
    ResponsibilityLapseForm,
)

__all__ = [
    "ContractForm",
    "ContractServiceForm",
    "IncidentForm",
    "MaintenanceWindowForm",
    "MeasurementUploadForm",
    "ResponsibilityForm",
    "ResponsibilityLapseForm",
    "ServiceForm",
    "ServiceLevelForm",
    "SettleForm",
]
