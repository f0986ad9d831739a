from django.urls import path

from . import views

app_name = "sandbox_tallyfy"

urlpatterns = [
    path("", views.home, name="home"),
]
