"""The ``runs`` table's rows as :class:`~crystallize.store.base.RunInfo` (the run-side
counterpart of :mod:`crystallize.store.record_rows`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from crystallize.store.base import RunInfo
from crystallize.store.serialize import SerializationError, loads

logger = logging.getLogger("crystallize.store")

#: The columns :func:`run_info` reads, in order (the last counts the run's records).
RUN_COLUMNS = (
    "run_id, experiment, fingerprint, spec, status, replicates, conditions, base_seed, "
    "started_at, ended_at, heartbeat_at, pid, hostname, summary, warnings, parent_run, "
    "artifact_version, (SELECT COUNT(*) FROM records AS r WHERE r.run_id = runs.run_id)"
)

def run_info(row: Sequence[Any], lenient: bool = False) -> RunInfo:
    """The RunInfo of a :data:`RUN_COLUMNS` row.

    A JSON column that cannot be read raises :class:`SerializationError` naming the
    run and the column; with ``lenient`` it gets an empty value instead, and the
    problem is logged and added to the run's warnings.
    """
    problems: list[str] = []

    def column(index: int, name: str, empty: Any) -> Any:
        if row[index] is None:
            return None
        try:
            return loads(row[index])
        except SerializationError as exc:
            message = f"Run {row[0]}: column '{name}' holds corrupt JSON ({exc})"
            if not lenient:
                raise SerializationError(f"{message}. Delete the run or repair the column.") from exc
            logger.warning("%s; listed with an empty %s.", message, name)
            problems.append(message)
            return empty

    base_seed = row[7]
    spec = column(3, "spec", {})
    conditions = column(6, "conditions", [])
    summary = column(13, "summary", None)
    warnings = column(14, "warnings", [])
    return RunInfo(
        run_id=row[0],
        experiment=row[1],
        fingerprint=row[2],
        spec=spec,
        status=row[4],
        replicates=row[5],
        conditions=tuple(conditions),
        base_seed=None if base_seed is None else int(base_seed),
        started_at=row[8],
        ended_at=row[9],
        heartbeat_at=row[10],
        pid=row[11],
        hostname=row[12],
        summary=summary,
        warnings=(*warnings, *problems),
        parent_run=row[15],
        artifact_version=row[16],
        n_records=row[17],
    )


__all__ = ["RUN_COLUMNS", "run_info"]
