"""How a person reads a Tally answer: one line, its parts, and its files as links.

Pure functions over `Answer`s (no ORM, no HTTP), for the dashboard, the CSV export, the
ingest summary and the encoders that send an answer as text or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .answers import FILE_TYPES, Answer, format_scalar, matrix_rows, selected_options


@dataclass(frozen=True)
class Link:
    name: str
    url: str


@dataclass(frozen=True)
class Display:
    """How a person sees an answer.

    `text` is one line (None when unanswered, so a template can show a dash); `items` holds
    the parts when the answer has several (choice texts, matrix rows, file names); `links`
    holds files as (name, url).
    """

    text: str | None
    items: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()

    @property
    def answered(self) -> bool:
        return self.text is not None


def http_url(value: Any) -> str:
    """`value` when it is an http(s) URL, else "": a `javascript:` or `data:` URL from a
    respondent must never become a live link (or be sent on as one)."""
    url = str(value or "").strip()
    scheme, sep, _ = url.partition(":")
    return url if sep and scheme.lower() in ("http", "https") else ""


def files(answer: Answer) -> list[Link]:
    """Uploaded files (FILE_UPLOAD, SIGNATURE) as (name, url); entries without a url (or
    with one that is not http(s)) are kept with an empty url so nobody thinks the file was
    never sent."""
    out = []
    for item in answer.value if isinstance(answer.value, list) else []:
        if isinstance(item, dict):
            given = str(item.get("url") or "")
            name = str(item.get("name") or "") or _basename(given) or "file"
            out.append(Link(name=name, url=http_url(given)))
        elif isinstance(item, str) and item:
            out.append(Link(name=_basename(item) or item, url=http_url(item)))
    return out


def _basename(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def display(answer: Answer) -> Display:
    """How a person sees `answer` (dashboard submission view, CSV export).

    Option ids become option texts; a checkbox question shows once (its per-option boolean
    fields never become answers); files become links; a matrix becomes "row: columns";
    unanswered is `text=None`; `0` shows "0" and `False` shows "No".
    """
    value = answer.value
    if value is None:
        return Display(text=None)
    if answer.type == "MATRIX" and isinstance(value, dict):
        items = tuple(
            f"{row.text}: {', '.join(c.text for c in cols)}" for row, cols in matrix_rows(answer)
        )
        return Display(text="; ".join(items), items=items)
    if answer.type in FILE_TYPES or _looks_like_files(value):
        links = tuple(files(answer))
        return Display(
            text=", ".join(f.name for f in links), items=tuple(f.name for f in links), links=links
        )
    if isinstance(value, list):
        if answer.is_choice or answer.options:
            items = tuple(o.text for o in selected_options(answer))
        else:
            items = tuple(_plain(v) for v in value)
        return Display(text=", ".join(items), items=items)
    if isinstance(value, dict):
        items = tuple(f"{k}: {_plain(v)}" for k, v in value.items())
        return Display(text="; ".join(items), items=items)
    return Display(text=format_scalar(value))


# Deeper parts show as "…": a body nested hundreds deep (stored before the receiver refused
# them, or read from Tally's API) would otherwise exhaust the stack of the page or worker.
MAX_SHOWN_DEPTH = 8


def _plain(value: Any, depth: int = 0) -> str:
    if isinstance(value, dict | list) and depth >= MAX_SHOWN_DEPTH:
        return "…"
    if isinstance(value, dict):
        for key in ("text", "name", "label", "value", "id"):
            if key in value:
                return _plain(value[key], depth + 1)
        return ", ".join(f"{k}: {_plain(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v, depth + 1) for v in value)
    return format_scalar(value)


def _looks_like_files(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "url" in v for v in value)
    )
