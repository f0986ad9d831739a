"""The mapping engine: Tally answers -> the body of Tallyfy's launch call (POST /runs).

Pure: no ORM, no HTTP, no vendor client (a test imports it in a fresh interpreter to keep it
so). The rules (`FieldRule`, `MappingSpec`) come from a saved mapping version, the answers
from `integrations.tally.answers`, the kick-off fields from `integrations.tallyfy.shapes`.
The vendor facts that force the odd choices are in docs/vendor-notes.md ("Launch" table);
the ones that bite hardest:

- `prerun` is keyed by kick-off field **id**: labels and aliases are silently dropped;
- each field type wants its own value shape (`encoders`), and option text is compared
  exactly (`options`);
- a missing required value is 91.8% of real launch failures: report it before sending.

One module per concern: `rules` (the shapes and problem codes), `compatibility` (which Tally
answers fit which field), `options`, `placeholders`, `encoders` (with `tables`), `marker`, `launch`,
`checks` (before any submission) and `drift`. The launch rules: `conditions` (`evaluate`),
`routing` (`route`: which mappings take a submission), `people`, `deadlines`, `choices` (option
tables, tags) and `rule_checks`. `fill` fills form fields from rules, for launches and for
`tasks` (completing a step's task from a follow-up form: captures, approval, run matching).
"""

from .checks import validate_rule, validate_rules, validate_spec
from .choices import chosen, option_lookup
from .compatibility import COMPATIBLE, compatible_sources, is_compatible
from .conditions import evaluate, parse_number
from .deadlines import DeadlineFormat, encode_deadline, parse_time_of_day
from .drift import drift
from .encoders import (
    SKIP,
    TEXT_MAX,
    TEXTAREA_MAX,
    encode_value,
    is_empty,
    is_valid_email,
    to_tallyfy_date,
)
from .launch import FALLBACK_NAME, NAME_MAX, build_launch
from .marker import MARKER_PREFIX, find_marker, reference_line
from .options import auto_match_options, find_option, resolve_option
from .people import OWNER_LABEL, PROCESS_LABEL, target_label
from .placeholders import (
    CONTEXT_PLACEHOLDERS,
    PlaceholderLookup,
    placeholders,
    render_template,
)
from .routing import route
from .rule_checks import launch_rule_problems
from .rules import (
    APPROVAL,
    BAD_DEADLINE,
    CONDITION,
    CONDITION_OPS,
    DEADLINE_PREFIX,
    DUPLICATE,
    GUEST_ONLY,
    INCOMPATIBLE,
    INVALID,
    MEMBER_EMAIL,
    MISSING_SOURCE,
    NAME,
    OPTIONS_UNKNOWN,
    OWNER,
    PAST_DEADLINE,
    PROCESS,
    REQUIRED,
    SEVERAL_OWNERS,
    STEP_PREFIX,
    SUMMARY,
    TAGS,
    TRUNCATED,
    UNDECIDED,
    UNDECIDED_OPTION,
    UNKNOWN_DECISION,
    UNKNOWN_FIELD,
    UNKNOWN_MEMBER,
    UNKNOWN_OPTION,
    UNKNOWN_PLACEHOLDER,
    UNKNOWN_SOURCE,
    UNKNOWN_STEP,
    UNMAPPED_CHOICE,
    UNMAPPED_TAG,
    UNMATCHED_OPTION,
    WARNING_CODES,
    ApprovalRule,
    Assignee,
    Clause,
    Condition,
    DeadlineRule,
    Directory,
    FieldRule,
    Group,
    LaunchPlan,
    MappingSpec,
    Member,
    PeopleRule,
    Problem,
    Route,
    RouteCandidate,
    Step,
    TagRule,
    TaskPlan,
    Verdict,
)
from .suggest import Suggestion, label_similarity, suggest_source
from .tables import TICK
from .tasks import (
    approval_problems,
    build_task,
    decide_approval,
    echoed_values,
    followup_link,
    match_runs,
    validate_task_spec,
    value_texts,
)

__all__ = [
    "APPROVAL",
    "BAD_DEADLINE",
    "COMPATIBLE",
    "CONDITION",
    "CONDITION_OPS",
    "CONTEXT_PLACEHOLDERS",
    "DEADLINE_PREFIX",
    "DUPLICATE",
    "FALLBACK_NAME",
    "GUEST_ONLY",
    "INCOMPATIBLE",
    "INVALID",
    "MARKER_PREFIX",
    "MEMBER_EMAIL",
    "MISSING_SOURCE",
    "NAME",
    "NAME_MAX",
    "OPTIONS_UNKNOWN",
    "OWNER",
    "OWNER_LABEL",
    "PAST_DEADLINE",
    "PROCESS",
    "PROCESS_LABEL",
    "REQUIRED",
    "SEVERAL_OWNERS",
    "SKIP",
    "STEP_PREFIX",
    "SUMMARY",
    "TAGS",
    "TEXTAREA_MAX",
    "TEXT_MAX",
    "TICK",
    "TRUNCATED",
    "UNDECIDED",
    "UNDECIDED_OPTION",
    "UNKNOWN_DECISION",
    "UNKNOWN_FIELD",
    "UNKNOWN_MEMBER",
    "UNKNOWN_OPTION",
    "UNKNOWN_PLACEHOLDER",
    "UNKNOWN_SOURCE",
    "UNKNOWN_STEP",
    "UNMAPPED_CHOICE",
    "UNMAPPED_TAG",
    "UNMATCHED_OPTION",
    "WARNING_CODES",
    "ApprovalRule",
    "Assignee",
    "Clause",
    "Condition",
    "DeadlineFormat",
    "DeadlineRule",
    "Directory",
    "FieldRule",
    "Group",
    "LaunchPlan",
    "MappingSpec",
    "Member",
    "PeopleRule",
    "PlaceholderLookup",
    "Problem",
    "Route",
    "RouteCandidate",
    "Step",
    "Suggestion",
    "TagRule",
    "TaskPlan",
    "Verdict",
    "approval_problems",
    "auto_match_options",
    "build_launch",
    "build_task",
    "chosen",
    "compatible_sources",
    "decide_approval",
    "drift",
    "echoed_values",
    "encode_deadline",
    "encode_value",
    "evaluate",
    "find_marker",
    "find_option",
    "followup_link",
    "is_compatible",
    "is_empty",
    "is_valid_email",
    "label_similarity",
    "launch_rule_problems",
    "match_runs",
    "option_lookup",
    "parse_number",
    "parse_time_of_day",
    "placeholders",
    "reference_line",
    "render_template",
    "resolve_option",
    "route",
    "suggest_source",
    "target_label",
    "to_tallyfy_date",
    "validate_rule",
    "validate_rules",
    "validate_spec",
    "validate_task_spec",
    "value_texts",
]
