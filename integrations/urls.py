"""Browser URLs of the integrations, and the receivers' webhook endpoint."""

from django.urls import path

from integrations import views

o = "providers/<slug:slug>/integrations/"

urlpatterns = [
    path("hooks/<str:public_id>/", views.hook, name="integration-hook"),
    path("integrations/", views.integrations_home, name="integrations-home"),
    path(o, views.integrations_page, name="integrations"),
    path(
        f"{o}receivers/<int:receiver_pk>/test/",
        views.send_test_event,
        name="integration-test-event",
    ),
    path(f"{o}pulls/<int:pull_pk>/test/", views.test_pull, name="integration-test-pull"),
    path(f"{o}openslo/", views.openslo_import, name="openslo-import"),
    # Setting up receivers, their alert mappings, Prometheus sources and pulls.
    path(f"{o}receivers/new/<str:kind>/", views.receiver_create, name="receiver-create"),
    path(f"{o}receivers/<int:receiver_pk>/edit/", views.receiver_edit, name="receiver-edit"),
    path(
        f"{o}receivers/<int:receiver_pk>/rotate-token/",
        views.receiver_rotate,
        name="receiver-rotate",
    ),
    path(f"{o}receivers/<int:receiver_pk>/delete/", views.receiver_delete, name="receiver-delete"),
    path(
        f"{o}receivers/<int:receiver_pk>/mappings/new/",
        views.mapping_form,
        name="alert-mapping-create",
    ),
    path(
        f"{o}receivers/<int:receiver_pk>/mappings/<int:mapping_pk>/edit/",
        views.mapping_form,
        name="alert-mapping-edit",
    ),
    path(
        f"{o}receivers/<int:receiver_pk>/mappings/<int:mapping_pk>/delete/",
        views.mapping_delete,
        name="alert-mapping-delete",
    ),
    path(f"{o}sources/new/", views.source_form, name="prometheus-source-create"),
    path(f"{o}sources/<int:source_pk>/edit/", views.source_form, name="prometheus-source-edit"),
    path(
        f"{o}sources/<int:source_pk>/delete/",
        views.source_delete,
        name="prometheus-source-delete",
    ),
    path(f"{o}pulls/new/", views.pull_form, name="prometheus-pull-create"),
    path(f"{o}pulls/<int:pull_pk>/edit/", views.pull_form, name="prometheus-pull-edit"),
    path(f"{o}pulls/<int:pull_pk>/delete/", views.pull_delete, name="prometheus-pull-delete"),
    path("contracts/<int:pk>/openslo.yaml", views.openslo_export, name="openslo-export"),
]
