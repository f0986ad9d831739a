"""Tally forms: list, form tabs (questions, submissions, analytics), CSV export."""

from django.urls import path

from . import forms_browse

urlpatterns = [
    path("", forms_browse.form_list, name="forms"),
]
