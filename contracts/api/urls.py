"""Routes of the contracts API, under /api/v1/ (basenames as listed by the API root)."""

from rest_framework.routers import SimpleRouter

from contracts.api import views

router = SimpleRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("members", views.MembershipViewSet, basename="membership")
router.register("services", views.ServiceViewSet, basename="service")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("contract-services", views.ContractServiceViewSet, basename="contractservice")
router.register("service-levels", views.ServiceLevelViewSet, basename="servicelevel")
router.register("service-calendars", views.ServiceCalendarViewSet, basename="servicecalendar")
router.register("calendar-closures", views.CalendarClosureViewSet, basename="calendarclosure")
router.register("responsibilities", views.ResponsibilityViewSet, basename="responsibility")
router.register(
    "responsibility-lapses", views.ResponsibilityLapseViewSet, basename="responsibilitylapse"
)
router.register("maintenance-windows", views.MaintenanceWindowViewSet, basename="maintenancewindow")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("measurements", views.MeasurementViewSet, basename="measurement")
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = router.urls
