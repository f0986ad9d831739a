"""JSON shapes of the sandbox Tallyfy API (docs/vendor-notes.md, Tallyfy half)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .models import Checklist, Group, Organization, PrerunField, Run, Task, User

PER_PAGE_DEFAULT = 10
PER_PAGE_MAX = 100


def stamp(dt: datetime | None) -> str | None:
    """Tallyfy's timestamp shape: 2025-03-01T09:30:00.000Z (UTC, milliseconds)."""
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def page_params(params) -> tuple[int, int]:
    """`page` (1-based) and `per_page` (≤100) from a query string, forgiving like Laravel."""

    def number(name: str, default: int) -> int:
        """A positive integer parameter, or the default."""
        try:
            return max(1, int(params.get(name, default)))
        except (TypeError, ValueError):
            return default

    return number("page", 1), min(number("per_page", PER_PAGE_DEFAULT), PER_PAGE_MAX)


def paginated(queryset: QuerySet, params, item) -> dict[str, Any]:
    """`{data:[…], meta:{pagination:{total, count, per_page, current_page, total_pages}}}`."""
    page, per_page = page_params(params)
    total = queryset.count()
    start = (page - 1) * per_page
    items = list(queryset[start : start + per_page]) if start < total else []
    total_pages = max(1, math.ceil(total / per_page))
    return {
        "data": [item(obj) for obj in items],
        "meta": {
            "pagination": {
                "total": total,
                "count": len(items),
                "per_page": per_page,
                "current_page": page,
                "total_pages": total_pages,
                "links": {},
            }
        },
    }


def user_json(user: User) -> dict[str, Any]:
    """One user as `GET /me` shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "username": user.email.split("@")[0],
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "timezone": "UTC",
    }


def group_json(group: Group) -> dict[str, Any]:
    """One group of an organization, its members as user ids."""
    return {
        "id": group.id,
        "name": group.name,
        "description": "",
        "members": sorted(u.id for u in group.members.all()),
    }


def organization_json(org: Organization) -> dict[str, Any]:
    """One organization."""
    return {"id": org.id, "name": org.name}


def field_json(field: PrerunField | dict) -> dict[str, Any]:
    """One kick-off or task form field."""
    if isinstance(field, PrerunField):
        field = {
            "id": field.id,
            "alias": field.alias,
            "label": field.label,
            "field_type": field.field_type,
            "required": field.required,
            "position": field.position,
            "options": field.options,
            "columns": field.columns,
            "guidance": field.guidance,
        }
    return {
        "id": field["id"],
        "alias": field.get("alias", ""),
        "label": field["label"],
        "field_type": field["field_type"],
        "required": field.get("required", False),
        "position": field.get("position", 0),
        "options": field.get("options", []),
        "columns": field.get("columns", []),
        "guidance": field.get("guidance", ""),
    }


def checklist_summary_json(checklist: Checklist) -> dict[str, Any]:
    """One template in a list."""
    return {
        "id": checklist.id,
        "title": checklist.title,
        "summary": checklist.summary,
        "status": "active",
        "type": "procedure",
        "created_at": stamp(checklist.created_at),
    }


def checklist_json(checklist: Checklist, *, with_steps: bool = True) -> dict[str, Any]:
    """One template with its kick-off fields and (unless told not to) its steps."""
    data = {
        **checklist_summary_json(checklist),
        "prerun": [field_json(f) for f in checklist.prerun.all()],
    }
    if with_steps:
        data["steps"] = [
            {
                "id": s.id,
                "title": s.title,
                "position": s.position,
                "task_type": s.task_type,
                "can_complete_only_assignees": s.can_complete_only_assignees,
                "captures": [field_json(c) for c in s.captures],
            }
            for s in checklist.steps.all()
        ]
    return data


def run_json(run: Run) -> dict[str, Any]:
    """One run with its progress and kick-off values."""
    tasks = list(run.tasks.all())
    done = sum(1 for t in tasks if t.status == "completed")
    return {
        "id": run.id,
        "checklist_id": run.checklist_id,
        "checklist_title": run.checklist.title,
        "name": run.name,
        "summary": run.summary,
        "status": run.status,
        "progress": {
            "complete": done,
            "total": len(tasks),
            "percent": round(100 * done / len(tasks)) if tasks else 0,
        },
        "prerun": run.prerun,
        "owner_id": run.owner_id,
        "started_by": run.started_by,
        "tags": run.tags,
        "folders": run.folders,
        "users": run.users,
        "groups": run.groups,
        "roles": run.roles,
        "created_at": stamp(run.created_at),
        "last_updated": stamp(run.updated_at),
        "completed_at": stamp(run.completed_at),
    }


def task_json(task: Task, *, with_form_fields: bool = False) -> dict[str, Any]:
    """One task (with its form fields and values when asked)."""
    data: dict[str, Any] = {
        "id": task.id,
        "run_id": task.run_id,
        "step_id": task.step_id,
        "title": task.title,
        "position": task.position,
        "task_type": task.task_type,
        "can_complete_only_assignees": task.can_complete_only_assignees,
        "status": task.status,
        "owners": task.owners,
        "deadline": task.deadline,
        "taskdata": task.taskdata,
        "is_approved": task.is_approved,
        "completed_at": stamp(task.completed_at),
        "completed_by": task.completed_by,
    }
    if with_form_fields:
        data["form_fields"] = [
            {**field_json(c), "value": task.taskdata.get(c["id"])} for c in task.step.captures
        ]
    return data
