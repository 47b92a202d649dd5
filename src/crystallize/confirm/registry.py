"""Reading pre-registration records back: every attempt to confirm a hypothesis."""

from __future__ import annotations

import os

from crystallize.confirm.expression import HypothesisSyntaxError, parse_hypothesis
from crystallize.store import Preregistration, open_store


def registrations(root_dir: str | os.PathLike[str] = "data", *, exploration_run: str | None = None,
                  hypothesis: str | None = None) -> list[Preregistration]:
    """The pre-registration records in the store at ``root_dir``, oldest first.

    Args:
        root_dir: the store's folder (``explore(..., root_dir=...)``).
        exploration_run: keep only registrations confirming this exploration run.
        hypothesis: keep only registrations of the same test, however written
            (``"a.score < b.score"`` matches ``"b.score > a.score"``).

    Every ``crystallize()`` call registers before it runs anything, so this lists
    cancelled and failed confirmation attempts too.
    """
    from crystallize.store.serialize import loads

    with open_store(root_dir) as store, store.transaction() as conn:  # read only
        rows = conn.execute(
            "SELECT registration_id, experiment, hypothesis, created_at, payload "
            "FROM preregistrations ORDER BY created_at, rowid"
        ).fetchall()
    found = [Preregistration(row[0], row[1], row[2], row[3], loads(row[4])) for row in rows]
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
