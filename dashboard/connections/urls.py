"""Connections pages. Included at `connections/` inside the `dashboard` namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.connections, name="connections"),
    path("tally/api-key/", views.tally_api_key, name="tally_api_key"),
    path("tallyfy/token/", views.tallyfy_token, name="tallyfy_token"),
    path("tallyfy/organization/", views.tallyfy_choose_org, name="tallyfy_choose_org"),
    path("<str:provider>/connect/", views.oauth_start, name="oauth_start"),
    path("<str:provider>/callback/", views.oauth_callback, name="oauth_callback"),
    path("<int:pk>/test/", views.connection_check, name="connection_test"),
    path("<int:pk>/disconnect/", views.disconnect, name="disconnect"),
]
