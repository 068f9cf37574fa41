"""Routes of the credits API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from credits.api import views, webhooks
from credits.api.claims import ClaimViewSet
from credits.api.records import StatementLineRecordsViewSet

router = SimpleRouter()
router.register("statements", views.StatementViewSet, basename="statement")
# Only the detail action settle/: the contract itself is the contracts API's.
router.register("contracts", views.ContractSettlementViewSet, basename="contract")
# A line's drill-down: statement-lines/{id}/samples|incidents|lapses|tickets/.
router.register("statement-lines", StatementLineRecordsViewSet, basename="statementline")
router.register("disputes", views.DisputeViewSet, basename="dispute")
router.register("claims", ClaimViewSet, basename="claim")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")

urlpatterns = router.urls
