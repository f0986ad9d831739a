from django.urls import include, path

from . import connections, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("connections/", connections.connections, name="connections"),
    path("connections/tally/api-key/", connections.tally_api_key, name="tally_api_key"),
    path("connections/tallyfy/token/", connections.tallyfy_token, name="tallyfy_token"),
    path(
        "connections/tallyfy/organization/",
        connections.tallyfy_choose_org,
        name="tallyfy_choose_org",
    ),
    path("connections/<str:provider>/connect/", connections.oauth_start, name="oauth_start"),
    path("connections/<str:provider>/callback/", connections.oauth_callback, name="oauth_callback"),
    path("connections/<int:pk>/test/", connections.connection_check, name="connection_test"),
    path("connections/<int:pk>/disconnect/", connections.disconnect, name="disconnect"),
    path("forms/", include("dashboard.forms_urls")),
    path("mappings/", include("dashboard.mappings_urls")),
    path("deliveries/", include("dashboard.deliveries_urls")),
]
