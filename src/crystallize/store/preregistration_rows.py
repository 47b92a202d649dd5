"""Pre-registration records in the SQLite store: written once, never changed."""

from __future__ import annotations

import time
import uuid
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.store.base import Preregistration
from crystallize.store.serialize import dumps, loads


class PreregistrationRows:
    """The ``preregistrations`` table's half of :class:`~crystallize.store.sqlite.SQLiteRunStore`
    (which provides ``transaction`` and ``path``)."""

    def add_preregistration(
        self, *, experiment: str, hypothesis: str, payload: dict[str, Any]
    ) -> Preregistration:
        """Write an immutable pre-registration record (see :class:`RunStore`)."""
        registration = Preregistration(
            registration_id=uuid.uuid4().hex[:12],
            experiment=experiment,
            hypothesis=hypothesis,
            created_at=time.time(),
            payload=dict(payload),
        )
        row = (
            registration.registration_id,
            experiment,
            hypothesis,
            registration.created_at,
            dumps(registration.payload),
        )
        with self.transaction(write=True) as conn:
            conn.execute("INSERT INTO preregistrations VALUES (?, ?, ?, ?, ?)", row)
        return registration

    def get_preregistration(self, registration_id: str) -> Preregistration:
        """Return a pre-registration record (see :class:`RunStore`)."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT registration_id, experiment, hypothesis, created_at, payload "
                "FROM preregistrations WHERE registration_id = ?",
                (registration_id,),
            ).fetchone()
        if row is None:
            raise StoreError(f"No pre-registration with id {registration_id!r} in {str(self.path)!r}.")
        return Preregistration(row[0], row[1], row[2], row[3], loads(row[4]))


__all__ = ["PreregistrationRows"]
