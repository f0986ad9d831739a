"""`{% about_row d as who %}`: who a row of the Deliveries list is about, from what the row
query already read (the head of the submission's answer text), for every page that shows
those rows."""

from django import template
from django.utils import timezone

from integrations.selectors.triage import respondent_email

register = template.Library()


@register.simple_tag
def about_row(delivery) -> dict[str, str]:
    email = respondent_email(getattr(delivery, "answers_head", ""))
    submission = delivery.submission
    form = submission.form_name or submission.form_id
    title = f"{email} · " if email else ""
    return {"email": email, "title": f"{title}submission {submission.submission_id} of {form}"}


@register.filter
def next_try(when) -> str:
    """ "next try in 25 s": what static/js/triage.js then counts down (the same words)."""
    if when is None:
        return ""
    s = round((when - timezone.now()).total_seconds())
    if s <= 0:
        return "trying now…"
    if s < 60:
        return f"next try in {s} s"
    if s < 3600:
        return f"next try in {round(s / 60)} min"
    return f"next try in {round(s / 3600)} h"
