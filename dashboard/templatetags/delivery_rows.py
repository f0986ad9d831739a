"""`{% about_row d as who %}`: who a row of the Deliveries list is about, from what the row
query already read (the head of the submission's answer text), for every page that shows
those rows."""

from django import template

from integrations.selectors.triage import respondent_email

register = template.Library()


@register.simple_tag
def about_row(delivery) -> dict[str, str]:
    email = respondent_email(getattr(delivery, "answers_head", ""))
    submission = delivery.submission
    form = submission.form_name or submission.form_id
    title = f"{email} · " if email else ""
    return {"email": email, "title": f"{title}submission {submission.submission_id} of {form}"}
