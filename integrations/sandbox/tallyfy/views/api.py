"""The sandbox Tallyfy REST API under /sandbox/tallyfy/api (docs/vendor-notes.md, Tallyfy half)."""

from __future__ import annotations

from django.db.models import Q
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import launch, services, switches
from .. import shapes as out
from ..models import Checklist, Group, Organization, Run, Task
from .common import endpoint_not_found, error, invalid, json_body, tallyfy_api

# --- Endpoints -------------------------------------------------------------------------------


@tallyfy_api(["GET"])
def me(request):
    """`GET /me`."""
    return JsonResponse({"data": out.user_json(request.tallyfy_user)})


@tallyfy_api(["GET"])
def me_organizations(request):
    """`GET /me/organizations`: the organizations the token reaches."""
    orgs = services.token_organizations(request.tallyfy_token)
    return JsonResponse(out.paginated(orgs, request.GET, out.organization_json))


@tallyfy_api(["GET"])
def users(request, org: Organization):
    """`GET /users`: the organization's members, paged."""
    qs = org.members.order_by("id")
    return JsonResponse(out.paginated(qs, request.GET, out.user_json))


@tallyfy_api(["GET"])
def groups(request, org: Organization):
    """`GET /groups`: the organization's groups with their members' ids, paged."""
    qs = Group.objects.filter(organization=org).order_by("name", "id").prefetch_related("members")
    return JsonResponse(out.paginated(qs, request.GET, out.group_json))


@tallyfy_api(["GET"])
def checklists(request, org: Organization):
    """`GET /checklists`: templates, searchable by title."""
    qs = Checklist.objects.filter(organization=org).order_by("title", "id")
    if q := request.GET.get("q", "").strip():
        qs = qs.filter(title__icontains=q)
    return JsonResponse(out.paginated(qs, request.GET, out.checklist_summary_json))


@tallyfy_api(["GET"])
def checklist(request, org: Organization, checklist_id: str):
    """`GET /checklists/{id}`: one template with its kick-off fields and steps."""
    obj = Checklist.objects.filter(organization=org, id=checklist_id).first()
    if obj is None:
        return error(404, "Checklist not found.")
    # Docs don't promise steps in this answer: a switch leaves them out.
    with_steps = switches.current(switches.TEMPLATE_STEPS) == "listed"
    return JsonResponse({"data": out.checklist_json(obj, with_steps=with_steps)})


@tallyfy_api(["GET"])
def runs_list(request, org: Organization):
    """GET runs: filtered by checklist_id, q and status, sorted, paged."""
    qs = Run.objects.filter(organization=org).select_related("checklist")
    if checklist_id := request.GET.get("checklist_id"):
        qs = qs.filter(checklist_id=checklist_id)
    if q := request.GET.get("q", "").strip():
        # Docs: runs search is seen in SDKs only; whether `q` reads the summary is a switch.
        if switches.current(switches.RUNS_SEARCH) == "name_only":
            qs = qs.filter(name__icontains=q)
        else:
            qs = qs.filter(Q(name__icontains=q) | Q(summary__icontains=q))
    if status := request.GET.get("status"):
        qs = qs.filter(status=status)
    sort = request.GET.get("sort", "-created_at")
    order = {"created_at": "created_at", "-created_at": "-created_at", "name": "name"}
    qs = qs.order_by(order.get(sort, "-created_at"), "id").prefetch_related("tasks")
    return JsonResponse(out.paginated(qs, request.GET, out.run_json))


@tallyfy_api(["POST"], scope="launch")
def runs_launch(request, org: Organization):
    """POST runs: launch a process (201 with the run, 422 with per-field errors)."""
    body = json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        run = launch.run_launch(org=org, user=request.tallyfy_user, body=body)
    except services.Invalid as exc:
        return invalid(exc)
    return JsonResponse({"data": out.run_json(run)}, status=201)


@csrf_exempt
def runs(request, org: str):
    """GET lists runs, POST launches one; only POST counts as a launch for fault scopes."""
    if request.method == "POST":
        return runs_launch(request, org=org)
    return runs_list(request, org=org)


@tallyfy_api(["GET"])
def run(request, org: Organization, run_id: str):
    """`GET /runs/{id}`."""
    obj = Run.objects.select_related("checklist").filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    return JsonResponse({"data": out.run_json(obj)})


@tallyfy_api(["GET"])
def run_tasks(request, org: Organization, run_id: str):
    """`GET /runs/{id}/tasks` (`with=form_fields` adds the fields)."""
    obj = Run.objects.filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    with_fields = "form_fields" in request.GET.get("with", "").split(",")
    qs = obj.tasks.select_related("step").order_by("position", "id")
    return JsonResponse(
        out.paginated(qs, request.GET, lambda t: out.task_json(t, with_form_fields=with_fields))
    )


def _task(org: Organization, task_id: str, run_id: str | None = None) -> Task | None:
    """The organization's task (of that run, when given), or None."""
    tasks = Task.objects.select_related("step", "run__organization").filter(
        run__organization=org, id=task_id
    )
    if run_id is not None:
        tasks = tasks.filter(run_id=run_id)
    return tasks.first()


@tallyfy_api(["GET"])
def run_task_get(request, org: Organization, run_id: str, task_id: str):
    """GET one task of a run (`with=form_fields` adds the fields and their values)."""
    task = _task(org, task_id, run_id)
    if task is None:
        return error(404, "Task not found.")
    with_fields = "form_fields" in request.GET.get("with", "").split(",")
    return JsonResponse({"data": out.task_json(task, with_form_fields=with_fields)})


@tallyfy_api(["PUT"], scope="tasks")
def run_task_put(request, org: Organization, run_id: str, task_id: str):
    """PUT a task of a run: set values (`taskdata`), owners, deadline."""
    if switches.current(switches.TASK_VALUES) == "captures_only":
        return endpoint_not_found()
    task = _task(org, task_id, run_id)
    if task is None:
        return error(404, "Task not found.")
    body = json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        task = services.task_update(task=task, body=body)
    except services.Invalid as exc:
        return invalid(exc)
    return JsonResponse({"data": out.task_json(task, with_form_fields=True)})


@csrf_exempt
def run_task(request, org: str, run_id: str, task_id: str):
    """`GET|PUT /runs/{id}/tasks/{task}`: only PUT is a task write for fault scopes."""
    if request.method == "GET":
        return run_task_get(request, org=org, run_id=run_id, task_id=task_id)
    return run_task_put(request, org=org, run_id=run_id, task_id=task_id)


@tallyfy_api(["POST"], scope="tasks")
def task_captures(request, org: Organization, task_id: str):
    """`POST /tasks/{task}/captures` `{id, value}`: save one task form field."""
    if switches.current(switches.TASK_VALUES) == "taskdata_only":
        return endpoint_not_found()
    task = _task(org, task_id)
    if task is None:
        return error(404, "Task not found.")
    body = json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        capture, created = services.capture_save(task=task, body=body)
    except services.Invalid as exc:
        return invalid(exc)
    return JsonResponse(
        {"data": out.field_json(capture) | {"value": capture["value"]}},
        status=201 if created else 200,
    )


@tallyfy_api(["POST"], scope="tasks")
def run_completed_tasks(request, org: Organization, run_id: str):
    """`POST /runs/{id}/completed-tasks`: complete a task."""
    obj = Run.objects.filter(organization=org, id=run_id).first()
    if obj is None:
        return error(404, "Run not found.")
    body = json_body(request)
    if body is ...:
        return error(400, "The request body is not valid JSON.")
    try:
        task = services.task_complete(run=obj, user=request.tallyfy_user, body=body)
    except services.Forbidden as exc:
        return error(403, str(exc))
    except services.Invalid as exc:
        return invalid(exc)
    return JsonResponse({"data": out.task_json(task, with_form_fields=True)}, status=201)
