"""The sandbox: a local stand-in for Tally and Tallyfy, mounted only when SANDBOX is on.

It is the *other side* of every HTTP call Kickoff makes, written from
docs/vendor-notes.md. It shares no code with Kickoff's clients, engine or receiver.
"""

from django.urls import include, path

from . import views

# No app namespace here: each vendor app keeps its own (sandbox_tally, sandbox_tallyfy).
urlpatterns = [
    path("", views.index, name="sandbox-index"),
    path("tally/", include("integrations.sandbox.tally.urls")),
    path("tallyfy/", include("integrations.sandbox.tallyfy.urls")),
]
