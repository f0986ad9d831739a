"""Form-field values rendered the way a person reads them in Tallyfy's run view."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import Group, User
from .values import is_empty, parse_date, parse_deadline, table_cells

EMPTY = mark_safe('<span class="muted">—</span>')


def _lines(text: str) -> SafeString:
    """Escaped text with each line break shown as one."""
    return mark_safe(escape(text).replace("\n", "<br>"))  # noqa: S308 (escaped first)


def render_value(field: dict[str, Any], value: Any) -> SafeString:
    """HTML for one stored value; a blank dash when the field shows nothing."""
    kind = field["field_type"]
    if is_empty(value):
        return EMPTY
    if kind == "textarea" and isinstance(value, str):
        return _lines(value)
    if kind == "date":
        parsed = parse_date(value)
        return format_html("{}", parsed.strftime("%-d %b %Y, %H:%M UTC") if parsed else value)
    if kind == "dropdown" and isinstance(value, dict):
        return format_html("{}", value.get("text", ""))
    if kind == "multiselect" and isinstance(value, list):
        # Items without "selected": true are stored but Tallyfy shows nothing for them.
        chosen = [i.get("text", "") for i in value if isinstance(i, dict) and i.get("selected")]
        if not chosen:
            return EMPTY
        return format_html_join(" ", '<span class="badge info">{}</span>', ((t,) for t in chosen))
    if kind == "table" and isinstance(value, list):
        columns = table_cells(field, value)
        if columns is None:
            return format_html("{}", value)
        rows = max((len(c) for c in columns), default=0)
        head = format_html_join("", "<th>{}</th>", ((c["label"],) for c in field["columns"]))
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        ((_lines(col[r]) if r < len(col) else "",) for col in columns),
                    ),
                )
                for r in range(rows)
            ),
        )
        return format_html(
            '<table class="data small"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            head,
            body,
        )
    if kind == "file" and isinstance(value, list):
        return format_html_join(
            "<br>",
            '<a href="{}" rel="noopener noreferrer">{}</a>',
            ((f.get("url", ""), f.get("filename", "")) for f in value if isinstance(f, dict)),
        )
    if kind == "assignees_form" and isinstance(value, dict):
        return format_html_join(", ", "{}", ((n,) for n in people_names(value)))
    return format_html("{}", value)


def people_names(owners: dict[str, Any]) -> list[str]:
    """Members' names, groups' names and guests' emails of `{users, groups, guests}`, in the
    order sent; an id that names nobody shows as the raw id, so a bad value stays visible."""
    users = {u.id: u.full_name for u in User.objects.filter(id__in=_ints(owners.get("users")))}
    groups = {g.id: g.name for g in Group.objects.filter(id__in=_strs(owners.get("groups")))}
    names = [users.get(u, f"user {u}") for u in owners.get("users") or []]
    names += [groups.get(g, f"group {g}") for g in owners.get("groups") or []]
    names += [f"{g} (guest)" for g in owners.get("guests") or []]
    return names


def deadline_text(value: str | None) -> str:
    """A task deadline as a person reads it: "Due 2026-12-15 17:00 UTC" ("" when none)."""
    if not value:
        return ""
    parsed = parse_deadline(value)
    return f"Due {parsed:%Y-%m-%d %H:%M} UTC" if parsed else f"Due {value}"


def _ints(items: Any) -> list[int]:
    return [i for i in items or [] if isinstance(i, int)]


def _strs(items: Any) -> list[str]:
    return [i for i in items or [] if isinstance(i, str)]
