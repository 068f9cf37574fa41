from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from contracts import views as contract_views
from slaportal.api.views import api_root, obtain_token
from slaportal.forms import AdminLoginForm, LoginForm
from slaportal.observability.health import PortalHealthView, WebHealthView, WorkersHealthView
from slaportal.observability.metrics import metrics_view
from slaportal.views import PortalLogoutView, favicon

api_v1 = [
    path("", api_root, name="api-root"),
    path("auth/token/", obtain_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:api-schema"), name="api-docs"),
    path("", include("contracts.api.urls")),
    path("", include("credits.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("people.api.urls")),
]

admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("healthz/", PortalHealthView.as_view(), name="healthz"),
    path("healthz/web/", WebHealthView.as_view(), name="healthz-web"),
    path("healthz/workers/", WorkersHealthView.as_view(), name="healthz-workers"),
    path("metrics", metrics_view, name="metrics"),
    path("", contract_views.home, name="home"),
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", PortalLogoutView.as_view(), name="logout"),
    # Pages outside the layout (the admin's) ask for /favicon.ico.
    path("favicon.ico", favicon, name="favicon"),
    # set_language: the language switch of people not signed in (the login page).
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Namespaced so that API route names never collide with the browser pages' names.
    path("api/v1/", include((api_v1, "api"))),
    path("", include("contracts.urls")),
    path("", include("credits.urls")),
    path("", include("integrations.urls")),
    path("", include("people.urls")),
]

# Under /api/ Django's own errors answer in the API's JSON shape (slaportal.api.errors).
handler400 = "slaportal.api.errors.bad_request"
handler403 = "slaportal.api.errors.permission_denied"
handler404 = "slaportal.api.errors.page_not_found"
handler500 = "slaportal.api.errors.server_error"
