"""Users & roles. Included at `users/` inside the `dashboard` namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.users, name="users"),
    path("<int:pk>/role/", views.user_role, name="user_role"),
]
