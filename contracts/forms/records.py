"""What the contract page records beside its objectives: the customer's responsibilities
and their lapses, maintenance windows and incidents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.forms.common import DateTimeInput, ModelErrorsMixin
from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Responsibility,
    ResponsibilityLapse,
    ServiceLevel,
)
from contracts.selectors import objectives_applying_to


def _objective_label(service_level: ServiceLevel) -> str:
    level = service_level.get_level_display().split(" (")[0].lower()
    in_force = "" if service_level.enabled else ", not in force"
    return f"{service_level.name} ({service_level.key}, {level}{in_force})"


class ResponsibilityForm(ModelErrorsMixin, forms.ModelForm):
    """An obligation of the customer and the objectives its lapses relieve."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = Responsibility
        fields = ["title", "description", "service_levels"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "service_levels": forms.CheckboxSelectMultiple,
        }
        labels = {
            "title": _("Title"),
            "description": _("Description"),
            "service_levels": _("Objectives it affects"),
        }
        help_texts = {
            "service_levels": _(
                "Incidents and samples of these objectives inside a lapse "
                "of this responsibility do not count against the provider."
            )
        }

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        # The selector's rule, so that the browser and the API offer the same objectives.
        self.fields["service_levels"].queryset = objectives_applying_to(contract)
        self.fields["service_levels"].label_from_instance = _objective_label


class ResponsibilityLapseForm(ModelErrorsMixin, forms.ModelForm):
    """An interval in which the customer did not meet a responsibility."""

    class Meta:
        model = ResponsibilityLapse
        fields = ["start", "end", "note"]
        labels = {"start": _("Start"), "end": _("End"), "note": _("Note")}
        widgets = {
            "start": DateTimeInput(),
            "end": DateTimeInput(),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, responsibility: Responsibility, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.responsibility = responsibility


class MaintenanceWindowForm(ModelErrorsMixin, forms.ModelForm):
    """Scheduled maintenance: excluded from scheduled time."""

    validated_instance_fields = ("contract",)

    class Meta:
        model = MaintenanceWindow
        fields = ["contract_service", "start", "end", "description"]
        widgets = {"start": DateTimeInput(), "end": DateTimeInput()}
        labels = {
            "contract_service": _("Service"),
            "start": _("Start"),
            "end": _("End"),
            "description": _("Description"),
        }

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.contract = contract
        field = self.fields["contract_service"]
        field.queryset = ContractService.objects.filter(contract=contract).select_related("service")
        field.empty_label = _("Every service of the contract")
        field.label_from_instance = lambda cs: cs.service.name


class IncidentForm(ModelErrorsMixin, forms.ModelForm):
    """An outage; only provider-caused incidents count against uptime."""

    class Meta:
        model = Incident
        fields = ["contract_service", "key", "started_at", "ended_at", "cause", "description"]
        widgets = {
            "started_at": DateTimeInput(),
            "ended_at": DateTimeInput(),
            "description": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "contract_service": _("Service"),
            "key": _("Objective key"),
            "started_at": _("Started at"),
            "ended_at": _("Ended at"),
            "cause": _("Cause"),
            "description": _("Description"),
        }
        help_texts = {"key": _("The uptime objective it counts against.")}

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contract_service"]
        field.queryset = ContractService.objects.filter(contract=contract).select_related("service")
        field.label_from_instance = lambda cs: cs.service.name
