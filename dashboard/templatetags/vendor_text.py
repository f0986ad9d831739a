"""Filters for text and links that come from vendors (Tally answers, form, template,
organization and member names): what a person sees must be what it is."""

from __future__ import annotations

from django import template

from integrations.tally.display import http_url

register = template.Library()

# Bidirectional controls reorder the text around them: "invoice\u202efdp.exe" shows as
# "invoiceexe.pdf". They are shown as their escape instead, so the trick is visible.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


@register.filter
def visible(value) -> str:
    """`value` with every bidirectional control written as `\\u202e` (autoescaped as usual)."""
    if value is None:
        return ""
    text = str(value)
    if not BIDI_CONTROLS.intersection(text):
        return text
    return "".join(f"\\u{ord(c):04x}" if c in BIDI_CONTROLS else c for c in text)


@register.filter(name="http_url")
def http_url_filter(value) -> str:
    """The URL when it is http(s), else "" (no `javascript:` or `data:` link from vendor data)."""
    return http_url(value)
