"""Pure functions from stored rows to Tally's JSON shapes (docs/vendor-notes.md, Tally half).

No I/O here except reading model attributes.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from .catalog import (
    CHOICE_TYPES,
    FILE_TYPES,
    NUMBER_TYPES,
    PAYMENT_PARTS,
    SINGLE_CHOICE_TYPES,
    VARIABLE_TYPES,
)

_NS = uuid.UUID("0b1d6a0e-4d8f-4a55-9f0c-5a9a7e6f2c11")


def iso(dt: datetime | None) -> str | None:
    """Tally's timestamps: UTC, milliseconds, `Z`."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, ":".join(parts)))


def short_id(*parts: str, length: int = 6) -> str:
    """A Tally-like id (letters and digits) derived from `parts`."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    n = int(hashlib.sha256(":".join(parts).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


# --- Form, blocks, questions -----------------------------------------------------------


def form_list_item(form, number_of_submissions: int) -> dict:
    return {
        "id": form.id,
        "name": form.name,
        "workspaceId": form.owner.workspace_id,
        "status": form.status,
        "numberOfSubmissions": number_of_submissions,
        "isClosed": form.is_closed,
        "createdAt": iso(form.created_at),
        "updatedAt": iso(form.updated_at),
    }


def group_uuid(form_id: str, q: dict) -> str:
    return stable_uuid(form_id, q["id"], "group")


def field_uuid(form_id: str, q: dict) -> str:
    return stable_uuid(form_id, q["id"], "input")


_OPTION_BLOCK = {
    "MULTIPLE_CHOICE": "MULTIPLE_CHOICE_OPTION",
    "CHECKBOXES": "CHECKBOX",
    "DROPDOWN": "DROPDOWN_OPTION",
    "MULTI_SELECT": "MULTI_SELECT_OPTION",
    "RANKING": "RANKING_OPTION",
}


def form_blocks(form) -> list[dict]:
    """Tally's block list: a form title, then per question a title block and its inputs."""
    blocks = [
        {
            "uuid": stable_uuid(form.id, "title"),
            "type": "FORM_TITLE",
            "groupUuid": stable_uuid(form.id, "title-group"),
            "groupType": "FORM_TITLE",
            "payload": {"title": form.name},
        }
    ]
    for q in form.questions:
        group = group_uuid(form.id, q)
        qtype = q["type"]
        if qtype not in VARIABLE_TYPES:
            blocks.append(
                {
                    "uuid": stable_uuid(form.id, q["id"], "title"),
                    "type": "TITLE",
                    "groupUuid": stable_uuid(form.id, q["id"], "title-group"),
                    "groupType": "QUESTION",
                    "payload": {"title": q["title"]},
                }
            )
        if qtype == "HIDDEN_FIELDS":
            payload = {
                "hiddenFields": [{"uuid": v["uuid"], "name": v["name"]} for v in q["variables"]]
            }
            blocks.append(_block(q, group, stable_uuid(form.id, q["id"], "input"), qtype, payload))
        elif qtype == "CALCULATED_FIELDS":
            payload = {
                "calculatedFields": [
                    {"uuid": v["uuid"], "name": v["name"], "type": v.get("kind", "NUMBER")}
                    for v in q["variables"]
                ]
            }
            blocks.append(_block(q, group, stable_uuid(form.id, q["id"], "input"), qtype, payload))
        elif qtype in CHOICE_TYPES:
            for i, opt in enumerate(q["options"]):
                payload = {"index": i, "text": opt["text"], "isRequired": q.get("required", False)}
                blocks.append(_block(q, group, opt["id"], _OPTION_BLOCK[qtype], payload))
        elif qtype == "MATRIX":
            payload = {
                "isRequired": q.get("required", False),
                "rows": q["rows"],
                "columns": q["columns"],
            }
            blocks.append(_block(q, group, field_uuid(form.id, q), qtype, payload))
        elif qtype == "PAYMENT":
            payload = {
                "amount": q.get("amount"),
                "currency": q.get("currency"),
                "isRequired": False,
            }
            blocks.append(_block(q, group, field_uuid(form.id, q), qtype, payload))
        else:
            payload = {"isRequired": q.get("required", False), "placeholder": ""}
            blocks.append(_block(q, group, field_uuid(form.id, q), qtype, payload))
    return blocks


def _block(q: dict, group: str, block_uuid: str, block_type: str, payload: dict) -> dict:
    return {
        "uuid": block_uuid,
        "type": block_type,
        "groupUuid": group,
        "groupType": q["type"],
        "payload": payload,
    }


def form_settings(form) -> dict:
    return {
        "language": "en",
        "isClosed": form.is_closed,
        "closeMessageTitle": None,
        "closeMessageDescription": None,
        "closeTimezone": None,
        "closeDate": None,
        "closeTime": None,
        "submissionsLimit": None,
        "uniqueSubmissionKey": None,
        "redirectOnCompletion": None,
        "hasSelfEmailNotifications": False,
        "hasRespondentEmailNotifications": False,
        "hasProgressBar": False,
        "hasPartialSubmissions": True,
        "pageAutoJump": False,
        "saveForLater": True,
        "styles": None,
        "password": None,
    }


def form_detail(form) -> dict:
    return {
        "id": form.id,
        "name": form.name,
        "status": form.status,
        "blocks": form_blocks(form),
        "settings": form_settings(form),
    }


def questions_json(form) -> list[dict]:
    out = []
    for q in form.questions:
        group = group_uuid(form.id, q)
        if q["type"] in VARIABLE_TYPES:
            fields = [
                {
                    "uuid": v["uuid"],
                    "type": q["type"],
                    "questionType": q["type"],
                    "blockGroupUuid": group,
                    "title": v["name"],
                }
                for v in q["variables"]
            ]
        else:
            fields = [
                {
                    "uuid": field_uuid(form.id, q),
                    "type": q["type"],
                    "questionType": q["type"],
                    "blockGroupUuid": group,
                    "title": q["title"],
                }
            ]
        out.append({"id": q["id"], "type": q["type"], "title": q["title"], "fields": fields})
    return out


# --- Answers: REST responses --------------------------------------------------------------


def _texts(q: dict, ids: list, key: str = "options") -> list:
    by_id = {o["id"]: o["text"] for o in q.get(key, [])}
    return [by_id.get(i, i) for i in ids]


def rest_answer(q: dict, value: Any) -> Any:
    """The REST `answer` of one question: option *texts* for choices (as Tally's REST shows
    them), `{name: value}` for hidden/calculated fields, a dict for payment."""
    qtype = q["type"]
    if qtype in VARIABLE_TYPES:
        return {v["name"]: value.get(v["uuid"]) for v in q["variables"] if v["uuid"] in value}
    if qtype in CHOICE_TYPES:
        return _texts(q, value if isinstance(value, list) else [value])
    if qtype == "MATRIX":
        rows = {r["id"]: r["text"] for r in q["rows"]}
        return {rows.get(r, r): _texts(q, cols, "columns") for r, cols in value.items()}
    return value


def formatted_answer(q: dict, value: Any) -> str:
    qtype = q["type"]
    answer = rest_answer(q, value)
    if qtype in VARIABLE_TYPES:
        return ", ".join(f"{k}: {v}" for k, v in answer.items())
    if qtype in CHOICE_TYPES:
        return ", ".join(str(a) for a in answer)
    if qtype == "MATRIX":
        return "; ".join(f"{row}: {', '.join(cols)}" for row, cols in answer.items())
    if qtype in FILE_TYPES:
        return ", ".join(f["name"] for f in answer)
    if qtype == "PAYMENT":
        return f"{answer.get('price')} {answer.get('currency')} ({answer.get('name')})"
    return str(answer)


def _answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return any(v is not None for v in value.values())
    return True


def submission_json(sub, form, *, formatted: bool = False) -> dict:
    responses = []
    for q in form.questions:
        value = sub.answers.get(q["id"])
        if not _answered(value):
            continue
        item = {
            "id": short_id(sub.public_id, q["id"], length=7),
            "questionId": q["id"],
            "answer": rest_answer(q, value),
        }
        if formatted:
            item["formattedAnswer"] = formatted_answer(q, value)
        responses.append(item)
    return {
        "id": sub.public_id,
        "formId": form.id,
        "respondentId": sub.respondent_id,
        "isCompleted": sub.is_completed,
        "submittedAt": iso(sub.submitted_at),
        "responses": responses,
    }


# --- Answers: webhook fields ------------------------------------------------------------


def webhook_fields(form, answers: dict) -> list[dict]:
    """`data.fields` of a FORM_RESPONSE: every question, unanswered ones with `value: null`."""
    fields: list[dict] = []
    for q in form.questions:
        qid, qtype, title = q["id"], q["type"], q["title"]
        key = f"question_{qid}"
        value = answers.get(qid)
        if qtype in VARIABLE_TYPES:
            value = value or {}
            for v in q["variables"]:
                fields.append(
                    {
                        "key": f"{key}_{v['uuid']}",
                        "label": v["name"],
                        "type": qtype,
                        "value": value.get(v["uuid"]),
                    }
                )
        elif qtype == "PAYMENT":
            value = value or {}
            for part in PAYMENT_PARTS:
                fields.append(
                    {
                        "key": f"{key}_{part}",
                        "label": f"{title} ({part})",
                        "type": qtype,
                        "value": value.get(part),
                    }
                )
        elif qtype == "CHECKBOXES":
            options = [{"id": o["id"], "text": o["text"]} for o in q["options"]]
            fields.append(
                {"key": key, "label": title, "type": qtype, "value": value, "options": options}
            )
            # One boolean field per option; null when the question went unanswered.
            for o in q["options"]:
                fields.append(
                    {
                        "key": f"{key}_{o['id']}",
                        "label": f"{title} ({o['text']})",
                        "type": qtype,
                        "value": None if value is None else o["id"] in value,
                    }
                )
        elif qtype in CHOICE_TYPES:
            options = [{"id": o["id"], "text": o["text"]} for o in q["options"]]
            fields.append(
                {"key": key, "label": title, "type": qtype, "value": value, "options": options}
            )
        elif qtype == "MATRIX":
            fields.append(
                {
                    "key": key,
                    "label": title,
                    "type": qtype,
                    "value": value,
                    "rows": [{"id": r["id"], "text": r["text"]} for r in q["rows"]],
                    "columns": [{"id": c["id"], "text": c["text"]} for c in q["columns"]],
                }
            )
        else:
            fields.append({"key": key, "label": title, "type": qtype, "value": value})
    return fields


def webhook_envelope(*, event_id: str, created_at: datetime, form, sub) -> dict:
    return {
        "eventId": event_id,
        "eventType": "FORM_RESPONSE",
        "createdAt": iso(created_at),
        "data": {
            "responseId": sub.public_id,
            "submissionId": sub.public_id,
            "respondentId": sub.respondent_id,
            "formId": form.id,
            "formName": form.name,
            "createdAt": iso(sub.submitted_at),
            "fields": webhook_fields(form, sub.answers),
        },
    }


# --- Parsing answers given by field key, question id or label ---------------------------


class AnswerError(ValueError):
    pass


def _resolve_option(q: dict, item: Any, key: str = "options") -> str:
    options = q.get(key, [])
    for o in options:
        if item == o["id"]:
            return o["id"]
    for o in options:
        if item == o["text"]:
            return o["id"]
    if isinstance(item, str):
        for o in options:
            if item.strip().casefold() == o["text"].strip().casefold():
                return o["id"]
    raise AnswerError(f"{q['title']!r}: unknown option {item!r}")


def _coerce(q: dict, value: Any) -> Any:
    qtype = q["type"]
    if value is None:
        return None
    if qtype in CHOICE_TYPES:
        items = value if isinstance(value, list) else [value]
        ids = [_resolve_option(q, i) for i in items]
        if qtype in SINGLE_CHOICE_TYPES and len(ids) > 1:
            raise AnswerError(f"{q['title']!r}: pick one option")
        return ids
    if qtype == "MATRIX":
        if not isinstance(value, dict):
            raise AnswerError(f"{q['title']!r}: expected an object of row -> [column]")
        out = {}
        for row, cols in value.items():
            row_id = _resolve_option(q, row, "rows")
            cols = cols if isinstance(cols, list) else [cols]
            out[row_id] = [_resolve_option(q, c, "columns") for c in cols]
        return out
    if qtype in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise AnswerError(f"{q['title']!r}: expected a number")
        try:
            number = float(value)
        except ValueError:
            raise AnswerError(f"{q['title']!r}: expected a number") from None
        return int(number) if number.is_integer() else number
    if qtype in FILE_TYPES:
        if not isinstance(value, list):
            raise AnswerError(f"{q['title']!r}: expected a list of files")
        return value
    return value


def parse_answers(form, given: dict) -> dict:
    """Answers keyed by webhook field key (`question_<id>`, `question_<id>_<uuid>`,
    `question_<id>_price`, checkbox `question_<id>_<optionId>`), question id or label."""
    by_id = {q["id"]: q for q in form.questions}
    by_title = {q["title"]: q for q in form.questions}
    answers: dict[str, Any] = {}
    for raw_key, value in given.items():
        key = raw_key[len("question_") :] if raw_key.startswith("question_") else raw_key
        qid, _, sub = key.partition("_")
        q = by_id.get(qid) or by_id.get(key) or by_title.get(raw_key)
        if q is None:
            raise AnswerError(f"unknown field {raw_key!r}")
        if q is not by_id.get(qid):
            sub = ""
        qtype = q["type"]
        if qtype in VARIABLE_TYPES or qtype == "PAYMENT":
            parts = answers.setdefault(q["id"], {})
            if sub:
                names = {v["uuid"]: v["uuid"] for v in q.get("variables", [])}
                names.update({p: p for p in PAYMENT_PARTS})
                names.update({v["name"]: v["uuid"] for v in q.get("variables", [])})
                if sub not in names:
                    raise AnswerError(f"unknown field {raw_key!r}")
                parts[names[sub]] = value
            elif isinstance(value, dict):
                for name, v in value.items():
                    uuid_by_name = {x["name"]: x["uuid"] for x in q.get("variables", [])}
                    parts[uuid_by_name.get(name, name)] = v
            else:
                raise AnswerError(f"{q['title']!r}: expected an object")
        elif qtype == "CHECKBOXES" and sub:
            option_id = _resolve_option(q, sub)
            chosen = answers.setdefault(q["id"], [])
            if chosen is None:
                chosen = answers[q["id"]] = []
            if value and option_id not in chosen:
                chosen.append(option_id)
        elif sub:
            raise AnswerError(f"unknown field {raw_key!r}")
        else:
            coerced = _coerce(q, value)
            if qtype == "CHECKBOXES" and isinstance(answers.get(q["id"]), list) and coerced:
                coerced = list(dict.fromkeys(answers[q["id"]] + coerced))
            answers[q["id"]] = coerced
    # Keep checkbox answers in option order, like Tally.
    for q in form.questions:
        if q["type"] == "CHECKBOXES" and isinstance(answers.get(q["id"]), list):
            order = [o["id"] for o in q["options"]]
            answers[q["id"]] = sorted(answers[q["id"]], key=order.index)
    return answers
