"""Browser pages of the credits app (included at "/" by slaportal/urls.py)."""

from django.urls import path

from credits import views
from credits.views import records, responsibilities, revisions, tickets, webhooks

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    # Settling by hand sits on the contract's own path, beside its other pages.
    path("contracts/<int:pk>/settle/", views.contract_settle, name="contract-settle"),
    path("statements/", views.statement_list, name="statement-list"),
    path("statements/export.csv", views.statement_export, name="statement-export"),
    path("statements/list.csv", views.statement_summary_export, name="statement-summary-export"),
    path("statements/<int:pk>/", views.statement_detail, name="statement-detail"),
    path("statements/<int:pk>/csv/", views.statement_csv, name="statement-csv"),
    path("statements/<int:pk>/pdf/", views.statement_pdf, name="statement-pdf"),
    path("lines/<int:line_id>/disputes/", views.dispute_open, name="dispute-open"),
    path("statements/<int:pk>/diff/", revisions.statement_diff, name="statement-diff"),
    path("lines/<int:line_id>/tickets/", tickets.line_tickets, name="line-tickets"),
    path("lines/<int:line_id>/<str:kind>.csv", records.line_records_csv, name="line-records-csv"),
    path("lines/<int:line_id>/<str:kind>/", records.line_records, name="line-records"),
    path("claims/", views.claim_list, name="claim-list"),
    path("claims/new/", views.claim_new, name="claim-new"),
    path("claims/<int:pk>/", views.claim_detail, name="claim-detail"),
    path("claims/<int:pk>/resolve/", views.claim_resolve, name="claim-resolve"),
    path("disputes/", views.dispute_list, name="dispute-list"),
    path("disputes/<int:pk>/resolve/", views.dispute_resolve, name="dispute-resolve"),
    path("disputes/<int:pk>/reopen/", views.dispute_reopen, name="dispute-reopen"),
    path(
        "objectives/<int:contract_service_id>/<slug:key>/",
        views.objective_detail,
        name="objective-detail",
    ),
    path("responsibilities/", views.responsibility_list, name="responsibility-list"),
    path(
        "responsibilities/<int:r_pk>/lapses/new/",
        responsibilities.lapse_record,
        name="lapse-record",
    ),
    path("lapses/<int:pk>/contest/", responsibilities.lapse_contest, name="lapse-contest"),
    path("lapses/<int:pk>/decide/", responsibilities.lapse_decide, name="lapse-decide"),
    path("notifications/", views.notification_inbox, name="notification-inbox"),
    path("notifications/read-all/", views.notification_read_all, name="notification-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("organizations/<slug:slug>/webhook/", webhooks.webhook_settings, name="webhook-settings"),
    path("organizations/<slug:slug>/webhooks/", webhooks.webhook_list, name="webhook-list"),
    path(
        "organizations/<slug:slug>/webhooks/<int:pk>/",
        webhooks.webhook_detail,
        name="webhook-detail",
    ),
    path(
        "organizations/<slug:slug>/webhooks/<int:pk>/test/",
        webhooks.webhook_test,
        name="webhook-test",
    ),
    path(
        "organizations/<slug:slug>/webhooks/<int:pk>/delete/",
        webhooks.webhook_delete,
        name="webhook-delete",
    ),
]
