"""Which of a form's mappings take one submission, and why, in words for each mapping.

- a mapping with a condition takes it when the condition matches;
- a mapping with no condition (and not `otherwise`) always takes it (as before conditions);
- an `otherwise` mapping takes it only when no mapping with a condition took it, and its own
  condition, if it has one, matches.

The outcome depends on the candidates, never on their order.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.tally.answers import Answer

from .conditions import evaluate, quoted
from .rules import Route, RouteCandidate, Verdict


def route(answers: Sequence[Answer], candidates: Sequence[RouteCandidate]) -> Route:
    """The mappings that take the submission, with a reason for every candidate."""
    ordered = sorted(candidates, key=lambda c: (c.mapping_id, c.name))
    verdicts = {c.mapping_id: evaluate(c.condition, answers) for c in ordered}
    conditional = [c for c in ordered if not c.otherwise and c.condition.clauses]
    takers = [c for c in conditional if verdicts[c.mapping_id].matched]
    taken: set[int] = set()
    reasons: dict[int, str] = {}
    for c in ordered:
        verdict = verdicts[c.mapping_id]
        if c.otherwise and takers:
            reasons[c.mapping_id] = _routed_elsewhere(takers, verdicts)
            continue
        if not verdict.matched:
            reasons[c.mapping_id] = f"No rule matched: {_why(verdict)}"
            continue
        taken.add(c.mapping_id)
        if c.otherwise:
            own = f" and {_why(verdict)}" if verdict.reasons else ""
            reasons[c.mapping_id] = f"Takes it: no other rule matched (otherwise){own}"
        elif verdict.reasons:
            reasons[c.mapping_id] = f"Takes it: {_why(verdict)}"
        else:
            reasons[c.mapping_id] = "Takes it: no condition"
    return Route(taken=frozenset(taken), reasons=reasons)


def _why(verdict: Verdict) -> str:
    return "; ".join(verdict.deciding)


def _routed_elsewhere(takers: Sequence[RouteCandidate], verdicts: dict[int, Verdict]) -> str:
    named = sorted(takers, key=lambda c: (c.name, c.mapping_id))
    if len(named) == 1:
        only = named[0]
        return f"Routed to {quoted(only.name)}: {_why(verdicts[only.mapping_id])}"
    parts = "; ".join(f"{quoted(c.name)} ({_why(verdicts[c.mapping_id])})" for c in named)
    return f"Routed to {parts}"
