"""The sandbox Tallyfy's launch, `POST /organizations/{org}/runs` (docs/vendor-notes.md,
"Launch"): the body is checked the way Tallyfy checks it, then the run and one task per
step are created. Every problem is collected into one 422, keyed by the body's field."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import switches
from .models import Checklist, Organization, Run, Task, User
from .services import NAME_MAX, Invalid, check_owners, org_people, owners_lists
from .values import check_value, deadline_problem, is_empty, is_int

Errors = dict[str, list[str]]


def run_launch(*, org: Organization, user: User, body: Any) -> Run:
    """Validate a launch body and create the run and its tasks. Raises Invalid for a 422.

    Prerun keys must be kick-off field ids; any other key (a label, an alias, a typo) is
    dropped without a word, as Tallyfy does.
    """
    if not isinstance(body, dict):
        raise Invalid({"body": ["The request body must be a JSON object."]})
    errors: Errors = {}
    users, groups = org_people(org)
    checklist = _checklist(org, body, errors)
    name, summary = _name_and_summary(body, errors)
    prerun = _prerun(checklist, body, errors, users, groups)
    _process_people(body, errors, users, groups)
    step_options = _step_options(checklist, body, errors, users, groups)
    if errors:
        raise Invalid(errors)

    with transaction.atomic():
        run = Run.objects.create(
            organization=org,
            checklist=checklist,
            name=name,
            summary=summary,
            prerun=prerun,
            owner_id=body.get("owner_id") or user.id,
            started_by=user.id,
            tags=body.get("tags") or [],
            folders=body.get("folders") or [],
            users=body.get("users") or [],
            groups=body.get("groups") or [],
            roles=body.get("roles") or {},
        )
        for step in checklist.steps.all():
            options = step_options.get(step.id) or {}
            default_owners = {"users": [run.owner_id], "guests": [], "groups": []}
            Task.objects.create(
                run=run,
                step=step,
                title=step.title,
                position=step.position,
                task_type=step.task_type,
                can_complete_only_assignees=step.can_complete_only_assignees,
                owners=owners_lists(options["owners"]) if "owners" in options else default_owners,
                deadline=options.get("deadline"),
            )
    return run


def _checklist(org: Organization, body: dict, errors: Errors) -> Checklist | None:
    """The organization's checklist the body names, or None (with an error)."""
    checklist_id = body.get("checklist_id")
    if not checklist_id:
        errors["checklist_id"] = ["The checklist id field is required."]
        return None
    checklist = None
    if isinstance(checklist_id, str):
        checklist = Checklist.objects.filter(organization=org, id=checklist_id).first()
    if checklist is None:
        errors["checklist_id"] = ["The selected checklist id is invalid."]
    return checklist


def _name_and_summary(body: dict, errors: Errors) -> tuple[Any, Any]:
    """The run's name and summary (None when the summary switch drops it)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["The name field is required."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"The name may not be greater than {NAME_MAX} characters."]
    summary = body.get("summary")
    if switches.current(switches.SUMMARY) == "dropped":
        summary = None  # ignored without a word, like any key Tallyfy does not know
    elif summary is not None and not isinstance(summary, str):
        errors["summary"] = ["The summary must be a string."]
    return name, summary


def _prerun(
    checklist: Checklist | None, body: dict, errors: Errors, users: set[int], groups: set[str]
) -> dict[str, Any]:
    """The kick-off values to store, keyed by field id; other keys are dropped silently."""
    prerun_in = body.get("prerun")
    if prerun_in is None:
        prerun_in = {}
    if not isinstance(prerun_in, dict):
        # A list-shaped prerun always fails, even when it holds {id, value} pairs.
        errors["prerun"] = ["The prerun must be an object keyed by kick-off field id."]
        prerun_in = {}
    prerun: dict[str, Any] = {}
    if checklist is None:
        return prerun
    table_shape = switches.current(switches.TABLE_SHAPE)
    for f in checklist.prerun.all():
        definition = {
            "id": f.id,
            "label": f.label,
            "field_type": f.field_type,
            "options": f.options,
            "columns": f.columns,
        }
        value = prerun_in.get(f.id)
        if f.id in prerun_in:
            problem = check_value(
                definition, value, users=users, groups=groups, table_shape=table_shape
            )
            if problem:
                errors[f.id] = [problem]
                continue
            if value is not None:
                prerun[f.id] = value
        if f.required and is_empty(value) and "prerun" not in errors:
            errors[f.id] = [f"{f.label} is required"]
    return prerun


def _process_people(body: dict, errors: Errors, users: set[int], groups: set[str]) -> None:
    """owner_id, users, groups and roles: members and groups of this organization only."""
    owner_id = body.get("owner_id")
    if owner_id is not None and not (is_int(owner_id) and owner_id in users):
        errors["owner_id"] = [
            f"The selected owner id is invalid: {owner_id!r} is not the id (an integer) "
            "of a member of this organization."
        ]
    for key in ("tags", "folders"):
        items = body.get(key)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, str) for i in items)
        ):
            errors[key] = [f"The {key} must be a list of ids."]
    run_users = body.get("users")
    if run_users is not None:
        strangers = _strangers(run_users, lambda u: is_int(u) and u in users)
        if strangers is not None:
            errors["users"] = [f"The users must be member ids of this organization{strangers}"]
    run_groups = body.get("groups")
    if run_groups is not None:
        strangers = _strangers(run_groups, lambda g: isinstance(g, str) and g in groups)
        if strangers is not None:
            errors["groups"] = [f"The groups must be group ids of this organization{strangers}"]
    roles = body.get("roles")
    if roles is not None:
        if not isinstance(roles, dict):
            errors["roles"] = ["The roles must be an object keyed by role id."]
        else:
            for role_id, role_owners in roles.items():
                if problem := check_owners(role_owners, users, groups):
                    errors[f"roles.{role_id}"] = [problem]


def _strangers(items: Any, known) -> str | None:
    """None when `items` is a list of known ids, else the end of a message naming the others."""
    if not isinstance(items, list):
        return "."
    unknown = [i for i in items if not known(i)]
    if not unknown:
        return None
    verb = " is not." if len(unknown) == 1 else " are not."
    return ": " + ", ".join(repr(i) for i in unknown[:5]) + verb


def _step_options(
    checklist: Checklist | None, body: dict, errors: Errors, users: set[int], groups: set[str]
) -> dict[str, dict]:
    """`tasks`: per step id of the launched checklist, its owners and deadline."""
    options_in = body.get("tasks")
    if options_in is None:
        return {}
    if not isinstance(options_in, dict):
        errors["tasks"] = ["The tasks must be an object keyed by step id."]
        return {}
    steps = {s.id: s for s in checklist.steps.all()} if checklist is not None else {}
    deadline_format = switches.current(switches.DEADLINE_FORMAT)
    for step_id, options in options_in.items():
        step = steps.get(step_id)
        if checklist is not None and step is None:
            errors[f"tasks.{step_id}"] = [
                f"The tasks key {step_id!r} is not a step of {checklist.title}."
            ]
            continue
        if not isinstance(options, dict):
            errors[f"tasks.{step_id}"] = ["Each task entry must be an object."]
            continue
        if "owners" in options:
            owners = options["owners"]
            if problem := check_owners(owners, users, groups):
                errors[f"tasks.{step_id}.owners"] = [problem]
            elif owners.get("guests") and not (owners.get("users") or owners.get("groups")):
                title = step.title if step else step_id
                errors[f"tasks.{step_id}.owners"] = [
                    f"A guest can't be the only assignee of {title}."
                ]
        if problem := deadline_problem(options.get("deadline"), deadline_format):
            errors[f"tasks.{step_id}.deadline"] = [problem]
    return options_in
