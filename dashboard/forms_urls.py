"""Tally forms: list, form tabs (questions, submissions, analytics), CSV export."""

from django.urls import path

from . import forms_browse

urlpatterns = [
    path("", forms_browse.form_list, name="forms"),
    path("<int:connection_id>/<str:form_id>/", forms_browse.form_detail, name="form"),
    path(
        "<int:connection_id>/<str:form_id>/latest/",
        forms_browse.form_latest,
        name="form_latest",
    ),
    path(
        "<int:connection_id>/<str:form_id>/questions/",
        forms_browse.form_questions,
        name="form_questions",
    ),
    path(
        "<int:connection_id>/<str:form_id>/submissions/",
        forms_browse.form_submissions,
        name="form_submissions",
    ),
    path(
        "<int:connection_id>/<str:form_id>/submissions.csv",
        forms_browse.form_submissions_csv,
        name="form_submissions_csv",
    ),
    path(
        "<int:connection_id>/<str:form_id>/submissions/<str:submission_id>/",
        forms_browse.submission_detail,
        name="submission",
    ),
    path(
        "<int:connection_id>/<str:form_id>/analytics/",
        forms_browse.form_analytics,
        name="form_analytics",
    ),
]
