"""Persistence: the run store, the background record writer, the step cache, artifacts.

* :class:`RunStore` / :class:`SQLiteRunStore` / :func:`open_store` — runs and their
  replicate records in ``<data dir>/crystallize.db``.
* :class:`RecordWriter` — batched, crash-tolerant background writing of records.
* :class:`StepCache`, :func:`make_key`, :func:`hash_value` — cached step outputs in
  ``<data dir>/.cache``.
* :mod:`crystallize.store.artifacts` — artifact file layout and atomic writes.
* :func:`list_runs`, :func:`load_result`, :func:`latest_result` — past runs as Results.

Only the standard library is imported here.
"""

from typing import TYPE_CHECKING, Any

# Attributes load on first use (PEP 562), so importing one submodule — e.g. the artifact
# layout, which every `import crystallize` needs — does not pull in SQLite and the rest.
_EXPORTS = {
    "artifact_path": "artifacts",
    "atomic_write_bytes": "artifacts",
    "claim_version": "artifacts",
    "latest_version": "artifacts",
    "next_version": "artifacts",
    "reset_version_dir": "artifacts",
    "validate_artifact_name": "artifacts",
    "version_dir": "artifacts",
    "RUN_STATUSES": "base",
    "Preregistration": "base",
    "RunInfo": "base",
    "RunNotFoundError": "base",
    "RunStatus": "base",
    "RunStore": "base",
    "StepCache": "cache",
    "hash_value": "cache",
    "make_key": "cache",
    "SerializationError": "serialize",
    "DB_FILENAME": "sqlite",
    "SCHEMA_VERSION": "sqlite",
    "SQLiteRunStore": "sqlite",
    "open_store": "sqlite",
    "RecordWriter": "writer",
    "latest_result": "history",
    "list_runs": "history",
    "load_result": "history",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crystallize.store' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"crystallize.store.{module}"), name)
    globals()[name] = value
    return value


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
        RunNotFoundError,
        RunStatus,
        RunStore,
    )
    from crystallize.store.cache import StepCache, hash_value, make_key
    from crystallize.store.history import latest_result, list_runs, load_result
    from crystallize.store.serialize import SerializationError
    from crystallize.store.sqlite import DB_FILENAME, SCHEMA_VERSION, SQLiteRunStore, open_store
    from crystallize.store.writer import RecordWriter

__all__ = [
    "DB_FILENAME",
    "RUN_STATUSES",
    "Preregistration",
    "SCHEMA_VERSION",
    "RecordWriter",
    "RunInfo",
    "RunNotFoundError",
    "RunStatus",
    "RunStore",
    "SQLiteRunStore",
    "SerializationError",
    "StepCache",
    "artifact_path",
    "atomic_write_bytes",
    "claim_version",
    "hash_value",
    "latest_result",
    "list_runs",
    "load_result",
    "latest_version",
    "make_key",
    "next_version",
    "open_store",
    "reset_version_dir",
    "validate_artifact_name",
    "version_dir",
]
