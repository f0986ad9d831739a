from django.urls import path

from . import views

app_name = "sandbox_tally"

urlpatterns = [
    path("", views.home, name="home"),
]
