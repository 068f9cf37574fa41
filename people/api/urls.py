"""Routes of the people API, under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from people.api import views

router = SimpleRouter()
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register(
    "notification-preferences", views.PreferenceViewSet, basename="notificationpreference"
)
router.register("tokens", views.TokenViewSet, basename="token")

urlpatterns = [
    path("me/preferences/", views.ReadingChoicesView.as_view(), name="my-preferences"),
    *router.urls,
]
