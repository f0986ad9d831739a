"""The sandbox Tally, mounted at /sandbox/tally/. API paths have no trailing slash (like Tally)."""

from django.urls import path

from .views import api, control, oauth, pages

app_name = "sandbox_tally"

urlpatterns = [
    # HTML
    path("", pages.home, name="home"),
    path("forms/<str:form_id>/submit", pages.submit, name="submit"),
    # The respondent's link, like https://tally.so/r/<form id> (settings.TALLY_FORMS_BASE_URL)
    path("r/<str:form_id>", pages.public_form, name="public_form"),
    path(
        "forms/<str:form_id>/submissions/<str:submission_id>",
        pages.submission_preview,
        name="submission",
    ),
    path("faults", pages.faults_form, name="faults_form"),
    path("switches", pages.switches_form, name="switches_form"),
    path("webhooks/<str:webhook_id>/<str:action>", pages.webhook_action, name="webhook_action"),
    path("tokens/<str:action>", pages.tokens_action, name="tokens_action"),
    path("events/<str:event_id>/redeliver", pages.redeliver, name="redeliver"),
    path("deliver-due", pages.deliver_due_now, name="deliver_due_now"),
    path("reset", pages.reset, name="reset"),
    # OAuth
    path("oauth/authorize", oauth.authorize, name="oauth_authorize"),
    path("api/oauth/token", oauth.token, name="oauth_token"),
    path("api/.well-known/oauth-authorization-server", api.well_known, name="well_known"),
    # REST API
    path("api/users/me", api.users_me, name="users_me"),
    path("api/forms", api.forms_list, name="forms"),
    path("api/forms/<str:form_id>", api.form_detail, name="form"),
    path("api/forms/<str:form_id>/questions", api.form_questions, name="questions"),
    path("api/forms/<str:form_id>/submissions", api.submissions_list, name="submissions"),
    path(
        "api/forms/<str:form_id>/submissions/<str:submission_id>",
        api.submission_detail,
        name="submission_detail",
    ),
    path("api/forms/<str:form_id>/analytics/<str:metric>", api.form_analytics, name="analytics"),
    path("api/webhooks", api.webhooks_collection, name="webhooks"),
    path("api/webhooks/<str:webhook_id>", api.webhook_item, name="webhook"),
    path("api/webhooks/<str:webhook_id>/events", api.webhook_events, name="webhook_events"),
    path(
        "api/webhooks/<str:webhook_id>/events/<str:event_id>",
        api.webhook_event_redeliver,
        name="webhook_event",
    ),
    # Control API for tests and benchmarks
    path("control/faults", control.faults, name="control_faults"),
    path("control/switches", control.switches_view, name="control_switches"),
    path("control/webhooks/<str:webhook_id>", control.webhook_action, name="control_webhook"),
    path("control/tokens/expire", control.tokens_expire, name="control_tokens_expire"),
    path("control/tokens/revoke", control.tokens_revoke, name="control_tokens_revoke"),
    path(
        "control/forms/<str:form_id>/submissions",
        control.submission_create,
        name="control_submission_create",
    ),
    path(
        "control/forms/<str:form_id>/submissions/bulk",
        control.submissions_bulk,
        name="control_submissions_bulk",
    ),
    path(
        "control/forms/<str:form_id>/submissions/<str:submission_id>",
        control.submission_delete,
        name="control_submission_delete",
    ),
    path("control/deliver-due", control.deliver_due, name="control_deliver_due"),
    path("control/reset", control.reset, name="control_reset"),
]
