"""Tally forms: list, form tabs (questions, submissions, analytics), CSV export."""

from django.urls import path, register_converter

from ..converters import TallyIdConverter
from . import views

register_converter(TallyIdConverter, "tally_id")

urlpatterns = [
    path("", views.form_list, name="forms"),
    path("<int:connection_id>/<tally_id:form_id>/", views.form_detail, name="form"),
    path(
        "<int:connection_id>/<tally_id:form_id>/latest/",
        views.form_latest,
        name="form_latest",
    ),
    path(
        "<int:connection_id>/<tally_id:form_id>/questions/",
        views.form_questions,
        name="form_questions",
    ),
    path(
        "<int:connection_id>/<tally_id:form_id>/submissions/",
        views.form_submissions,
        name="form_submissions",
    ),
    path(
        "<int:connection_id>/<tally_id:form_id>/submissions.csv",
        views.form_submissions_csv,
        name="form_submissions_csv",
    ),
    path(
        "<int:connection_id>/<tally_id:form_id>/submissions/<tally_id:submission_id>/",
        views.submission_detail,
        name="submission",
    ),
    path(
        "<int:connection_id>/<tally_id:form_id>/analytics/",
        views.form_analytics,
        name="form_analytics",
    ),
]
