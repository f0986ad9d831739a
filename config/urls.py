from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import health
from integrations.metrics import metrics_view

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Users and roles (groups) only: secrets-bearing models are deliberately not registered.
    path("admin/", admin.site.urls),
    path("hooks/", include("integrations.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("dashboard.urls")),
]

if settings.SANDBOX:
    urlpatterns += [path("sandbox/", include("integrations.sandbox.urls"))]
