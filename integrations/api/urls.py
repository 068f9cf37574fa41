"""Routes of the integrations API, under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter()
router.register("integration-receivers", views.ReceiverViewSet, basename="integrationreceiver")
router.register("alert-mappings", views.AlertMappingViewSet, basename="alertmapping")
router.register("prometheus-sources", views.PrometheusSourceViewSet, basename="prometheussource")
router.register("prometheus-pulls", views.PrometheusPullViewSet, basename="prometheuspull")
router.register("integration-events", views.IntegrationEventViewSet, basename="integrationevent")

urlpatterns = [
    path("openslo/import/", views.OpenSLOImportView.as_view(), name="openslo-import"),
    path("openslo/export/", views.OpenSLOExportView.as_view(), name="openslo-export"),
    *router.urls,
]
