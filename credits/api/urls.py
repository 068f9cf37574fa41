"""Routes of the credits API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from credits.api import views

router = SimpleRouter()
router.register("statements", views.StatementViewSet, basename="statement")
router.register("disputes", views.DisputeViewSet, basename="dispute")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
