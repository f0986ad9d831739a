"""A form's submissions as CSV: every page of Tally's list, one row per submission, written
as it is read."""

from __future__ import annotations

from integrations.csvsafe import SafeWriter
from integrations.models import Connection
from integrations.selectors import tally
from integrations.tally.answers import answers_from_questions, answers_from_submission
from integrations.tally.display import display


def _csv_columns(questions: list[dict]) -> list[tuple[str, str]]:
    """(key, header) per input; repeated or empty labels get their key to stay apart."""
    inputs = answers_from_questions(questions)
    seen: dict[str, int] = {}
    for a in inputs:
        seen[a.label] = seen.get(a.label, 0) + 1
    return [
        (a.key, a.label if a.label and seen[a.label] == 1 else f"{a.label or a.type} ({a.key})")
        for a in inputs
    ]


def csv_rows(connection: Connection, form_id: str, *, status: str, start, end, questions):
    """Header, then one row per submission across every page of Tally's list, lazily.

    `questions` are the cached questions with options; when there are none (Tally could
    not be asked) the first page's own questions are used."""
    # Answers and question titles are typed by anyone who fills in a public form.
    writer = SafeWriter()
    state = {"questions": questions}

    def take_questions(page_questions):
        if not state["questions"]:
            state["questions"] = [q.raw for q in page_questions]

    submissions = tally.iter_all_submissions(
        connection, form_id, status=status, start=start, end=end, on_questions=take_questions
    )
    header_done = False
    columns: list[tuple[str, str]] = []
    try:
        for sub in submissions:
            if not header_done:
                columns = _csv_columns(state["questions"])
                yield writer.row(
                    ["Submission ID", "Submitted at", "Completed", *(h for _, h in columns)]
                )
                header_done = True
            answers = {a.key: a for a in answers_from_submission(sub, state["questions"])}
            cells = []
            for key, _ in columns:
                answer = answers.get(key)
                shown = display(answer) if answer is not None else None
                cells.append("" if shown is None or shown.text is None else shown.text)
            yield writer.row(
                [
                    sub.id,
                    sub.submitted_at.isoformat() if sub.submitted_at else "",
                    "yes" if sub.is_completed else "no",
                    *cells,
                ]
            )
    except tally.ExportStopped as exc:
        if not header_done:
            columns = _csv_columns(state["questions"])
            yield writer.row(
                ["Submission ID", "Submitted at", "Completed", *(h for _, h in columns)]
            )
            header_done = True
        yield writer.row([f"# Export incomplete: {exc}"])
        return
    if not header_done:
        columns = _csv_columns(state["questions"])
        yield writer.row(["Submission ID", "Submitted at", "Completed", *(h for _, h in columns)])
