"""Staff emailed when a delivery fails for good (no automatic retry left)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail

from .models import Delivery


def header_safe(text: str, limit: int = 200) -> str:
    """A mail header value from vendor or user text: Django refuses a header with a line
    break (BadHeaderError), which `fail_silently` would turn into no email at all."""
    return " ".join(str(text).split())[:limit]


#: At most one failure email per mapping in this many seconds.
FAILURE_EMAIL_EVERY_SECONDS = 600


def delivery_failure_email(delivery: Delivery, *, message: str) -> None:
    """Tell staff a delivery failed for good: at most one email per mapping per 10 min."""
    if not cache.add(
        f"kickoff:delivery-failed-mail:{delivery.mapping_id}", 1, FAILURE_EMAIL_EVERY_SECONDS
    ):
        return
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    link = f"{settings.PUBLIC_BASE_URL}/deliveries/{delivery.pk}/"
    send_mail(
        header_safe(f"[Kickoff] A submission could not be launched ({delivery.mapping.name})"),
        (
            f"Delivery {delivery.pk} of submission {delivery.submission.submission_id} "
            f"(form {delivery.submission.form_id}) through “{delivery.mapping.name}” failed "
            f"and will not be retried automatically:\n\n{message}\n\n"
            f"Fix the mapping or the data and retry it here: {link}\n"
            "(Further failures of this mapping in the next 10 minutes are not emailed; "
            "they are all on the deliveries page.)\n"
        ),
        None,
        recipients,
        fail_silently=True,
    )
