"""Submissions no mapping took (every delivery of theirs ended "Skipped — no rule matched")."""

from __future__ import annotations

from datetime import datetime

from ..models import Delivery, Submission


def unrouted_submissions(*, since: datetime) -> int:
    """How many submissions received since `since` no enabled mapping took.

    Counted per submission: two conditional mappings that both pass one submission by
    are one submission to look at, not two.
    """
    skipped = Delivery.objects.filter(status=Delivery.Status.SKIPPED).values("submission_id")
    return (
        Submission.objects.filter(received_at__gte=since, pk__in=skipped)
        .exclude(deliveries__status__in=_TAKEN)
        .count()
    )


#: A delivery in any of these means some mapping took (or may still take) the submission.
_TAKEN = [
    s for s in Delivery.Status.values if s not in (Delivery.Status.SKIPPED, Delivery.Status.ROUTED)
]
