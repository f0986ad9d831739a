"""The staff dashboard: the Overview, and one section per page of the navigation."""

from django.urls import include, path

from .overview import views as overview

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("connections/", include("dashboard.connections.urls")),
    path("forms/", include("dashboard.tally_forms.urls")),
    path("mappings/", include("dashboard.mappings.urls")),
    path("deliveries/", include("dashboard.deliveries.urls")),
    path("users/", include("dashboard.users.urls")),
]
