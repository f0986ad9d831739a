"""Mappings pages. Included at `mappings/` inside the `dashboard` namespace."""

from django.urls import path

from . import archive, builder_checks, builder_launch, builder_task, followup, new, switch, views

urlpatterns = [
    path("", views.mapping_list, name="mappings"),
    path("new/", new.mapping_new, name="mapping_new"),
    path("<int:pk>/", views.mapping_detail, name="mapping_detail"),
    path("<int:pk>/edit/", views.mapping_edit, name="mapping_edit"),
    path("<int:pk>/edit/row/<str:field_id>/", views.mapping_edit_row, name="mapping_edit_row"),
    path(
        "<int:pk>/edit/launch/",
        builder_launch.mapping_edit_launch,
        name="mapping_edit_launch",
    ),
    path(
        "<int:pk>/edit/placeholders/",
        builder_checks.mapping_check_placeholders,
        name="mapping_check_placeholders",
    ),
    path("<int:pk>/edit/task/", builder_task.mapping_edit_task, name="mapping_edit_task"),
    path("<int:pk>/edit/followup/", followup.mapping_followup_hint, name="mapping_followup_hint"),
    path("<int:pk>/listen/", views.mapping_listen, name="mapping_listen"),
    path("<int:pk>/listen/stop/", views.mapping_listen_stop_view, name="mapping_listen_stop"),
    path("<int:pk>/listen/status/", views.mapping_listen_status, name="mapping_listen_status"),
    path("<int:pk>/preview/", views.mapping_preview, name="mapping_preview"),
    path("<int:pk>/test-launch/", views.mapping_test_launch, name="mapping_test_launch"),
    path("<int:pk>/enable/", switch.mapping_enable_view, name="mapping_enable"),
    path("<int:pk>/disable/", switch.mapping_disable_view, name="mapping_disable"),
    path("<int:pk>/archive/", archive.mapping_archive_view, name="mapping_archive"),
    path("<int:pk>/restore/", archive.mapping_restore_view, name="mapping_restore"),
    path("<int:pk>/check/", views.mapping_check_drift_view, name="mapping_check_drift"),
    path("<int:pk>/reregister/", views.mapping_reregister_view, name="mapping_reregister"),
]
