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
    path("contracts/<int:pk>/openslo.yaml", views.openslo_export, name="openslo-export"),
]
