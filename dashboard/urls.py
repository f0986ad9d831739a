from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("connections/", views.connections, name="connections"),
    path("forms/", views.forms, name="forms"),
    path("mappings/", views.mappings, name="mappings"),
    path("deliveries/", views.deliveries, name="deliveries"),
]
