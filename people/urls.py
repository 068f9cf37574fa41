"""Browser URLs of the people app (included at "/" by slaportal/urls.py)."""

from django.urls import path

from people import views

urlpatterns = [
    path("invitations/", views.invitation_list, name="invitation-list"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation-resend"),
    # The signed token holds a colon-separated value and signature: any path segment.
    path("invitations/accept/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("organizations/<slug:slug>/members/", views.member_list, name="member-list"),
    path(
        "organizations/<slug:slug>/members/<int:member_pk>/",
        views.member_change,
        name="member-change",
    ),
    path("account/organization/", views.organization_switch, name="organization-switch"),
    path("account/preferences/", views.reading_preferences, name="account-preferences"),
    path("account/notifications/", views.preferences, name="notification-preferences"),
    path("account/tokens/", views.token_list, name="token-list"),
]
