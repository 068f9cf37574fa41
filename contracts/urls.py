"""Browser URLs of the provider pages (the landing page ``home`` is in slaportal.urls;
settling a contract by hand, ``contracts/<pk>/settle/``, is the credits app's)."""

from django.urls import path

from contracts import views
from contracts.views import calendars

c = "contracts/<int:pk>/"
cal = "providers/<slug:slug>/calendars/<int:calendar_pk>/"

urlpatterns = [
    path("contracts/", views.contract_list, name="contract-list"),
    path("contracts/new/", views.contract_create, name="contract-create"),
    path(c, views.contract_detail, name="contract-detail"),
    path(f"{c}edit/", views.contract_edit, name="contract-edit"),
    path(f"{c}schedule/", views.contract_schedule, name="contract-schedule"),
    path(f"{c}measurements/upload/", views.measurement_upload, name="measurement-upload"),
    # Services of the contract and their fees.
    path(f"{c}services/new/", views.contract_service_form, name="contract-service-create"),
    path(
        f"{c}services/<int:cs_pk>/edit/",
        views.contract_service_form,
        name="contract-service-edit",
    ),
    path(
        f"{c}services/<int:cs_pk>/remove/",
        views.contract_service_delete,
        name="contract-service-delete",
    ),
    # Objectives at the contract-wide (customer) and contract-service levels.
    path(f"{c}objectives/new/", views.contract_objective_form, name="contract-objective-create"),
    path(
        f"{c}objectives/<int:sl_pk>/edit/",
        views.contract_objective_form,
        name="contract-objective-edit",
    ),
    path(
        f"{c}objectives/<int:sl_pk>/delete/",
        views.contract_objective_delete,
        name="contract-objective-delete",
    ),
    path(
        f"{c}objectives/remove-inherited/",
        views.contract_objective_remove,
        name="contract-objective-remove",
    ),
    # The customer's responsibilities and their lapses.
    path(f"{c}responsibilities/new/", views.responsibility_form, name="responsibility-create"),
    path(
        f"{c}responsibilities/<int:r_pk>/edit/",
        views.responsibility_form,
        name="responsibility-edit",
    ),
    path(
        f"{c}responsibilities/<int:r_pk>/delete/",
        views.responsibility_delete,
        name="responsibility-delete",
    ),
    path(f"{c}responsibilities/<int:r_pk>/lapses/new/", views.lapse_form, name="lapse-create"),
    path(f"{c}lapses/<int:lapse_pk>/delete/", views.lapse_delete, name="lapse-delete"),
    # Exclusions: maintenance windows and incidents.
    path(f"{c}maintenance/new/", views.maintenance_form, name="maintenance-create"),
    path(f"{c}maintenance/<int:mw_pk>/edit/", views.maintenance_form, name="maintenance-edit"),
    path(
        f"{c}maintenance/<int:mw_pk>/delete/", views.maintenance_delete, name="maintenance-delete"
    ),
    path(f"{c}incidents/new/", views.incident_form, name="incident-create"),
    path(f"{c}incidents/<int:incident_pk>/edit/", views.incident_form, name="incident-edit"),
    path(f"{c}incidents/<int:incident_pk>/delete/", views.incident_delete, name="incident-delete"),
    # Provider-wide pages: the catalogue and the corporate and service-level objectives.
    path("providers/<slug:slug>/objectives/", views.objective_list, name="objective-list"),
    path("providers/<slug:slug>/objectives/new/", views.objective_form, name="objective-create"),
    path(
        "providers/<slug:slug>/objectives/<int:sl_pk>/edit/",
        views.objective_form,
        name="objective-edit",
    ),
    path(
        "providers/<slug:slug>/objectives/<int:sl_pk>/delete/",
        views.objective_delete,
        name="objective-delete",
    ),
    # The provider's service calendars and their closures.
    path("calendars/", calendars.calendar_home, name="calendar-home"),
    path("providers/<slug:slug>/calendars/", calendars.calendar_list, name="calendar-list"),
    path("providers/<slug:slug>/calendars/new/", calendars.calendar_form, name="calendar-create"),
    path(
        f"{cal}",
        calendars.calendar_detail,
        name="calendar-detail",
    ),
    path(f"{cal}edit/", calendars.calendar_form, name="calendar-edit"),
    path(f"{cal}delete/", calendars.calendar_delete, name="calendar-delete"),
    path(f"{cal}import/", calendars.calendar_import, name="calendar-import"),
    path(f"{cal}closures/new/", calendars.closure_add, name="closure-add"),
    path(
        f"{cal}closures/<int:closure_pk>/remove/",
        calendars.closure_remove,
        name="closure-remove",
    ),
    path("providers/<slug:slug>/services/", views.service_list, name="service-list"),
    path("providers/<slug:slug>/services/new/", views.service_form, name="service-create"),
    path(
        "providers/<slug:slug>/services/<int:service_pk>/edit/",
        views.service_form,
        name="service-edit",
    ),
]
