"""Deleting runs and giving their space back: :func:`delete_runs` and :func:`compact`.

Deleting a run removes it and its records from the run store and, when nothing else uses
it, its artifact folder ``<root>/<experiment>/v<N>``: a versioned run's own ``v<N>`` goes
with it; the ``v0`` that every run of an unversioned experiment shares goes with the last
of them. Runs stored before Crystallize recorded their artifact folder leave their files.

SQLite reuses the pages that deleted rows free but never hands them back to the file
system: :func:`compact` rewrites the file (``VACUUM``) so it shrinks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crystallize.exceptions import StoreArgumentError, StoreError
from crystallize.store.artifacts import remove_set_aside, remove_tree, set_aside, version_dir
from crystallize.store.base import RunInfo, validate_status
from crystallize.store.opening import open_existing_store
from crystallize.store.sqlite import SQLiteRunStore

logger = logging.getLogger("crystallize.store")


@dataclass(frozen=True)
class DeletedRuns:
    """What :func:`delete_runs` deleted (with ``dry_run``: would delete).

    Attributes:
        runs: The deleted runs, newest first.
        artifact_dirs: The ``v<N>`` artifact folders removed with them.
        artifact_bytes: Total size of the files in those folders.
    """

    runs: tuple[RunInfo, ...]
    artifact_dirs: tuple[Path, ...]
    artifact_bytes: int


def delete_runs(
    root_dir: str | os.PathLike[str],
    experiment: str,
    run_ids: Sequence[str] | None = None,
    *,
    keep_last: int | None = None,
    status: str | Iterable[str] | None = None,
    dry_run: bool = False,
) -> DeletedRuns:
    """Delete runs of ``experiment`` from the store in ``root_dir``, with their artifacts.

    The runs are ``run_ids`` (full ids), or every run of the experiment; ``status`` keeps
    only those with one of these statuses, and ``keep_last`` spares the newest ``N`` of
    what is left. Give at least one of the three (``keep_last=0`` deletes every run).
    Artifact folders go as described in :mod:`crystallize.store.maintenance`. The file
    does not shrink until :func:`compact`.

    Args:
        root_dir: The data directory holding ``crystallize.db``.
        experiment: The experiment whose runs are deleted.
        run_ids: Runs to delete.
        keep_last: Spare the newest this many of the selected runs.
        status: Only runs with this status (or one of these).
        dry_run: Delete nothing; return what would be deleted.

    Returns:
        What was deleted.

    Raises:
        ValueError: No selection.
        StoreArgumentError: ``keep_last`` is negative or ``status`` unknown (a
            ``ValueError`` and a ``StoreError``); checked before the store is opened.
        TypeError: ``run_ids`` is a single string instead of a list, or ``status`` is
            neither a string nor a list of them.
        RunNotFoundError: An id is not in the store.
        StoreError: No store in ``root_dir``, no run of ``experiment`` in it, an id of
            another experiment's run, a selected run still running, or the store failed
            while deleting (a full disk, a corrupt file). Nothing is deleted then: the
            runs go in one transaction, all or none.
    """
    if run_ids is None and keep_last is None and status is None:
        raise ValueError(
            "delete_runs: say which runs to delete: run_ids, status or keep_last "
            "(keep_last=0 deletes every run of the experiment)."
        )
    if keep_last is not None and keep_last < 0:
        raise StoreArgumentError(f"delete_runs: keep_last must be >= 0, got {keep_last!r}.")
    if isinstance(run_ids, str):
        raise TypeError(f"delete_runs: run_ids is a list of run ids; for one run write [{run_ids!r}].")
    statuses = None if status is None else _statuses(status)
    root = Path(root_dir)
    with open_existing_store(root) as store:
        runs = store.list_runs(experiment)
        if not runs:
            _refuse_unknown(store, experiment)
        chosen = _select(store, experiment, runs, run_ids, keep_last, statuses)
        _refuse_running(chosen, "delete it (nothing was deleted)")
        gone = {run.run_id for run in chosen}
        if dry_run:
            folders = _unused_folders(root, experiment, chosen, [r for r in runs if r.run_id not in gone])
            return DeletedRuns(tuple(chosen), folders, _folders_size(folders))
        _delete_together(store, chosen)
        folders = _unused_folders(root, experiment, chosen, store.list_runs(experiment))
    size = _folders_size(folders)
    remove_set_aside(root / experiment)  # what an interrupted deletion left
    removed = _remove_folders(folders)
    with contextlib.suppress(OSError):  # the experiment's folder, once empty
        (root / experiment).rmdir()
    return DeletedRuns(tuple(chosen), removed, size)


def compact(root_dir: str | os.PathLike[str]) -> int:
    """Shrink the store in ``root_dir`` to its data: checkpoint the log, then ``VACUUM``.

    Rewriting the file blocks the store's writers while it lasts, so it is refused while
    a run is going.

    Returns:
        Bytes given back (database file and write-ahead log together).

    Raises:
        StoreError: No store in ``root_dir``, it cannot be written, a run is still
            running, or SQLite failed.
    """
    with open_existing_store(root_dir) as store:
        if store.read_only:
            raise StoreError(f"Run store {str(store.path)!r} cannot be written, so it cannot be compacted.")
        _refuse_running(store.list_runs(), "compact the store")
        path, timeout = store.path, store.busy_timeout
    before = _store_bytes(path)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.Error as exc:
        hint = ""
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            hint = (
                f" Compacting rewrites the store, so it needs free space about the size of the store "
                f"({before / 2**20:.1f} MiB) on that disk (or in the temporary directory); free "
                "some and compact again. The store is unchanged."
            )
        raise StoreError(f"Run store {str(path)!r}: could not compact: {exc}.{hint}") from exc
    finally:
        conn.close()
    return max(0, before - _store_bytes(path))


def _select(
    store: SQLiteRunStore,
    experiment: str,
    runs: list[RunInfo],
    run_ids: Sequence[str] | None,
    keep_last: int | None,
    statuses: set[str] | None,
) -> list[RunInfo]:
    """The runs to delete, newest first (see :func:`delete_runs`)."""
    chosen = runs
    if run_ids is not None:
        wanted = set(run_ids)
        for run_id in wanted - {run.run_id for run in runs}:
            other = store.get_run(run_id)  # RunNotFoundError when it is nowhere
            raise StoreError(f"run {run_id} belongs to experiment '{other.experiment}', not '{experiment}'.")
        chosen = [run for run in runs if run.run_id in wanted]
    if statuses is not None:
        chosen = [run for run in chosen if run.status in statuses]
    return chosen[keep_last:] if keep_last is not None else chosen


def _delete_together(store: SQLiteRunStore, runs: Sequence[RunInfo]) -> None:
    """Delete ``runs`` and their records in one transaction: all of them, or none.

    A failure midway (a full disk, a corrupt store) rolls every deletion back and raises
    :class:`StoreError` saying that nothing was deleted; so does a run that started
    running again since it was listed (resumed by another process).
    """
    try:
        store.delete_runs([run.run_id for run in runs], refuse_running=True)
    except StoreError as exc:
        if not isinstance(exc.__cause__, sqlite3.Error):
            raise
        raise StoreError(f"{exc} Nothing was deleted.") from exc.__cause__


def _statuses(status: str | Iterable[str]) -> set[str]:
    """``delete_runs``'s ``status`` as a set of known statuses: a TypeError for something
    that is not a status or a list of them, a :class:`StoreArgumentError` for an unknown one."""
    given = [status] if isinstance(status, str) else list(status) if isinstance(status, Iterable) else None
    if given is None or not all(isinstance(s, str) for s in given):
        raise TypeError(
            f"delete_runs: status is a run status or a list of them (status='failed'), got {status!r}."
        )
    try:
        return {validate_status(s) for s in given}
    except StoreError as exc:
        raise StoreArgumentError(f"delete_runs: {exc}") from None


def _refuse_unknown(store: SQLiteRunStore, experiment: str) -> None:
    """Raise StoreError for an experiment with no run in ``store`` (say, a misspelt
    name), naming the experiments that have runs there."""
    from crystallize.utils.text import did_you_mean

    names = sorted({run.experiment for run in store.list_runs()})
    listed = f" Experiments with runs there: {', '.join(names)}." if names else " It holds no runs."
    hint = did_you_mean(experiment, names)  # "; did you mean 'x'?" ends the sentence itself
    raise StoreError(f"No run of experiment '{experiment}' in {str(store.path)!r}{hint or '.'}{listed}")


def _refuse_running(runs: Iterable[RunInfo], action: str) -> None:
    """Raise StoreError naming the first run that is still going (the store marks dead
    drivers' runs ``interrupted`` when it opens)."""
    for run in runs:
        if run.status == "running":
            raise StoreError(
                f"run {run.run_id} of '{run.experiment}' is still running in process {run.pid} on "
                f"{run.hostname}; wait for it to finish, or stop that process, then {action}."
            )


def _unused_folders(
    root: Path, experiment: str, deleted: list[RunInfo], remaining: list[RunInfo]
) -> tuple[Path, ...]:
    """The existing ``v<N>`` folders of ``deleted`` runs that no ``remaining`` run uses."""
    used = {run.artifact_version for run in remaining}
    versions = {run.artifact_version for run in deleted if run.artifact_version is not None} - used
    folders = []
    for version in sorted(versions):
        try:
            folder = version_dir(root, experiment, version)
        except ValueError:  # a name that cannot be a folder never had one
            continue
        if folder.is_dir() or folder.is_symlink():
            folders.append(folder)
    return tuple(folders)


def _remove_folders(folders: Iterable[Path]) -> tuple[Path, ...]:
    """Remove ``folders`` (a symbolic link alone, not what it points to); return those
    removed, logging why any other could not be.

    Each is first renamed aside (:func:`set_aside`, quick), then deleted: Ctrl+C while
    files are deleted leaves hidden trash that the next deletion clears, never a
    half-deleted ``v<N>`` that readers would take for the latest outputs.
    """
    aside = []
    for folder in folders:
        try:
            aside.append((folder, folder if folder.is_symlink() else set_aside(folder)))
        except OSError as exc:
            logger.warning("Could not remove the artifact folder %s: %s", folder, exc)
    for folder, trash in aside:
        try:
            remove_tree(trash)
        except OSError as exc:  # set aside already: no run points to it, and it is hidden
            logger.warning("Could not finish removing the artifact folder %s (%s): %s", folder, trash, exc)
    return tuple(folder for folder, _ in aside)


def _folders_size(folders: Iterable[Path]) -> int:
    """Total size of the files under ``folders`` (nothing for a symbolic link: removing it
    frees nothing where it points)."""
    total = 0
    for folder in folders:
        if folder.is_symlink():
            continue
        for parent, _, files in os.walk(folder):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(parent, name)).st_size
    return total


def _store_bytes(path: Path) -> int:
    """Size of the database file plus its write-ahead log."""
    total = 0
    for file in (path, Path(f"{path}-wal")):
        with contextlib.suppress(OSError):
            total += file.stat().st_size
    return total


__all__ = ["DeletedRuns", "compact", "delete_runs"]
