"""Persistence: the run store, the background record writer, the step cache, artifacts.

* :class:`RunStore` / :class:`SQLiteRunStore` / :func:`open_store` — runs and their
  replicate records in ``<data dir>/crystallize.db``.
* :func:`shared_store` — the same, kept open for the life of the process (the engine's).
* :class:`RecordWriter` — batched, crash-tolerant background writing of records.
* :class:`StepCache`, :func:`make_key`, :func:`hash_value` — cached step outputs in
  ``<data dir>/.cache``.
* :mod:`crystallize.store.artifacts` — artifact file layout and atomic writes.
* :func:`list_runs`, :func:`load_result`, :func:`latest_result` — past runs as Results.
* :func:`delete_runs`, :func:`compact` — delete runs (and their artifact folders) and
  shrink the store file.

Only the standard library is imported here.
"""

from typing import TYPE_CHECKING

from crystallize.utils.lazy import lazy_attributes

# Attributes load on first use (PEP 562), so importing one submodule — e.g. the artifact
# layout, which every `import crystallize` needs — does not pull in SQLite and the rest.
_EXPORTS = {
    "artifact_path": "crystallize.store.artifacts",
    "atomic_write_bytes": "crystallize.store.artifacts",
    "claim_version": "crystallize.store.artifacts",
    "latest_version": "crystallize.store.artifacts",
    "next_version": "crystallize.store.artifacts",
    "reset_version_dir": "crystallize.store.artifacts",
    "validate_artifact_name": "crystallize.store.artifacts",
    "version_dir": "crystallize.store.artifacts",
    "RUN_STATUSES": "crystallize.store.base",
    "Preregistration": "crystallize.store.base",
    "RunInfo": "crystallize.store.base",
    "RunInProgressError": "crystallize.store.base",
    "RunNotFoundError": "crystallize.store.base",
    "RunStatus": "crystallize.store.base",
    "RunStore": "crystallize.store.base",
    "StepCache": "crystallize.store.cache",
    "hash_value": "crystallize.store.cache",
    "make_key": "crystallize.store.cache",
    "SerializationError": "crystallize.store.serialize",
    "DB_FILENAME": "crystallize.store.sqlite",
    "SCHEMA_VERSION": "crystallize.store.sqlite",
    "SQLiteRunStore": "crystallize.store.sqlite",
    "open_store": "crystallize.store.opening",
    "RecordWriter": "crystallize.store.writer",
    "release_shared_store": "crystallize.store.shared",
    "shared_store": "crystallize.store.shared",
    "latest_result": "crystallize.store.history",
    "list_runs": "crystallize.store.history",
    "load_result": "crystallize.store.history",
    "DeletedRuns": "crystallize.store.maintenance",
    "compact": "crystallize.store.maintenance",
    "delete_runs": "crystallize.store.maintenance",
}


__getattr__ = lazy_attributes(__name__, _EXPORTS)


if TYPE_CHECKING:
    from crystallize.store.artifacts import (
        artifact_path,
        atomic_write_bytes,
        claim_version,
        latest_version,
        next_version,
        reset_version_dir,
        validate_artifact_name,
        version_dir,
    )
    from crystallize.store.base import (
        RUN_STATUSES,
        Preregistration,
        RunInfo,
        RunInProgressError,
        RunNotFoundError,
        RunStatus,
        RunStore,
    )
    from crystallize.store.cache import StepCache, hash_value, make_key
    from crystallize.store.history import latest_result, list_runs, load_result
    from crystallize.store.maintenance import DeletedRuns, compact, delete_runs
    from crystallize.store.opening import open_store
    from crystallize.store.serialize import SerializationError
    from crystallize.store.shared import release_shared_store, shared_store
    from crystallize.store.sqlite import DB_FILENAME, SCHEMA_VERSION, SQLiteRunStore
    from crystallize.store.writer import RecordWriter

__all__ = [
    "DB_FILENAME",
    "DeletedRuns",
    "RUN_STATUSES",
    "Preregistration",
    "SCHEMA_VERSION",
    "RecordWriter",
    "RunInfo",
    "RunInProgressError",
    "RunNotFoundError",
    "RunStatus",
    "RunStore",
    "SQLiteRunStore",
    "SerializationError",
    "StepCache",
    "artifact_path",
    "atomic_write_bytes",
    "claim_version",
    "compact",
    "delete_runs",
    "hash_value",
    "latest_result",
    "list_runs",
    "load_result",
    "latest_version",
    "make_key",
    "next_version",
    "open_store",
    "release_shared_store",
    "reset_version_dir",
    "shared_store",
    "validate_artifact_name",
    "version_dir",
]
