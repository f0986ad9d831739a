"""The Tallyfy organization's members and groups, read from Tallyfy and kept a while.

The builder's pickers and every launch with people rules need them; reading them for each
delivery would spend two of the organization's 100 calls a minute (docs/vendor-notes.md)
per submission. A launch whose email answer is not among the kept members reads them
afresh once before deciding "no such member": someone invited a minute ago is found.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache

from . import engine
from .connections import connection_call

#: How long a read of the members and groups is reused.
DIRECTORY_SECONDS = 10 * 60


def _key(connection) -> str:
    # The account id is in the key: a reconnect to another organization never reuses a copy.
    return f"kickoff:directory:v1:{connection.pk}:{connection.external_id}"


def fetch_directory(connection, *, fresh: bool = False) -> engine.Directory:
    """The organization's members and groups (two Tallyfy calls unless kept).

    ApiError and NeedsReconnect escape.
    """
    if not fresh:
        kept = cache.get(_key(connection))
        if kept is not None:
            return kept
    directory = engine.Directory(
        members=tuple(connection_call(connection, lambda c: c.list_members())),
        groups=tuple(connection_call(connection, lambda c: c.list_groups())),
    )
    cache.set(_key(connection), directory, DIRECTORY_SECONDS)
    return directory


def directory_for(connection, emails: Iterable[str]) -> engine.Directory:
    """The directory, read afresh when one of `emails` is not a member in the kept copy."""
    directory = fetch_directory(connection)
    wanted = [e for e in emails if e and "@" in e]
    if any(directory.member_by_email(e) is None for e in wanted):
        directory = fetch_directory(connection, fresh=True)
    return directory
