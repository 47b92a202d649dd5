"""The run store's ``records`` table: how replicate records become rows, and back.

One row per record: run, condition, replicate, seed, status, duration, and the rest of
the record as a JSON payload (see :mod:`crystallize.store.serialize`). Rows are inserted
:data:`ROWS_PER_INSERT` to a statement. :class:`RecordRows` is the table's half of
:class:`~crystallize.store.sqlite.SQLiteRunStore`.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Sequence
from functools import cache, partial
from itertools import chain
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateRecord
from crystallize.store.base import RunNotFoundError
from crystallize.store.serialize import (
    SerializationError,
    decode_record,
    dumps,
    encode_record,
    encode_record_lossy,
    json_ready,
    loads,
)
from crystallize.utils.gc_pacing import collector_paused

logger = logging.getLogger("crystallize.store")
_INT64 = (-(2**63), 2**63)

# Records are inserted many rows per statement: SQLite then inserts the whole chunk
# without the GIL, instead of handing the GIL back and forth once per row (which lets
# the writer thread's inserts overlap with the replicates the driver computes).
ROWS_PER_INSERT = 128


@cache
def insert_records_sql(rows: int) -> str:
    """The INSERT statement for ``rows`` records (remembered per row count)."""
    return "INSERT OR REPLACE INTO records VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)


def chunk_sizes(rows: int) -> list[int]:
    """How many rows each INSERT statement of a batch of ``rows`` takes: as many
    :data:`ROWS_PER_INSERT` as fit, then the rest as powers of two, largest first
    (300 rows: 128, 128, 32, 8, 4).

    A batch's size depends on how many records arrived while the writer waited, so a
    statement for exactly the rest would be a new one nearly every batch, and SQLite
    spends about as long preparing a multi-row INSERT as running it. These few sizes
    are prepared once per connection and then taken from sqlite3's statement cache.
    """
    sizes = [ROWS_PER_INSERT] * (rows // ROWS_PER_INSERT)
    rest = rows % ROWS_PER_INSERT
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


def record_rows(
    run_id: str, records: Sequence[ReplicateRecord], encode: Callable[[ReplicateRecord], str]
) -> list[tuple[Any, ...]]:
    """The ``records`` table rows of ``records``, payloads made by ``encode``."""
    try:
        return [
            (
                run_id,
                str(record.condition),
                operator.index(record.replicate),
                sql_int(record.seed),
                "ok" if record.error is None else "failed",
                float(record.duration),
                encode(record),
            )
            for record in records
        ]
    except (AttributeError, TypeError, ValueError) as exc:
        raise StoreError(
            f"append_records: not a valid ReplicateRecord (replicate must be an int, seed an "
            f"int or None, duration a number): {exc}"
        ) from exc


def encode_keeping_text(record: ReplicateRecord, warned: set[tuple[str, ...]] | None = None) -> str:
    """:func:`encode_record`, or its lossy form with a warning naming what became text.

    With ``warned`` (the sets of metric names already warned about, updated here), a
    record whose unstorable metrics were warned about already is stored without a
    warning: the store warns once per run and set of metric names, not per record.
    """
    try:
        return encode_record(record)
    except SerializationError:
        payload, replaced = encode_record_lossy(record)
        names = _unstorable_metrics(record)
        if warned is None or names not in warned:
            if warned is not None:
                warned.add(names)
            if names:
                where = f" (metric{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))})"
                later = "later records of this run whose values of the same metrics JSON cannot hold"
            else:  # in an event's payload, the tags or a step's provenance
                where = " outside its metrics (events, tags or step provenance)"
                later = "later such records of this run"
            logger.warning(
                "The record of condition '%s' replicate %s holds values JSON cannot hold%s; the "
                "store keeps them as text (the in-memory Result keeps them as they are), as it "
                "does for %s, without another warning: %s",
                record.condition, record.replicate, where, later, _described(replaced),
            )
        return payload


_SHOWN_VALUES = 3
_DESCRIPTION_CHARS = 80


def _described(replaced: list[str]) -> str:
    """The first few descriptions of values stored as text, each on one short line (a
    DataFrame's repr spans many lines)."""
    shown = []
    for text in replaced[:_SHOWN_VALUES]:
        line = " ".join(text.split())
        shown.append(line if len(line) <= _DESCRIPTION_CHARS else line[: _DESCRIPTION_CHARS - 3] + "...")
    more = len(replaced) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _unstorable_metrics(record: ReplicateRecord) -> tuple[str, ...]:
    """The names of ``record``'s metrics whose values JSON cannot hold."""
    names = []
    for name, values in record.metrics.items():
        try:
            dumps(json_ready(values))  # walked: a dict whose keys JSON writes alike too
        except Exception:  # noqa: BLE001 - whatever a value raises (RecursionError for a cycle)
            names.append(str(name))
    return tuple(names)


def sql_int(value: Any) -> int | None:
    """Return ``value`` as an int SQLite can hold, or None if absent or out of range."""
    if value is None:
        return None
    number = operator.index(value)
    return number if _INT64[0] <= number < _INT64[1] else None


class RecordRows:
    """The ``records`` table's half of :class:`~crystallize.store.sqlite.SQLiteRunStore`
    (which provides ``transaction``, ``path`` and ``checkpointer``)."""

    def _lossy_warned(self, run_id: str) -> set[tuple[str, ...]]:
        """The sets of metric names run ``run_id`` was warned about storing as text (see
        :func:`encode_keeping_text`), kept by this store object."""
        if not hasattr(self, "_lossy_warnings"):
            self._lossy_warnings: dict[str, set[tuple[str, ...]]] = {}
        return self._lossy_warnings.setdefault(run_id, set())

    def append_records(self, run_id: str, records: Sequence[ReplicateRecord]) -> None:
        """Store ``records`` in one transaction, replacing same (condition, replicate).

        A value JSON cannot hold (a ``complex`` metric, an arbitrary object) is stored as
        its ``repr()`` text, with a warning (once per run and set of metric names), rather
        than keeping the batch out of the store.
        """
        try:
            rows = record_rows(run_id, records, encode_record)
        except SerializationError:  # one odd value must not keep the others out
            warned = self._lossy_warned(run_id)
            rows = record_rows(run_id, records, partial(encode_keeping_text, warned=warned))
        with self.transaction(write=True) as conn:
            # Records are a sign of life too: a run whose driver dies between heartbeats
            # is then shown ending at its last records, not at its last heartbeat.
            alive = conn.execute(
                "UPDATE runs SET heartbeat_at = max(heartbeat_at, ?) WHERE run_id = ?", (time.time(), run_id)
            )
            if alive.rowcount == 0:
                raise RunNotFoundError(run_id, str(self.path))
            start = 0
            for size in chunk_sizes(len(rows)):
                chunk = rows[start : start + size]
                conn.execute(insert_records_sql(size), list(chain.from_iterable(chunk)))
                start += size
        self.checkpointer.committed(sum([len(row[6]) for row in rows]))  # ≈ bytes of payload

    def load_records(self, run_id: str, *, steps: bool = True) -> list[ReplicateRecord]:
        """Return the run's records in condition order, then replicate order.

        With ``steps=False`` their step provenance stays in the store (``record.steps``
        is :data:`~crystallize.record.STEPS_IN_STORE`) and is not decoded: much faster,
        and memory grows with the metrics alone.
        """
        # Decoding builds many small containers: pausing the cyclic GC halves the time.
        with collector_paused(), self.transaction() as conn:
            row = conn.execute("SELECT conditions FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(run_id, str(self.path))
            rows = conn.execute(
                "SELECT condition, replicate, payload FROM records WHERE run_id = ?", (run_id,)
            )  # decoded row by row: the payloads' text is never all in memory at once
            records = [
                decode_record(condition, replicate, payload, steps=steps)
                for condition, replicate, payload in rows
            ]
        order = {name: index for index, name in enumerate(loads(row[0]))}
        unknown = len(order)
        records.sort(key=lambda r: (order.get(r.condition, unknown), r.condition if r.condition not in order else "", r.replicate))
        return records

    def failed_replicates(self, run_id: str, condition: str) -> set[int]:
        """The replicates of ``condition`` whose stored record in run ``run_id`` failed
        (from the ``status`` column: no payload is read)."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(run_id, str(self.path))
            rows = conn.execute(
                "SELECT replicate FROM records WHERE run_id = ? AND condition = ? AND status = 'failed'",
                (run_id, condition),
            )
            return {replicate for (replicate,) in rows}


__all__ = ["ROWS_PER_INSERT", "RecordRows", "chunk_sizes", "encode_keeping_text", "insert_records_sql", "record_rows", "sql_int"]
