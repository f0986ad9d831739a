"""Every CSV Kickoff writes goes through here, so no cell runs as a formula.

Cells hold vendor data (answers and question titles anyone can type into a public form);
a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and also one
that starts with a TAB or a carriage return followed by one (OWASP "CSV injection").
Such a cell is prefixed with `'`, which spreadsheets show as text and do not display.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell that cannot run as a formula.

    Numbers stay numbers (our own counts and ids, never vendor text); dates become ISO
    8601; any other value is written as its text, prefixed with `'` when it could start a
    formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() returns the line: csv.writer into a generator."""

    def write(self, value: str) -> str:
        return value


class SafeWriter:
    """`csv.writer` for a streamed response: `row(cells)` returns the line to yield, with
    every cell through `safe_cell`."""

    def __init__(self) -> None:
        self._writer = csv.writer(_Echo())

    def row(self, cells: Iterable[Any]) -> str:
        return self._writer.writerow([safe_cell(c) for c in cells])
