"""Text comparison and cutting shared by the engine's modules."""

from __future__ import annotations

ELLIPSIS = "…"


def norm(text: str) -> str:
    """Case-insensitive, trimmed comparison key (inner runs of spaces count as one)."""
    return " ".join(str(text).split()).casefold()


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut shown by an ellipsis."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS
