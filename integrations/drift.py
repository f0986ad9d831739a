"""Drift: the template or the form changed under a saved mapping. Compares today's sides with
the snapshots the current version kept, stores the exact differences on the mapping (its
"needs attention"), and the periodic check runs it over every mapping in use."""

from __future__ import annotations

import logging

from django.utils import timezone

from . import engine
from .mappings import fetch_form, fetch_template, version_fields, version_sources
from .models import Mapping

log = logging.getLogger(__name__)


def _target_fields(mapping: Mapping, template) -> list | None:
    """What the mapping's rows fill today: the kick-off fields, or, for a "Complete a task"
    mapping, its step's task fields (None when Tallyfy did not list them: unknown, so no
    difference is claimed)."""
    if mapping.kind != Mapping.Kind.COMPLETE_TASK:
        return template.fields
    step = next((s for s in template.steps or () if s.id == mapping.step_id), None)
    if step is None:
        return [] if template.steps is not None else None
    return list(step.captures) if step.captures is not None else None


def mapping_check_drift(mapping: Mapping) -> list[str]:
    """Compare today's template and form with the current version's snapshots; store and
    return the exact differences (empty = fits)."""
    version = mapping.current_version
    if version is None:
        return []
    template = fetch_template(mapping.tallyfy_connection, mapping.template_id)
    form = fetch_form(mapping.tally_connection, mapping.form_id)
    targets = _target_fields(mapping, template)
    differences = engine.drift(
        version_fields(version),
        version_fields(version) if targets is None else targets,
        version_sources(version),
        form.sources,
    )
    if (
        mapping.kind == Mapping.Kind.COMPLETE_TASK
        and template.steps is not None
        and not any(s.id == mapping.step_id for s in template.steps)
    ):
        differences.insert(0, f"The template no longer has the step “{mapping.step_name}”.")
    Mapping.objects.filter(pk=mapping.pk).update(
        attention=differences, attention_checked_at=timezone.now()
    )
    mapping.attention = differences
    if differences:
        log.warning("mapping %s drifted: %s", mapping.pk, "; ".join(differences))
    return differences


def mappings_check_drift() -> int:
    """The periodic drift check over every saved mapping that is not switched off."""
    drifted = 0
    mappings = Mapping.objects.exclude(current_version=None).exclude(
        status__in=[Mapping.Status.DISABLED, Mapping.Status.ARCHIVED]
    )
    for mapping in mappings.select_related("current_version"):
        try:
            drifted += bool(mapping_check_drift(mapping))
        except Exception as exc:  # one unreadable mapping must not stop the others
            log.warning("drift check of mapping %s failed: %s", mapping.pk, exc)
    return drifted
