"""`{{ value|pretty_json }}`: a JSON value as staff read it in a request or answer body."""

import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
