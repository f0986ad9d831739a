"""Deliveries pages. Included at `deliveries/` inside the `dashboard` namespace."""

from django.urls import path

from . import detail, triage, views

urlpatterns = [
    path("", views.deliveries, name="deliveries"),
    path("newer/", triage.deliveries_newer, name="deliveries_newer"),
    path("retry-selected/", triage.deliveries_retry_selected, name="deliveries_retry_selected"),
    path("export.csv", views.deliveries_export, name="deliveries_export"),
    path("retry-all/", views.deliveries_bulk_retry, name="deliveries_bulk_retry"),
    path("recover/", views.deliveries_recover, name="deliveries_recover"),
    path("bulk/<int:pk>/", views.deliveries_bulk, name="deliveries_bulk"),
    path("bulk/<int:pk>/cancel/", views.deliveries_bulk_cancel, name="deliveries_bulk_cancel"),
    path("<int:pk>/", detail.delivery_detail, name="delivery_detail"),
    path("<int:pk>/row/", views.delivery_row, name="delivery_row"),
    path("<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("<int:pk>/cancel-next/", detail.delivery_cancel_next, name="delivery_cancel_next"),
    path("<int:pk>/retry-now/", detail.delivery_retry_now_view, name="delivery_retry_now"),
    path("<int:pk>/use-run/", detail.delivery_use_run, name="delivery_use_run"),
    path(
        "<int:pk>/launch-unchecked/",
        detail.delivery_launch_unchecked,
        name="delivery_launch_unchecked",
    ),
    # Per mapping: Tally's own delivery log of the webhook for the mapping's form.
    path("tally/<int:pk>/", views.mapping_tally_log, name="mapping_tally_log"),
    path(
        "tally/<int:pk>/events/<str:event_id>/redeliver/",
        views.mapping_tally_redeliver,
        name="mapping_tally_redeliver",
    ),
]
