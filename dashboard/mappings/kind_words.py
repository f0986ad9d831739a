"""What a mapping does, in words, for its page: the step, the run rule and the approval of a
"Complete a task" mapping; the follow-up form of a launch mapping."""

from __future__ import annotations

from integrations import launchrules
from integrations.mapping_words import approval_words, condition_words, run_match_words
from integrations.mappings import version_sources
from integrations.models import Mapping

from .followup import link_shape


def kind_context(mapping: Mapping) -> dict:
    version = mapping.current_version
    if version is None:
        return {"kind_lines": []}
    labels = {s.key: s.label or s.key for s in version_sources(version)}
    if mapping.kind == Mapping.Kind.COMPLETE_TASK:
        condition = condition_words(launchrules.condition_from_json(version.condition))
        lines = [
            ("Which run", run_match_words(version.run_match, labels)),
            (
                "Completes",
                "for every submission" if condition == "every submission" else f"when {condition}",
            ),
        ]
        if version.approval:
            lines.append(("Approval", approval_words(version.approval, labels)))
        return {"kind_lines": lines}
    if version.followup_form_id:
        return {
            "kind_lines": [
                ("Follow-up form", version.followup_form_id),
                ("Follow-up link", link_shape(version.followup_form_id)),
            ]
        }
    return {"kind_lines": []}
