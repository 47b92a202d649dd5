"""How replicate records become rows of the run store's ``records`` table.

One row per record: run, condition, replicate, seed, status, duration, and the rest of
the record as a JSON payload (see :mod:`crystallize.store.serialize`). Rows are inserted
:data:`ROWS_PER_INSERT` to a statement.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateRecord
from crystallize.store.serialize import SerializationError, encode_record, encode_record_lossy

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


def encode_keeping_text(record: ReplicateRecord) -> str:
    """:func:`encode_record`, or its lossy form with a warning naming what became text."""
    try:
        return encode_record(record)
    except SerializationError:
        payload, replaced = encode_record_lossy(record)
        logger.warning(
            "The record of condition '%s' replicate %s holds values JSON cannot hold; the "
            "store keeps them as text (the in-memory Result keeps them as they are): %s",
            record.condition, record.replicate, "; ".join(replaced),
        )
        return payload


def sql_int(value: Any) -> int | None:
    """Return ``value`` as an int SQLite can hold, or None if absent or out of range."""
    if value is None:
        return None
    number = operator.index(value)
    return number if _INT64[0] <= number < _INT64[1] else None


__all__ = ["ROWS_PER_INSERT", "encode_keeping_text", "insert_records_sql", "record_rows", "sql_int"]
