"""Past runs: list them and load them back as :class:`~crystallize.result.Result` objects."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.result import Result
from crystallize.store.base import RunInfo
from crystallize.store.opening import open_existing_store


def list_runs(root_dir: str | Path = "data", experiment: str | None = None, limit: int | None = None) -> list[RunInfo]:
    """Runs stored under ``root_dir`` (newest first), optionally of one experiment.

    Raises:
        StoreError: ``root_dir`` holds no run store (nothing is created there).
    """
    with open_existing_store(root_dir) as store:
        return store.list_runs(experiment, limit=limit)


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

    with open_existing_store(root_dir) as store:
        info = store.get_run(run_id)
        light = info.n_records >= LIGHT_RECORDS_FROM
        records = store.load_records(run_id, steps=not light)
    summary = info.summary or {}
    return Result(
        records,
        list(info.conditions),
        hypotheses=[HypothesisResult.from_dict(h) for h in summary.get("hypotheses", [])],
        experiment=info.experiment,
        run_id=info.run_id,
        base_seed=info.base_seed,
        info={
            "status": info.status,
            "fingerprint": info.fingerprint,
            "started_at": info.started_at,
            "ended_at": info.ended_at,
        },
        warnings=list(info.warnings),
        full_records=partial(_stored_records, run_id, Path(root_dir).absolute()) if light else None,
    )


def _stored_records(run_id: str, root_dir: Path) -> list[ReplicateRecord]:
    """The run's records with their step provenance, read from the store."""
    with open_existing_store(root_dir) as store:
        return store.load_records(run_id)


def latest_result(experiment: str, root_dir: str | Path = "data") -> Result | None:
    """The newest stored run of ``experiment`` as a Result, or ``None`` if there is none.

    Raises:
        StoreError: ``root_dir`` holds no run store.
    """
    runs = list_runs(root_dir, experiment, limit=1)
    return load_result(runs[0].run_id, root_dir) if runs else None


__all__ = ["latest_result", "list_runs", "load_result"]
