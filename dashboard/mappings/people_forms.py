"""The builder's "People" rows: who owns the process, who is on it, who owns each step.

One small form per slot (`owner`, `process`, `step:<step id>`), built from Tallyfy's members
and groups so pickers show names and emails, never raw ids; the saved assignee carries the
label it was picked by.
"""

from __future__ import annotations

from typing import Any

from django import forms

from integrations import engine
from integrations.engine.rules import Assignee, PeopleRule
from integrations.tally.answers import Answer

CONSTANT, EMAIL, CHOICE = "constant", "email", "choice"
# Questions an email can be typed into (a text one is accepted too: forms often use one).
EMAIL_TYPES = {"INPUT_EMAIL", "INPUT_TEXT", "HIDDEN_FIELDS"}

UNKNOWN_MEMBER = "No Tallyfy member has the id %(value)s: pick one from the list."
UNKNOWN_PERSON = "No Tallyfy member or group is %(value)s: pick one from the list."

SOURCE_WORDS = {
    "owner": {
        "": "Tallyfy's default (whoever launches)",
        CONSTANT: "A member",
        EMAIL: "The member whose email a question holds",
        CHOICE: "Depends on a choice question",
    },
    "process": {
        "": "Nobody besides the owner",
        CONSTANT: "Chosen members and groups",
        EMAIL: "The member whose email a question holds",
        CHOICE: "Depends on a choice question",
    },
    "step": {
        "": "As the template assigns it",
        CONSTANT: "Chosen members, groups and guests",
        EMAIL: "From an email question (no member → invited as a guest)",
        CHOICE: "Depends on a choice question",
    },
}


def member_label(member: engine.Member) -> str:
    return f"{member.name} <{member.email}>" if member.name else member.email


def question_label(answer: Answer) -> str:
    return answer.label or answer.key


def slot_kind(target: str) -> str:
    return "step" if target.startswith("step:") else target


class PeopleForm(forms.Form):
    """Who one slot gets. `target`: `owner`, `process` or `step:<step id>`."""

    source = forms.ChoiceField(required=False, label="Who")
    members = forms.MultipleChoiceField(
        required=False, label="Members", error_messages={"invalid_choice": UNKNOWN_MEMBER}
    )
    groups = forms.MultipleChoiceField(
        required=False,
        label="Groups",
        error_messages={"invalid_choice": "No Tallyfy group is %(value)s: pick one from the list."},
    )
    guests = forms.CharField(
        required=False, label="Guests", help_text="Emails, comma-separated (not members)."
    )
    email_key = forms.ChoiceField(required=False, label="Email question")
    choice_key = forms.ChoiceField(required=False, label="Choice question")

    def __init__(
        self,
        data,
        *,
        target: str,
        title: str,
        sources: list[Answer],
        directory: engine.Directory,
        rule: PeopleRule | None,
        refresh_url: str,
    ):
        self.target, self.title, self.kind = target, title, slot_kind(target)
        prefix = "people-" + target.replace(":", "-")
        super().__init__(data, prefix=prefix, initial=_initial(rule))
        self.saved_map = dict(rule.option_map) if rule else {}
        self.directory = directory
        self.members_by_id = {str(m.id): m for m in directory.members}
        self.groups_by_id = {g.id: g for g in directory.groups}
        self.sources_by_key = {s.key: s for s in sources}
        words = SOURCE_WORDS[self.kind]
        self.fields["source"].choices = list(words.items())
        refresh = {"hx-post": refresh_url}
        self.fields["source"].widget.attrs.update(refresh)
        self.fields["choice_key"].widget.attrs.update(refresh)
        member_choices = [(str(m.id), member_label(m)) for m in directory.members]
        if self.kind == "owner":
            # One owner: a single pick.
            self.fields["members"] = forms.ChoiceField(
                required=False,
                label="Member",
                choices=[("", "— choose a member —"), *member_choices],
                error_messages={"invalid_choice": UNKNOWN_MEMBER},
            )
            del self.fields["groups"], self.fields["guests"]
        else:
            self.fields["members"].choices = member_choices
            self.fields["groups"].choices = [(g.id, g.name) for g in directory.groups]
            if self.kind != "step":
                del self.fields["guests"]
        self.fields["email_key"].choices = [("", "— choose a question —")] + [
            (s.key, question_label(s)) for s in sources if s.type in EMAIL_TYPES
        ]
        self.fields["choice_key"].choices = [("", "— choose a question —")] + [
            (s.key, question_label(s)) for s in sources if s.is_choice and s.options
        ]
        self._add_option_fields()

    # --- the choice table: one row per option of the chosen question -----------------------

    def chosen(self, name: str) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix(name), "")
        return self.initial.get(name, "")

    def _add_option_fields(self) -> None:
        self.option_rows: list[tuple[Any, Any]] = []
        question = self.sources_by_key.get(self.chosen("choice_key"))
        if self.chosen("source") != CHOICE or question is None:
            return
        people = [(f"user:{k}", member_label(m)) for k, m in self.members_by_id.items()]
        if self.kind != "owner":
            people += [(f"group:{g.id}", f"Group: {g.name}") for g in self.directory.groups]
        for option in question.options:
            name = f"opt-{option.id}"
            saved = [f"{a.kind}:{a.id}" for a in self.saved_map.get(option.id, ())]
            if self.kind == "owner":
                field = forms.ChoiceField(
                    required=False,
                    choices=[("", "— nobody —"), *people],
                    initial=saved[0] if saved else "",
                    error_messages={"invalid_choice": UNKNOWN_MEMBER},
                )
            else:
                field = forms.MultipleChoiceField(
                    required=False,
                    choices=people,
                    initial=saved,
                    error_messages={"invalid_choice": UNKNOWN_PERSON},
                )
            field.label = option.text
            self.fields[name] = field
            self.option_rows.append((option, self[name]))

    # --- checks and result -----------------------------------------------------------------

    def clean_guests(self) -> list[str]:
        emails = [e.strip() for e in self.cleaned_data.get("guests", "").split(",") if e.strip()]
        bad = [e for e in emails if not engine.is_valid_email(e)]
        if bad:
            raise forms.ValidationError(f"Not an email address: {', '.join(bad)}.")
        return emails

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == CONSTANT:
            picked = data.get("members") or data.get("groups") or data.get("guests")
            if not picked:
                self.add_error("members", "Pick at least one, or choose another “Who”.")
            elif self.kind == "step" and not (data.get("members") or data.get("groups")):
                self.add_error(
                    "guests",
                    "Tallyfy refuses a step assigned to guests only: add a member or a group.",
                )
        elif source == EMAIL and not data.get("email_key"):
            self.add_error("email_key", "Pick the question that holds the email.")
        elif source == CHOICE and not data.get("choice_key"):
            self.add_error("choice_key", "Pick the choice question.")
        return data

    def _assignee(self, value: str) -> Assignee | None:
        kind, _, ident = value.partition(":")
        if kind == "user" and ident in self.members_by_id:
            m = self.members_by_id[ident]
            return Assignee("user", ident, m.name or m.email)
        if kind == "group" and ident in self.groups_by_id:
            return Assignee("group", ident, self.groups_by_id[ident].name)
        return None

    def _picked(self, values: Any) -> tuple[Assignee, ...]:
        values = [values] if isinstance(values, str) else values or []
        return tuple(a for a in map(self._assignee, values) if a is not None)

    def rule(self) -> PeopleRule | None:
        """The slot's rule (after is_valid()); None for Tallyfy's default."""
        data = self.cleaned_data
        source = data.get("source")
        if source == CONSTANT:
            members = data.get("members") or []
            people = self._picked([f"user:{m}" for m in _as_list(members)])
            people += self._picked([f"group:{g}" for g in data.get("groups") or []])
            people += tuple(Assignee("guest", e, e) for e in data.get("guests") or [])
            return PeopleRule(target=self.target, source=CONSTANT, constant=people)
        if source == EMAIL:
            return PeopleRule(target=self.target, source=EMAIL, source_key=data["email_key"])
        if source == CHOICE:
            option_map = {
                option.id: self._picked(data.get(f"opt-{option.id}"))
                for option, _ in self.option_rows
            }
            return PeopleRule(
                target=self.target,
                source=CHOICE,
                source_key=data["choice_key"],
                option_map={k: v for k, v in option_map.items() if v},
            )
        return None


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _initial(rule: PeopleRule | None) -> dict[str, Any]:
    if rule is None:
        return {"source": ""}
    initial: dict[str, Any] = {"source": rule.source}
    if rule.source == CONSTANT:
        users = [a.id for a in rule.constant if a.kind == "user"]
        initial["members"] = users[0] if rule.target == "owner" and users else users
        initial["groups"] = [a.id for a in rule.constant if a.kind == "group"]
        initial["guests"] = ", ".join(a.id for a in rule.constant if a.kind == "guest")
    elif rule.source == EMAIL:
        initial["email_key"] = rule.source_key
    else:
        initial["choice_key"] = rule.source_key
    return initial


def people_forms(
    data,
    *,
    steps: list[engine.Step] | None,
    sources: list[Answer],
    directory: engine.Directory,
    saved: tuple[PeopleRule, ...],
    refresh_url: str,
) -> list[PeopleForm]:
    """The owner, the process and one row per template step (by title)."""
    by_target = {}
    for rule in saved:
        by_target.setdefault(rule.target, rule)  # the builder keeps one rule per slot
    slots = [("owner", "Process owner"), ("process", "Assignees (whole process)")]
    slots += [(f"step:{s.id}", s.title or s.id) for s in steps or ()]
    return [
        PeopleForm(
            data,
            target=target,
            title=title,
            sources=sources,
            directory=directory,
            rule=by_target.get(target),
            refresh_url=refresh_url,
        )
        for target, title in slots
    ]
