"""Errors in words in templates: `{% load explain %}`, then `{{ d|error_in_words }}` for a
delivery's last error (the Deliveries list), or `{{ key|cause_in_words }}` for a cause."""

from django import template

from integrations.explain import Explanation, cause_words, explain

register = template.Library()


@register.filter
def error_in_words(delivery) -> Explanation | None:
    """A delivery's last error explained (None without one). Reads `last_error_kind` when
    the row carries it, else the kind is told from the message and status."""
    message = getattr(delivery, "last_error", "") or ""
    if not message:
        return None
    mapping = getattr(delivery, "mapping", None)
    return explain(
        getattr(delivery, "last_error_kind", "") or "",
        message,
        getattr(delivery, "last_status_code", None),
        mapping_kind=getattr(mapping, "kind", "launch") or "launch",
    )


@register.filter
def cause_in_words(key: str) -> str:
    """A `cause` filter value, in words (for the filter's note on the Deliveries page)."""
    return cause_words(key)
