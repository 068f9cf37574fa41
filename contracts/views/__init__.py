"""Browser pages of the contracts app: what provider staff use to run their agreements.

Reads start from ``Model.objects.visible_to(user)``, writes from ``editable_by(user)``:
outside a user's scope a page is 404 (the same answer as "does not exist"); inside it
without the editor role a write is 403. Writes go through ``contracts.services`` so the
browser, the API and the admin apply the same rules with the same messages. What only
settlement knows (credits, statements, the settle form, the what-if preview) comes
through ``contracts.hooks``.

One module per group of pages: ``contracts`` (list, header, contract page, schedule),
``catalogue`` (a contract's services and the provider's), ``objectives``,
``responsibilities`` (and their lapses), ``records`` (maintenance windows, incidents),
``measurements`` (CSV upload).
"""

from contracts.views.catalogue import (
    contract_service_delete,
    contract_service_form,
    service_form,
    service_list,
)
from contracts.views.contracts import (
    contract_create,
    contract_detail,
    contract_edit,
    contract_list,
    contract_schedule,
    home,
)
from contracts.views.measurements import measurement_upload
from contracts.views.objectives import (
    contract_objective_delete,
    contract_objective_form,
    contract_objective_remove,
    objective_delete,
    objective_form,
    objective_list,
)
from contracts.views.records import (
    incident_delete,
    incident_form,
    maintenance_delete,
    maintenance_form,
)
from contracts.views.responsibilities import (
    lapse_delete,
    lapse_form,
    responsibility_delete,
    responsibility_form,
)

__all__ = [
    "contract_create",
    "contract_detail",
    "contract_edit",
    "contract_list",
    "contract_objective_delete",
    "contract_objective_form",
    "contract_objective_remove",
    "contract_schedule",
    "contract_service_delete",
    "contract_service_form",
    "home",
    "incident_delete",
    "incident_form",
    "lapse_delete",
    "lapse_form",
    "maintenance_delete",
    "maintenance_form",
    "measurement_upload",
    "objective_delete",
    "objective_form",
    "objective_list",
    "responsibility_delete",
    "responsibility_form",
    "service_form",
    "service_list",
]
