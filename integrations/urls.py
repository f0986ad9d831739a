"""Public, unauthenticated routes of the integrations app. Included at `hooks/`."""

from django.urls import path

from . import views

app_name = "hooks"

urlpatterns = [
    # Tally posts FORM_RESPONSE events here; <key> is the Endpoint's unguessable key.
    path("tally/<str:key>/", views.tally_webhook, name="tally"),
]
