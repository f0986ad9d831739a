"""Tallyfy REST API client: organizations, templates (checklists), runs and tasks.

Knows HTTP and Tallyfy's answers only (no ORM). Tallyfy wraps objects the Laravel/Fractal
way (`{"data": {...}}`, lists with `meta.pagination`); everything is unwrapped here and
parsed into the dataclasses of `integrations.tallyfy.shapes`, with the vendor's dict kept
in `raw`.
Failures raise `integrations.http.ApiError`s; throttled per organization.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from django.conf import settings

from integrations.coerce import as_bool, as_datetime, as_dict, as_int, as_list, as_str
from integrations.http import ApiError, Page, iter_pages, malformed
from integrations.jsonapi import JsonApi
from integrations.ratelimit import Throttle
from integrations.tallyfy.shapes import (
    Group,
    Member,
    Run,
    TallyfyOrganization,
    TallyfyTask,
    TallyfyTemplate,
    TallyfyUser,
    parse_fields,
    parse_owners,
    parse_steps,
)

VENDOR = "tallyfy"
T = TypeVar("T")
MAX_PER_PAGE = 100


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _unwrap(body: Any, what: str) -> dict[str, Any]:
    """`{"data": {...}}` or a bare object, else the answer is not what we asked for."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    if isinstance(body, dict) and "id" in body:
        return body
    raise malformed(VENDOR, f"{what} is not an object")


def _require_id(data: Mapping[str, Any], what: str) -> str:
    value = as_str(data.get("id"))
    if not value:
        raise malformed(VENDOR, f"{what} without an id")
    return value


def parse_user(data: dict[str, Any]) -> TallyfyUser:
    return TallyfyUser(
        id=_require_id(data, "user"),
        email=as_str(data.get("email")),
        first_name=as_str(data.get("first_name")),
        last_name=as_str(data.get("last_name")),
        full_name=as_str(data.get("full_name")),
        raw=data,
    )


def parse_member(data: dict[str, Any]) -> Member:
    user = parse_user(data)
    member_id = as_int(data.get("id"))
    if member_id is None:
        # Tallyfy's user ids are integers (assignees take `users: [int]`).
        raise malformed(VENDOR, f"member id {user.id!r} is not an integer")
    name = user.full_name or " ".join(p for p in (user.first_name, user.last_name) if p)
    return Member(id=member_id, email=user.email or "", name=name)


def parse_group(data: dict[str, Any]) -> Group:
    return Group(id=_require_id(data, "group"), name=as_str(data.get("name")) or "")


def parse_organization(data: dict[str, Any]) -> TallyfyOrganization:
    return TallyfyOrganization(
        id=_require_id(data, "organization"), name=as_str(data.get("name")) or "", raw=data
    )


def parse_template(data: dict[str, Any]) -> TallyfyTemplate:
    return TallyfyTemplate(
        id=_require_id(data, "template"),
        title=as_str(data.get("title")) or "",
        summary=as_str(data.get("summary")),
        prerun=parse_fields(data.get("prerun")),
        steps=parse_steps(data.get("steps")),
        raw=data,
    )


def parse_run(data: dict[str, Any]) -> Run:
    prerun = data.get("prerun")
    if isinstance(prerun, dict) and isinstance(prerun.get("data"), list):
        prerun = prerun["data"]
    return Run(
        id=_require_id(data, "run"),
        name=as_str(data.get("name")),
        status=as_str(data.get("status")),
        prerun=prerun,
        raw=data,
        checklist_id=as_str(data.get("checklist_id")),
        summary=as_str(data.get("summary")),
        created_at=as_datetime(data.get("created_at")),
    )


def parse_task(data: dict[str, Any]) -> TallyfyTask:
    return TallyfyTask(
        id=_require_id(data, "task"),
        title=as_str(data.get("title")),
        status=as_str(data.get("status")),
        run_id=as_str(data.get("run_id")),
        step_id=as_str(data.get("step_id")),
        form_fields=parse_fields(data.get("form_fields")),
        raw=data,
        task_type=(as_str(data.get("task_type")) or "task").lower(),
        owners=parse_owners(data.get("owners")),
        # Absent means anyone may complete it: Tallyfy's default for a step.
        can_complete_only_assignees=as_bool(data.get("can_complete_only_assignees")),
        position=as_int(data.get("position")),
    )


def unsupported_call(exc: ApiError) -> bool:
    """Whether an error says the endpoint itself is not there (405, or a 404 about the
    route rather than a task), as opposed to a refusal of what was sent."""
    if exc.status == 405:
        return True
    if exc.status != 404:
        return False
    # Tallyfy's "endpoint not found"; Laravel's "The route … could not be found."
    text = f"{exc.message} {exc.body}".lower()
    return "endpoint" in text or "route" in text


def _page(body: Any, parse: Callable[[dict[str, Any]], T], page: int) -> Page[T]:
    """`{data: [...], meta: {pagination: {..., current_page, total_pages}}}`."""
    if isinstance(body, list):
        body = {"data": body}
    if not isinstance(body, dict):
        raise malformed(VENDOR, "list answer is not an object")
    items = [parse(i) for i in as_list(body.get("data")) if isinstance(i, dict)]
    pagination = as_dict(as_dict(body.get("meta")).get("pagination"))
    current = as_int(pagination.get("current_page")) or page
    total_pages = as_int(pagination.get("total_pages"))
    return Page(
        items=items,
        # Stop at current_page >= total_pages; no pagination block means one page.
        has_more=total_pages is not None and current < total_pages,
        page=current,
        total=as_int(pagination.get("total")),
        raw=body,
    )


def run_url(org_id: str, run_id: str) -> str:
    """Where a person opens a run in Tallyfy's web app."""
    # Docs: docs/vendor-notes.md "Link to a run" ([guess] from Tallyfy's docs).
    base = settings.TALLYFY_APP_BASE_URL.rstrip("/")
    return f"{base}/{quote(str(org_id), safe='')}/processes/{quote(str(run_id), safe='')}"


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


class TallyfyClient:
    """One Tallyfy token, scoped to one organization; cheap to construct per call."""

    run_url = staticmethod(run_url)

    def __init__(
        self,
        token: str,
        *,
        org_id: str | None,
        base_url: str | None = None,
        http: httpx.Client | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.org_id = org_id
        self._api = JsonApi(
            vendor=VENDOR,
            base_url=base_url or settings.TALLYFY_API_BASE_URL,
            token=token,
            headers={
                "Accept": "application/json",
                # Without it Tallyfy answers 401 or "endpoint not found".
                # Docs: https://tallyfy.com/products/pro/integrations/open-api/
                "X-Tallyfy-Client": "APIClient",
            },
            rate=settings.TALLYFY_RATE_LIMIT,
            # Tallyfy's limits are per organization; before one is chosen (connect flow),
            # the few calls made share one budget.
            account=org_id or "no-org",
            http=http,
            throttle=throttle,
        )

    def __repr__(self) -> str:
        return f"<TallyfyClient org={self.org_id!r}>"

    def _org(self) -> str:
        if not self.org_id:
            raise ValueError("this Tallyfy call needs an organization id")
        return f"/organizations/{quote(self.org_id, safe='')}"

    # --- identity ------------------------------------------------------------------------

    def get_me(self) -> TallyfyUser:
        """The user the token belongs to."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/members/get-current-user/
        return parse_user(_unwrap(self._api.request("GET", "/me"), "user"))

    def list_organizations(self) -> list[TallyfyOrganization]:
        """The organizations the token's user belongs to (usually one)."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/organizations/
        return list(
            iter_pages(
                lambda page: _page(
                    self._api.request("GET", "/me/organizations", params={"page": page}),
                    parse_organization,
                    page,
                )
            )
        )

    # --- templates -----------------------------------------------------------------------

    def list_templates(
        self, q: str | None = None, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> Page[TallyfyTemplate]:
        """One page of the organization's templates (checklists), optionally searched."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/templates/list-templates/
        body = self._api.request(
            "GET",
            f"{self._org()}/checklists",
            params={"q": q or None, "page": page, "per_page": min(per_page, MAX_PER_PAGE)},
        )
        return _page(body, parse_template, page)

    def iter_templates(self, q: str | None = None) -> Iterator[TallyfyTemplate]:
        """Every template, page after page."""
        return iter_pages(lambda page: self.list_templates(q, page))

    def get_template(self, template_id: str) -> TallyfyTemplate:
        """One template with its kick-off (prerun) fields in position order."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/templates/get-template/
        # `with=steps` asks for the steps (the launch keys owners and deadlines by step id);
        # an answer without them leaves `steps` None and the builder says so.
        body = self._api.request(
            "GET",
            f"{self._org()}/checklists/{quote(template_id, safe='')}",
            # `steps.captures`: each step's task form fields ("Complete a task" mappings).
            params={"with": "steps,steps.captures"},
        )
        return parse_template(_unwrap(body, "template"))

    # --- people --------------------------------------------------------------------------

    def list_members(self) -> list[Member]:
        """Every member of the organization (who can own a process or a task)."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/members/
        return list(
            iter_pages(
                lambda page: _page(
                    self._api.request(
                        "GET",
                        f"{self._org()}/users",
                        params={"page": page, "per_page": MAX_PER_PAGE},
                    ),
                    parse_member,
                    page,
                )
            )
        )

    def list_groups(self) -> list[Group]:
        """Every group of the organization."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/groups/
        return list(
            iter_pages(
                lambda page: _page(
                    self._api.request(
                        "GET",
                        f"{self._org()}/groups",
                        params={"page": page, "per_page": MAX_PER_PAGE},
                    ),
                    parse_group,
                    page,
                )
            )
        )

    # --- runs ----------------------------------------------------------------------------

    def launch_run(self, body: dict[str, Any]) -> Run:
        """Launch a process from a template; `body["prerun"]` is keyed by field id."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/processes/launch-process/
        # Tallyfy has no idempotency key: a timeout here raises OutcomeUnknown, and the
        # caller looks the run up (find_runs) before launching again.
        if "prerun" in body and not isinstance(body["prerun"], dict):
            raise ValueError("prerun must be an object keyed by kick-off field id")
        created = self._api.request("POST", f"{self._org()}/runs", json_body=body)
        return parse_run(_unwrap(created, "launched run"))

    def get_run(self, run_id: str) -> Run:
        """One run."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/processes/get-process/
        body = self._api.request("GET", f"{self._org()}/runs/{quote(run_id, safe='')}")
        return parse_run(_unwrap(body, "run"))

    def find_runs(
        self,
        checklist_id: str | None = None,
        q: str | None = None,
        per_page: int = 25,
        page: int = 1,
    ) -> Page[Run]:
        """Runs, newest first, filtered by template and/or a search string."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/processes/list-processes/
        body = self._api.request(
            "GET",
            f"{self._org()}/runs",
            params={
                "checklist_id": checklist_id,
                "q": q or None,
                "sort": "-created_at",
                "page": page,
                "per_page": min(per_page, MAX_PER_PAGE),
            },
        )
        return _page(body, parse_run, page)

    # --- tasks ---------------------------------------------------------------------------

    def list_tasks(self, run_id: str) -> list[TallyfyTask]:
        """Every task of a run, with its form fields."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/tasks/list-process-tasks/
        path = f"{self._org()}/runs/{quote(run_id, safe='')}/tasks"
        return list(
            iter_pages(
                lambda page: _page(
                    self._api.request(
                        "GET",
                        path,
                        params={"with": "form_fields", "page": page, "per_page": MAX_PER_PAGE},
                    ),
                    parse_task,
                    page,
                )
            )
        )

    def get_task(self, run_id: str, task_id: str) -> TallyfyTask:
        """One task of a run, with its form fields and their values."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/tasks/get-task/
        path = f"{self._org()}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
        body = self._api.request("GET", path, params={"with": "form_fields"})
        return parse_task(_unwrap(body, "task"))

    def save_capture(self, task_id: str, capture_id: str, value: Any) -> dict[str, Any] | None:
        """Save one task form field ("capture"): one call per field, before completing.

        The seed recipe's way (docs/vendor-notes.md "Where the sources disagree", Task form
        values); `update_task`'s taskdata is the other. Answers the saved capture, if any.
        """
        path = f"{self._org()}/tasks/{quote(task_id, safe='')}/captures"
        body = self._api.request("POST", path, json_body={"id": capture_id, "value": value})
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else None

    def update_task(
        self,
        run_id: str,
        task_id: str,
        taskdata: Mapping[str, Any],
        *,
        owners: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> TallyfyTask | None:
        """Set a task's form values (keyed by field id). `owners` REPLACES the assignees."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/tasks/update-task/
        body: dict[str, Any] = {**(extra or {}), "taskdata": dict(taskdata)}
        if owners is not None:
            body["owners"] = dict(owners)
        path = f"{self._org()}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
        answer = self._api.request("PUT", path, json_body=body)
        return _task_or_none(answer)

    def complete_task(
        self, run_id: str, task_id: str, is_approved: bool | None = None
    ) -> TallyfyTask | None:
        """Complete a task (POST to the run's completed-tasks collection; values set before)."""
        # Docs: https://tallyfy.com/products/pro/integrations/open-api/code-samples/tasks/complete-task
        body: dict[str, Any] = {"task_id": task_id}
        if is_approved is not None:
            body["is_approved"] = is_approved
        path = f"{self._org()}/runs/{quote(run_id, safe='')}/completed-tasks"
        return _task_or_none(self._api.request("POST", path, json_body=body))


def _task_or_none(body: Any) -> TallyfyTask | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        data = body if isinstance(body, dict) else None
    return parse_task(data) if data and data.get("id") else None
