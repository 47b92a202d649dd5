"""Past runs: list them and load them back as :class:`~crystallize.result.Result` objects."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from crystallize.exceptions import StoreArgumentError, StoreError
from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.result import Result
from crystallize.store.base import RunInfo
from crystallize.store.opening import open_existing_store
from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore


def list_runs(root_dir: str | Path = "data", experiment: str | None = None, limit: int | None = None) -> list[RunInfo]:
    """Runs stored under ``root_dir`` (newest first), optionally of one experiment.

    Raises:
        TypeError: ``limit`` is not an int (or ``None``).
        StoreArgumentError: ``limit`` is negative (a ``ValueError`` and a ``StoreError``).
        StoreError: ``root_dir`` holds no run store (nothing is created there).
    """
    _check_limit(limit)
    with _open_for(root_dir, experiment, "list_runs({root!r}, {other!r})") as store:
        return store.list_runs(experiment, limit=limit)


def _check_limit(limit: object) -> None:
    """Raise TypeError unless ``limit`` is an int (not a bool) or ``None``; a
    :class:`StoreArgumentError` when it is negative."""
    if limit is None:
        return
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"list_runs: limit must be an int >= 0 (or None for all), got {limit!r}.")
    if limit < 0:
        raise StoreArgumentError(f"list_runs: limit must be an int >= 0 (or None for all), got {limit!r}.")


def _open_for(root_dir: str | os.PathLike[str], other: object, call: str) -> SQLiteRunStore:
    """The store in ``root_dir``, opened to read. When there is none there but the other
    argument ``other`` names a directory that holds one, the StoreError says the two
    were probably swapped and shows ``call`` (formatted with ``root`` and ``other``)
    with them in the right order."""
    try:
        return open_existing_store(root_dir)
    except StoreError as exc:
        if isinstance(other, str | os.PathLike) and not (Path(root_dir) / DB_FILENAME).exists() and (
            Path(other) / DB_FILENAME
        ).is_file():
            fixed = call.format(root=str(other), other=os.fspath(root_dir))
            raise StoreError(
                f"{exc} The arguments look swapped: {str(other)!r} holds a run store. Did you "
                f"mean {fixed}?"
            ) from None
        raise


def load_result(run_id: str, root_dir: str | Path = "data") -> Result:
    """Load a stored run back as a Result (metrics, errors, provenance, hypotheses).

    A run of 10,000 or more records (``crystallize.session.LIGHT_RECORDS_FROM``, as
    ``experiment.run()`` does) is loaded without its step provenance, which
    ``result.provenance`` and ``result.full_records()`` read from the store when asked.

    Raises:
        StoreError: ``root_dir`` holds no run store; ``RunNotFoundError`` (a StoreError)
            when the run is not in it.
    """
    from crystallize.session import LIGHT_RECORDS_FROM

    with _open_for(root_dir, run_id, "load_result({other!r}, {root!r})") as store:
        info = store.get_run(run_id)
        light = info.n_records >= LIGHT_RECORDS_FROM
        records = store.load_records(run_id, steps=not light)
    return Result(
        records,
        list(info.conditions),
        hypotheses=[HypothesisResult.from_dict(h) for h in (info.summary or {}).get("hypotheses", [])],
        experiment=info.experiment,
        run_id=info.run_id,
        base_seed=info.base_seed,
        info=_stored_info(info),
        warnings=list(info.warnings),
        full_records=partial(_stored_records, run_id, Path(root_dir).absolute()) if light else None,
    )


def _stored_info(run: RunInfo) -> dict[str, Any]:
    """``result.info`` of a loaded run: the keys of a live run's info, in the same order,
    then the run's ``status``, ``started_at`` and ``ended_at``.

    How the run's last call to ``run()`` went — its ``strategy``, how many records it
    ``resumed`` and ``computed``, how many steps hit the cache (``cache_hits``) — comes
    from the summary; it is ``None`` for a run that call did not finish (cancelled, or
    interrupted) or that an earlier version stored.
    """
    from crystallize.reporting_html.config import config_from_spec

    summary = run.summary or {}
    call = summary.get("call") or {}
    return {
        "fingerprint": run.fingerprint,
        "replicates": run.replicates,
        "strategy": call.get("strategy"),
        "resumed": call.get("resumed"),
        "computed": call.get("computed"),
        "cache_hits": call.get("cache_hits"),
        "config": summary.get("config") or config_from_spec(run.spec, run.replicates),
        **({"upstream": summary["upstream"]} if summary.get("upstream") else {}),
        "artifact_version": run.artifact_version,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
    }


def _stored_records(run_id: str, root_dir: Path) -> list[ReplicateRecord]:
    """The run's records with their step provenance, read from the store."""
    with open_existing_store(root_dir) as store:
        return store.load_records(run_id)


def latest_result(experiment: str, root_dir: str | Path = "data") -> Result | None:
    """The newest stored run of ``experiment`` as a Result, or ``None`` if there is none.

    Raises:
        StoreError: ``root_dir`` holds no run store.
    """
    with _open_for(root_dir, experiment, "latest_result({other!r}, {root!r})") as store:
        runs = store.list_runs(experiment, limit=1)
    return load_result(runs[0].run_id, root_dir) if runs else None


__all__ = ["latest_result", "list_runs", "load_result"]
