"""URLs of the sandbox Tallyfy, mounted at /sandbox/tallyfy/. API paths have no trailing
slash, like Tallyfy's."""

from django.urls import path

from .views import api, control, oauth, pages

app_name = "sandbox_tallyfy"

urlpatterns = [
    path("", pages.home, name="home"),
    path("faults", pages.home_faults, name="home_faults"),
    path("switches", pages.home_switches, name="home_switches"),
    path("tokens", pages.home_tokens, name="home_tokens"),
    path("app/<str:org>/processes/<str:run_id>", pages.run_page, name="run"),
    # OAuth (Laravel Passport style)
    path("oauth/authorize", oauth.authorize, name="authorize"),
    path("oauth/token", oauth.token, name="token"),
    # REST API
    path("api/me", api.me, name="api_me"),
    path("api/me/organizations", api.me_organizations, name="api_me_organizations"),
    path("api/organizations/<str:org>/users", api.users, name="api_users"),
    path("api/organizations/<str:org>/groups", api.groups, name="api_groups"),
    path("api/organizations/<str:org>/checklists", api.checklists, name="api_checklists"),
    path(
        "api/organizations/<str:org>/checklists/<str:checklist_id>",
        api.checklist,
        name="api_checklist",
    ),
    path("api/organizations/<str:org>/runs", api.runs, name="api_runs"),
    path("api/organizations/<str:org>/runs/<str:run_id>", api.run, name="api_run"),
    path(
        "api/organizations/<str:org>/runs/<str:run_id>/tasks", api.run_tasks, name="api_run_tasks"
    ),
    path(
        "api/organizations/<str:org>/runs/<str:run_id>/tasks/<str:task_id>",
        api.run_task,
        name="api_run_task",
    ),
    path(
        "api/organizations/<str:org>/tasks/<str:task_id>/captures",
        api.task_captures,
        name="api_task_captures",
    ),
    path(
        "api/organizations/<str:org>/runs/<str:run_id>/completed-tasks",
        api.run_completed_tasks,
        name="api_run_completed_tasks",
    ),
    # Control API for tests and demos
    path("control/faults", control.faults, name="control_faults"),
    path("control/switches", control.switches_view, name="control_switches"),
    path("control/tokens/expire", control.tokens_expire, name="control_tokens_expire"),
    path("control/tokens/revoke", control.tokens_revoke, name="control_tokens_revoke"),
    path("control/runs", control.runs, name="control_runs"),
    path("control/reset", control.reset_view, name="control_reset"),
]
