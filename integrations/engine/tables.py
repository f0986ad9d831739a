"""A Tally answer as the rows of a Tallyfy table field.

A Tally MATRIX becomes one table row per answered matrix row. A Tallyfy column whose label
equals a matrix column's text gets "✓" when that row chose it; the other columns, in order,
get the row's text, then the chosen columns' texts joined by ", " (a lone column with no
ticked ones gets "Row: chosen"). The encoder sends one string per Tallyfy column, the
rows' cells joined one line per row (docs/vendor-notes.md: a flat list, `["Widget", "3"]`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from integrations.tally.answers import Answer, format_scalar, matrix_rows
from integrations.tallyfy.shapes import Column

from .text import norm

TICK = "✓"


def table_rows(columns: Sequence[Column], source: Answer) -> list[list[str]] | None:
    """One list of cells (column order) per table row; None when the answer can't be a table."""
    if source.type == "MATRIX" and isinstance(source.value, Mapping):
        return _matrix_table(columns, source)
    if not isinstance(source.value, list):
        return None
    rows = []
    for item in source.value:
        if isinstance(item, list | tuple):
            cells = [format_scalar(v) for v in item][: len(columns)]
            rows.append(cells + [""] * (len(columns) - len(cells)))
        elif isinstance(item, Mapping):
            rows.append(
                [
                    format_scalar(item.get(c.label, item.get(str(c.id), item.get(c.id, ""))))
                    for c in columns
                ]
            )
        else:
            rows.append([format_scalar(item)] + [""] * (len(columns) - 1))
    return rows


def _matrix_table(columns: Sequence[Column], source: Answer) -> list[list[str]]:
    matrix_texts = {norm(c.text) for c in source.columns}
    ticked = {i for i, c in enumerate(columns) if norm(c.label) in matrix_texts}
    free = [i for i in range(len(columns)) if i not in ticked]
    rows = []
    for row, chosen in matrix_rows(source):
        chosen_texts = [c.text for c in chosen]
        cells = [""] * len(columns)
        for i in ticked:
            cells[i] = TICK if norm(columns[i].label) in {norm(t) for t in chosen_texts} else ""
        if len(free) == 1:
            cells[free[0]] = row.text if ticked else f"{row.text}: {', '.join(chosen_texts)}"
        elif free:
            cells[free[0]] = row.text
            cells[free[1]] = ", ".join(chosen_texts)
        rows.append(cells)
    return rows
