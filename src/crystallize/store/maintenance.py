"""Deleting runs and giving their space back: :func:`delete_runs` and :func:`compact`.

Deleting a run removes it and its records from the run store and, when nothing else uses
it, its artifact folder ``<root>/<experiment>/v<N>``: a versioned run's own ``v<N>`` goes
with it; the ``v0`` that every run of an unversioned experiment shares goes with the last
of them. Runs stored before Crystallize recorded their artifact folder leave their files.

A deletion stopped after its runs' transaction committed (killed, Ctrl+C) leaves their
folders behind; the next :func:`delete_runs` of that experiment, and :func:`compact`,
remove them, and any other ``v<N>`` folder of an experiment that no stored run uses.
Kept are the folders they cannot tell are unused: those of an experiment with a run that
does not record its folder (an older store), of an experiment with no run in the store
unless a deletion marked them (:data:`DELETION_MARKER`), and an empty one (or one holding
only a side-version marker) made within the last hour, which a run that is starting may
have claimed before storing its row.

SQLite reuses the pages that deleted rows free but never hands them back to the file
system: :func:`compact` rewrites the file (``VACUUM``) so it shrinks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crystallize.exceptions import StoreArgumentError, StoreError
from crystallize.store.artifacts import (
    RESERVED_IN_ROOT,
    SIDE_VERSION_MARKER,
    check_path_component,
    remove_set_aside,
    remove_stale_temp_files,
    remove_tree,
    set_aside,
    version_dir,
)
from crystallize.store.base import RunInfo, validate_status
from crystallize.store.opening import open_existing_store
from crystallize.store.sqlite import SQLiteRunStore

logger = logging.getLogger("crystallize.store")

#: File a deletion writes into each ``v<N>`` folder it is about to remove, before its
#: runs' transaction commits: when the deletion is killed after the commit, the next one
#: (or :func:`compact`) knows the folder belonged to deleted runs, even when no run of
#: the experiment is left to tell. It is removed again when the transaction fails.
DELETION_MARKER = ".crystallize-deleted"
#: How long an empty ``v<N>`` no stored run uses is kept: a run claims its folder (or
#: a side version) just before it stores its row, which can wait for the store's busy
#: timeout; an hour is far more than that, and an empty folder costs nothing meanwhile.
CLAIM_GRACE_SECONDS = 3600.0
_VERSION_NAME = re.compile(r"v(0|[1-9][0-9]*)")
#: What :func:`~crystallize.store.artifacts.set_aside` names a ``v<N>`` it moves away.
_TRASH_NAME = re.compile(r"\.v(0|[1-9][0-9]*)\.trash-[0-9a-f]{8}")


@dataclass(frozen=True)
class DeletedRuns:
    """What :func:`delete_runs` deleted (with ``dry_run``: would delete).

    Attributes:
        runs: The deleted runs, newest first.
        artifact_dirs: The ``v<N>`` artifact folders removed with them, and those no
            stored run used any more (left by a deletion that was stopped).
        artifact_bytes: Total size of the files in those folders.
        kept_dirs: ``v<N>`` folders no stored run names that were kept because a run
            that does not record its folder (stored by an older Crystallize) may use them.
    """

    runs: tuple[RunInfo, ...]
    artifact_dirs: tuple[Path, ...]
    artifact_bytes: int
    kept_dirs: tuple[Path, ...] = ()


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
    Artifact folders go as described in :mod:`crystallize.store.maintenance`, with what
    an earlier deletion that was stopped left of the experiment's (then even when no run
    is deleted, or the experiment has no run left). The file does not shrink until
    :func:`compact`.

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
        StoreError: No store in ``root_dir``, no run of ``experiment`` in it (and nothing
            left by a stopped deletion of its runs), an id of
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
            if not _has_leftovers(root, experiment):
                _refuse_unknown(store, experiment)
            if run_ids:  # the ids are nowhere in the store
                _select(store, experiment, runs, run_ids, keep_last, statuses)
            return _sweep(store, root, [experiment], dry_run=dry_run)
        chosen = _select(store, experiment, runs, run_ids, keep_last, statuses)
        _refuse_running(chosen, "delete it (nothing was deleted)")
        gone = {run.run_id for run in chosen}
        remaining = [run for run in runs if run.run_id not in gone]
        versions = _unused_versions(chosen, remaining)
        if dry_run:
            return _sweep(store, root, [experiment], dry_run=True, deleted=versions, chosen=chosen, ignore=gone)
        marked = _mark_for_deletion(root, experiment, versions)
        try:
            _delete_together(store, chosen)
        except BaseException:
            _unmark_unless_deleted(store, experiment, gone, marked)
            raise
        remove_set_aside(root / experiment)  # what an interrupted deletion left
        return _sweep(store, root, [experiment], deleted=versions, chosen=chosen)


def compact(root_dir: str | os.PathLike[str]) -> int:
    """Shrink the store in ``root_dir`` to its data: checkpoint the log, then ``VACUUM``.

    Rewriting the file blocks the store's writers while it lasts, so it is refused while
    a run is going. It also removes what stopped commands left under ``root_dir``: the
    artifact folders of runs whose deletion was stopped and other ``v<N>`` folders no
    stored run uses (see :mod:`crystallize.store.maintenance`), and the temporary files
    of writes that were killed (see
    :func:`~crystallize.store.artifacts.remove_stale_temp_files`).

    Returns:
        Bytes given back: the database file's and write-ahead log's, and those of the
        leftovers removed.

    Raises:
        StoreError: No store in ``root_dir``, it cannot be written, a run is still
            running, or SQLite failed.
    """
    with open_existing_store(root_dir) as store:
        if store.read_only:
            raise StoreError(f"Run store {str(store.path)!r} cannot be written, so it cannot be compacted.")
        _refuse_running(store.list_runs(), "compact the store")
        path, timeout = store.path, store.busy_timeout
        left = _sweep(store, Path(root_dir), None)
    removed, temp_bytes = remove_stale_temp_files(root_dir)
    if left.artifact_dirs or removed:
        logger.info(
            "Removed %d artifact folder(s) no stored run uses and %d temporary file(s) of "
            "killed writes from %s (%d bytes).",
            len(left.artifact_dirs), len(removed), root_dir, left.artifact_bytes + temp_bytes,
        )
    if left.kept_dirs:
        logger.info(
            "Kept %s, which no stored run names: a run stored by an older Crystallize, which "
            "does not record its artifact folder, may use them.",
            ", ".join(map(str, left.kept_dirs)),
        )
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
    return max(0, before - _store_bytes(path)) + left.artifact_bytes + temp_bytes


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


def _unused_versions(deleted: list[RunInfo], remaining: list[RunInfo]) -> set[int]:
    """The artifact versions of ``deleted`` runs that no ``remaining`` run uses."""
    used = {run.artifact_version for run in remaining}
    return {run.artifact_version for run in deleted if run.artifact_version is not None} - used


def _mark_for_deletion(root: Path, experiment: str, versions: Iterable[int]) -> list[Path]:
    """Write :data:`DELETION_MARKER` into the existing ``v<N>`` folders of ``versions``
    (not through a symbolic link: its target is not ours); return the markers written."""
    marked = []
    for version in sorted(versions):
        try:
            folder = version_dir(root, experiment, version)
        except ValueError:  # a name that cannot be a folder never had one
            continue
        if folder.is_symlink() or not folder.is_dir():
            continue
        marker = folder / DELETION_MARKER
        try:
            marker.write_text(
                "The runs that wrote this folder were deleted from the run store; the next "
                "`crystallize delete` of the experiment, or `crystallize compact`, removes it.\n",
                encoding="utf-8",
            )
        except OSError as exc:  # removing the folder will likely fail too, and say why
            logger.debug("Could not mark %s for deletion: %s", folder, exc)
            continue
        marked.append(marker)
    return marked


def _unmark_unless_deleted(store: SQLiteRunStore, experiment: str, gone: set[str], marked: list[Path]) -> None:
    """After a deletion that raised: remove the ``marked`` markers when its runs are still
    stored (all or none are: one transaction); keep them when they are gone (Ctrl+C just
    after the commit), so that the next deletion removes their folders."""
    try:
        deleted = not gone & {run.run_id for run in store.list_runs(experiment)}
    except Exception:  # cannot tell: a marker in a folder still used removes nothing
        return
    if deleted:
        return
    for marker in marked:
        with contextlib.suppress(OSError):
            marker.unlink()


@dataclass(frozen=True)
class _Folder:
    """A ``v<N>`` entry of an experiment folder, as seen before the store was read."""

    experiment: str
    version: int
    path: Path
    identity: tuple[int, int]  # (device, inode): a folder made again since is another one
    link: bool
    marked: bool  # holds DELETION_MARKER
    used: bool  # holds anything besides the markers: written by a run whose row was stored
    age: float


def _has_leftovers(root: Path, experiment: str) -> bool:
    """Whether ``experiment``'s folder holds what a stopped deletion left: a folder
    marked for deletion, or one set aside."""
    try:
        base = root / check_path_component(experiment, "experiment")
    except ValueError:
        return False
    folders, trash = _scan(base, experiment)
    return bool(trash) or any(folder.marked for folder in folders)


def _experiment_folders(root: Path) -> list[str]:
    """Names of the folders in the data directory ``root`` that can be experiments'."""
    names = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.name.lower() in RESERVED_IN_ROOT or not entry.is_dir():
                continue
            try:
                names.append(check_path_component(entry.name, "experiment"))
            except ValueError:
                continue
    return sorted(names)


def _scan(base: Path, experiment: str) -> tuple[list[_Folder], list[Path]]:
    """The ``v<N>`` folders in the experiment folder ``base``, and its set-aside ones."""
    folders: list[_Folder] = []
    trash: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return folders, trash
    for entry in entries:
        if _TRASH_NAME.fullmatch(entry.name):
            trash.append(Path(entry.path))
            continue
        match = _VERSION_NAME.fullmatch(entry.name)
        try:
            if match is None or not (entry.is_dir() or entry.is_symlink()):
                continue
            info = entry.stat(follow_symlinks=False)
            link = entry.is_symlink()
            names = set() if link else _first_names(entry.path)
            marked = not link and os.path.isfile(os.path.join(entry.path, DELETION_MARKER))
        except OSError:
            continue
        folders.append(_Folder(
            experiment=experiment,
            version=int(match.group(1)),
            path=Path(entry.path),
            identity=(info.st_dev, info.st_ino),
            link=link,
            marked=marked,
            used=bool(names - {DELETION_MARKER, SIDE_VERSION_MARKER}),
            age=now - info.st_mtime,
        ))
    return folders, trash


def _first_names(path: str) -> set[str]:
    """The names of the first three entries of the directory ``path``: enough to tell
    whether it holds anything besides the two markers."""
    names = set()
    with os.scandir(path) as entries:
        for entry in entries:
            names.add(entry.name)
            if len(names) >= 3:
                break
    return names


def _stored_versions(
    conn: sqlite3.Connection, experiments: Collection[str] | None, ignore: Collection[str]
) -> dict[str, set[int | None]]:
    """The artifact versions stored runs use, by experiment (``None``: a run that does not
    record its folder), leaving out the runs ``ignore`` names."""
    try:
        rows = conn.execute("SELECT experiment, artifact_version, run_id FROM runs").fetchall()
    except sqlite3.OperationalError as exc:  # a read-only store from before artifact_version
        if "artifact_version" not in str(exc):
            raise
        rows = [(name, None, run_id) for name, run_id in conn.execute("SELECT experiment, run_id FROM runs")]
    used: dict[str, set[int | None]] = {}
    for name, version, run_id in rows:
        if run_id not in ignore and (experiments is None or name in experiments):
            used.setdefault(name, set()).add(version)
    return used


def _sweep(
    store: SQLiteRunStore,
    root: Path,
    experiments: Collection[str] | None,
    *,
    dry_run: bool = False,
    deleted: Collection[int] = (),
    chosen: Sequence[RunInfo] = (),
    ignore: Collection[str] = (),
) -> DeletedRuns:
    """Remove the ``v<N>`` folders of ``experiments`` (``None``: every folder of ``root``)
    that no stored run uses, as :mod:`crystallize.store.maintenance` describes, and their
    set-aside leftovers; ``deleted`` are the versions of the runs just deleted (``chosen``)
    that no other run used (``experiments`` is then that one experiment). Returns
    ``chosen`` with the folders removed.

    The folders are listed before the store is read: one that holds files then was
    written by a run whose row was stored already, so a run that is starting is never
    mistaken for a deleted one. The store is read, and the folders renamed aside, under
    the store's write lock, so no run can store a row using one meanwhile (an
    unversioned run stores its row before it empties ``v0``). ``dry_run`` renames and
    removes nothing (and takes no lock); ``ignore`` names runs to count as deleted.
    """
    names = list(experiments) if experiments is not None else _experiment_folders(root)
    scanned = [_scan(root / name, name) for name in names]
    folders = [folder for found, _ in scanned for folder in found]
    trash = [path for _, found in scanned for path in found]
    deleted = set(deleted)
    removable: list[_Folder] = []
    kept: list[Path] = []
    aside: list[tuple[Path, Path]] = []
    try:
        with store.transaction(write=not dry_run) as conn:
            used = _stored_versions(conn, experiments, ignore)
            for folder in folders:
                versions = used.get(folder.experiment, set())
                if folder.version in versions:
                    continue
                if folder.marked or folder.version in deleted:
                    removable.append(folder)
                elif not versions:
                    continue  # no run of it is stored: nothing tells what the folder was
                elif None in versions:
                    kept.append(folder.path)
                elif folder.link or folder.used or folder.age > CLAIM_GRACE_SECONDS:
                    removable.append(folder)
            removable.sort(key=lambda f: (f.experiment, f.version))
            if not dry_run:
                aside = _set_aside(removable)
    except StoreError as exc:
        if dry_run:
            raise
        # The runs are deleted; their folders stay marked, for the next deletion.
        logger.warning("Could not remove the artifact folders no run uses any more: %s", exc)
    if dry_run:
        paths = tuple(folder.path for folder in removable)
        return DeletedRuns(tuple(chosen), paths, _folders_size(paths), tuple(kept))
    size = _folders_size(trash for _, trash in aside)
    removed = _remove_aside(aside)
    for path in trash:
        with contextlib.suppress(OSError):
            remove_tree(path)
    # The experiment's folder goes once empty: the one named, or one something was removed from.
    emptied = names if experiments is not None else {folder.experiment for folder in removable}
    for name in {*emptied, *(path.parent.name for path in trash)}:
        with contextlib.suppress(OSError):
            (root / name).rmdir()
    return DeletedRuns(tuple(chosen), removed, size, tuple(sorted(kept)))


def _set_aside(folders: Iterable[_Folder]) -> list[tuple[Path, Path]]:
    """Rename ``folders`` aside (:func:`set_aside`, quick; a symbolic link stays as it is,
    to be unlinked); return ``(folder, where it went)`` of each. One that is no longer
    the folder that was listed (removed and made again meanwhile) is left alone."""
    aside = []
    for folder in folders:
        try:
            info = os.lstat(folder.path)
            if (info.st_dev, info.st_ino) != folder.identity:
                continue
            aside.append((folder.path, folder.path if folder.link else set_aside(folder.path)))
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.warning("Could not remove the artifact folder %s: %s", folder.path, exc)
    return aside


def _remove_aside(aside: Iterable[tuple[Path, Path]]) -> tuple[Path, ...]:
    """Delete what :func:`_set_aside` moved away (a symbolic link alone, not what it
    points to); return the folders removed, logging why any other could not be.

    The folders were renamed aside first, so Ctrl+C while files are deleted leaves hidden
    trash that the next deletion clears, never a half-deleted ``v<N>`` that readers would
    take for the latest outputs.
    """
    removed = []
    for folder, trash in aside:
        removed.append(folder)
        try:
            remove_tree(trash)
        except OSError as exc:  # set aside already: no run points to it, and it is hidden
            if trash.exists() or trash.is_symlink():
                logger.warning("Could not finish removing the artifact folder %s (%s): %s", folder, trash, exc)
    return tuple(removed)


def _folders_size(folders: Iterable[Path]) -> int:
    """Total size of the files under ``folders`` (nothing for a symbolic link: removing it
    frees nothing where it points; nor for :data:`DELETION_MARKER`, which is ours)."""
    total = 0
    for folder in folders:
        if folder.is_symlink():
            continue
        for parent, _, files in os.walk(folder):
            for name in files:
                if name == DELETION_MARKER:
                    continue
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


__all__ = ["CLAIM_GRACE_SECONDS", "DELETION_MARKER", "DeletedRuns", "compact", "delete_runs"]
