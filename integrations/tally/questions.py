"""A form's questions with their options, as the mapping builder and the Forms pages need
them.

Tally's `GET /forms/{id}/questions` lists questions without their options; the options
are separate blocks of `GET /forms/{id}` that share the question's group uuid, and an
option block's uuid is the option id a webhook carries. Docs:
https://developers.tally.so/api-reference/endpoint/forms/get (blocks) and
https://developers.tally.so/api-reference/endpoint/forms/questions/list
"""

from __future__ import annotations

from typing import Any

from .answers import CHOICE_TYPES


def _groups(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per question group: options, matrix rows/columns and `isRequired` from the blocks."""
    groups: dict[str, dict[str, Any]] = {}
    for block in blocks:
        if not isinstance(block, dict) or not block.get("groupUuid"):
            continue
        payload = block.get("payload") if isinstance(block.get("payload"), dict) else {}
        info = groups.setdefault(str(block["groupUuid"]), {"options": []})
        block_type = str(block.get("type") or "")
        if block_type.endswith("_OPTION") or block_type == "CHECKBOX":
            info["options"].append(
                {"id": str(block.get("uuid") or ""), "text": str(payload.get("text") or "")}
            )
        for key in ("rows", "columns"):
            if isinstance(payload.get(key), list):
                info[key] = payload[key]
        if "isRequired" in payload:
            info["required"] = bool(payload["isRequired"])
    return groups


def _as_dict(question: Any) -> dict[str, Any]:
    if isinstance(question, dict):
        return dict(question)
    raw = getattr(question, "raw", None)
    if raw:
        return dict(raw)
    return {"id": question.id, "type": question.type, "title": question.title, "fields": []}


def _group_of(question: dict[str, Any]) -> str | None:
    for f in question.get("fields") or []:
        if isinstance(f, dict) and f.get("blockGroupUuid"):
            return str(f["blockGroupUuid"])
    # The `{uuid, type, title}` shape has no fields; its uuid may name the block group.
    return str(question["uuid"]) if question.get("uuid") else None


def questions_with_options(questions: list[Any], blocks: list[dict[str, Any]]) -> list[dict]:
    """The questions (dicts or `TallyQuestion`s) as dicts, with `options`, `rows`,
    `columns` and `required` filled in from the form's blocks."""
    groups = _groups(blocks)
    out = []
    for question in questions:
        data = _as_dict(question)
        info = groups.get(_group_of(data) or "")
        if info:
            if info["options"] and not data.get("options"):
                data["options"] = info["options"]
            for key in ("rows", "columns", "required"):
                if key in info and key not in data:
                    data[key] = info[key]
        out.append(data)
    return out


def choices_without_block_options(questions: list[Any], blocks: list[dict[str, Any]]) -> list[str]:
    """The titles of the choice questions whose options the form's blocks do not carry."""
    groups = _groups(blocks)
    missing = []
    for question in questions:
        data = _as_dict(question)
        if str(data.get("type") or "") not in CHOICE_TYPES:
            continue
        info = groups.get(_group_of(data) or "")
        if not (info and info["options"]):
            missing.append(str(data.get("title") or data.get("id") or data.get("uuid") or "?"))
    return missing
