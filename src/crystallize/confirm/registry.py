"""Reading pre-registration records back: every attempt to confirm a hypothesis."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crystallize.confirm.expression import HypothesisSyntaxError, parse_hypothesis
from crystallize.store import Preregistration

if TYPE_CHECKING:
    import sqlite3


def registrations(root_dir: str | os.PathLike[str] = "data", *, exploration_run: str | None = None,
                  hypothesis: str | None = None) -> list[Preregistration]:
    """The pre-registration records in the store at ``root_dir``, in the order they were
    written (oldest first).

    Args:
        root_dir: the store's folder (``explore(..., root_dir=...)``).
        exploration_run: keep only registrations confirming this exploration run.
        hypothesis: keep only registrations of the same test, however written
            (``"a.score < b.score"`` matches ``"b.score > a.score"``).

    Every ``crystallize()`` call registers before it runs anything, so this lists
    cancelled and failed confirmation attempts too. The order is the store's own
    insertion order, not ``created_at``: a clock stepped back (or another host's clock)
    does not reorder the attempts.

    Like the other history reads (:func:`~crystallize.store.list_runs`), this creates
    nothing and reads a store that cannot be written read-only; a store written before
    pre-registrations existed has none.

    Raises:
        StoreError: ``root_dir`` holds no run store (the message says what is there).
    """
    return _matching(_written(root_dir), exploration_run, hypothesis)


def registered_before(registration_id: str, root_dir: str | os.PathLike[str], *, exploration_run: str | None,
                      hypothesis: str) -> list[Preregistration]:
    """The registrations matching the filters of :func:`registrations` that were written
    before ``registration_id`` (store insertion order, whatever the clocks said)."""
    return _matching(_written(root_dir, before=registration_id), exploration_run, hypothesis)


def _written(root_dir: str | os.PathLike[str], before: str | None = None) -> list[Preregistration]:
    """Every registration of the store in insertion order (SQLite ``rowid``: rows are
    never deleted or changed, and ``VACUUM`` keeps their order), optionally only those
    written before the registration ``before``. The store is only read (see
    :func:`~crystallize.store.opening.open_existing_store`)."""
    from crystallize.store.opening import open_existing_store
    from crystallize.store.serialize import loads

    query = "SELECT registration_id, experiment, hypothesis, created_at, payload FROM preregistrations"
    if before is not None:
        query += " WHERE rowid < (SELECT rowid FROM preregistrations WHERE registration_id = ?)"
    with open_existing_store(root_dir) as store, store.transaction() as conn:
        if not _has_registrations_table(conn):  # written before schema version 2, read-only
            return []
        rows = conn.execute(query + " ORDER BY rowid", () if before is None else (before,)).fetchall()
    return [Preregistration(row[0], row[1], row[2], row[3], loads(row[4])) for row in rows]


def _has_registrations_table(conn: sqlite3.Connection) -> bool:
    """Whether the store behind ``conn`` has a ``preregistrations`` table (a store of
    schema version 1 opened read-only, so not upgraded, has none)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'preregistrations'")
    return found.fetchone() is not None


def _matching(found: list[Preregistration], exploration_run: str | None,
              hypothesis: str | None) -> list[Preregistration]:
    """The registrations in ``found`` of ``exploration_run`` and of the same test as
    ``hypothesis`` (a filter that is ``None`` keeps everything)."""
    if exploration_run is not None:
        found = [r for r in found if r.payload.get("exploration_run") == exploration_run]
    if hypothesis is not None:
        key = parse_hypothesis(hypothesis).key
        found = [r for r in found if _key(r.hypothesis) == key]
    return found


def _key(text: str) -> tuple[str, ...] | None:
    try:
        return parse_hypothesis(text).key
    except HypothesisSyntaxError:
        return None


__all__ = ["registrations"]
