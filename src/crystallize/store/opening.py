"""Opening the run store of a data directory: for a run (created if missing) or for
reading what is there (never created; read-only when it cannot be written)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.store.artifacts import directory_problem
from crystallize.store.sqlite import CANNOT_WRITE, DB_FILENAME, SQLiteRunStore, sqlite_error_says

logger = logging.getLogger("crystallize.store")


def open_store(root_dir: str | os.PathLike[str], **options: Any) -> SQLiteRunStore:
    """Open (creating if needed) the run store at ``<root_dir>/crystallize.db``.

    Args:
        root_dir: Data directory; created with its parents if missing. A leading ``~``
            or ``~user`` is expanded to that home directory (see :func:`data_directory`).
        **options: Passed to :class:`SQLiteRunStore` (``stale_after``, ``busy_timeout``,
            ``checkpoint_bytes``).

    Raises:
        StoreError: If the directory cannot be created or the store cannot be opened. A
            ``crystallize.db`` this call created but could not set up because nothing
            can be written there (a full disk) is removed again while still empty (the
            data directory stays), so that the store can still be read as having no runs.
    """
    root = data_directory(root_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the data directory {str(root)!r}: {directory_problem(root, exc)}. "
            f"{data_directory_advice(exc)}"
        ) from exc
    return SQLiteRunStore(root / DB_FILENAME, **options)


def data_directory(root_dir: str | os.PathLike[str]) -> Path:
    """``root_dir`` as a :class:`~pathlib.Path`, a leading ``~``/``~user`` expanded to
    that home directory (as a shell would), so no directory named ``~`` is ever made.

    Raises:
        StoreError: It starts with a ``~`` that names no home directory (an unknown user).
    """
    root = Path(root_dir)
    if not str(root).startswith("~"):
        return root
    expanded = Path(os.path.expanduser(root))
    if str(expanded).startswith("~"):
        raise StoreError(
            f"Cannot open the data directory {str(root)!r}: its leading '~' names no home "
            "directory (no such user, or no home directory known). Give the directory in "
            "full, or start it with './' for a directory of that name in the working directory."
        )
    return expanded


#: How to store the runs somewhere else, in each way an experiment is set up.
STORE_ELSEWHERE = (
    "ArtifactPlugin(root_dir=...) in Python, plugins.artifacts.root_dir in a folder "
    "experiment's config.yaml, or for one run: crystallize run NAME -s plugins.artifacts.root_dir=PATH"
)


def data_directory_advice(exc: OSError, other_way: str = f"store the runs elsewhere: {STORE_ELSEWHERE}") -> str:
    """What to do when a directory under the data directory could not be created or
    emptied (``exc``): move a file that is in its way (or ``other_way``), else (no
    permission, a read-only or full disk) store the runs elsewhere."""
    if isinstance(exc, FileExistsError | NotADirectoryError):  # a file where a directory goes
        return f"Move that file away, or {other_way}."
    return f"Store the runs in a directory that can be written: {STORE_ELSEWHERE}."


def open_existing_store(root_dir: str | os.PathLike[str], **options: Any) -> SQLiteRunStore:
    """Open the run store at ``<root_dir>/crystallize.db`` to read it; nothing is created.

    A store that cannot be written (read-only directory or mount, full disk) is opened
    read-only (see :class:`SQLiteRunStore`'s ``read_only``) rather than refused; an empty
    ``crystallize.db`` (0 bytes) there reads as a store without runs.

    ``root_dir`` is taken as :func:`data_directory` takes it (``~`` expanded).

    Raises:
        StoreError: There is no store there (the message says what is at that path).
    """
    root = data_directory(root_dir)
    if not (root / DB_FILENAME).exists():  # a directory there is reported by SQLiteRunStore
        if not root.exists():
            found = "the directory does not exist"
        elif not root.is_dir():
            found = "it is a file, not a directory"
        else:
            found = f"it holds no {DB_FILENAME}"
        raise StoreError(
            f"No run store in {str(root)!r} ({found}). Pass the data directory that holds "
            f"{DB_FILENAME}: the experiment's ArtifactPlugin root_dir ('data' by default)."
        )
    return _open_for_reading(root / DB_FILENAME, **options)


def _open_for_reading(path: Path, **options: Any) -> SQLiteRunStore:
    """Open ``path`` as usual or, when it cannot be written, read-only."""
    try:
        return SQLiteRunStore(path, **options)
    except StoreError as exc:
        cause = exc.__cause__
        if not sqlite_error_says(exc, CANNOT_WRITE):
            raise
        try:
            store = SQLiteRunStore(path, read_only=True, **options)
        except StoreError:
            raise exc from cause  # the first error says more (e.g. check permissions)
    logger.info("Run store %s cannot be written (%s); reading it read-only.", path, cause)
    return store


__all__ = ["STORE_ELSEWHERE", "data_directory", "data_directory_advice", "open_existing_store", "open_store"]
