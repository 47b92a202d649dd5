"""The SQLite run store: one file, many processes, WAL mode.

Layout of ``crystallize.db``:

* ``runs`` — one row per run (:class:`~crystallize.store.base.RunInfo` fields; ``spec``,
  ``conditions``, ``summary`` and ``warnings`` as JSON text).
* ``records`` — one row per (run, condition, replicate) with ``seed``, ``status``
  (``"ok"``/``"failed"``) and ``duration`` columns for queries, plus ``payload``: the
  whole record as JSON (see :mod:`crystallize.store.serialize`). The payload is the
  source of truth when records are loaded.
* ``PRAGMA user_version`` holds the schema version (:data:`SCHEMA_VERSION`).
* A store that cannot be written (read-only directory or mount, full disk) opens with
  ``read_only=True``; :func:`open_existing_store`, which the history functions use,
  falls back to that by itself. Read so, a file without any table (0 bytes) is a store
  without runs; and a file the store created but could not set up because nothing can be
  written there is removed again while it is still empty.
* SQLite gives the ``-wal`` and ``-shm`` files it creates the database file's mode, and
  a reader of a read-only database cannot remove them when it closes. The store gives
  them their owner's write permission back (:func:`_let_owner_write_shm`,
  :func:`_writable_empty_wal`), so a store read while ``crystallize.db`` was read-only
  can be written once that is writable again.

Concurrency: the database runs in WAL mode with ``synchronous=NORMAL`` — readers never
block writers, a committed transaction survives the process being killed (only an OS
crash or power loss can drop the last few commits), and writers from different
processes queue on a ``busy_timeout`` (30 s by default) instead of failing. WAL needs a
local file system (not NFS/SMB). The log is copied back into the database file by
background checkpoints (:mod:`crystallize.store.checkpoint`), not inside commits; when
SQLite starts the log over, its file is cut back to :data:`WAL_SIZE_LIMIT`.

Threads: sqlite3 connections must not cross threads, so the store opens one connection
per thread on first use. A single :class:`SQLiteRunStore` object may therefore be used
from several threads at once (e.g. the engine and a
:class:`~crystallize.store.writer.RecordWriter`). A thread that is done with the store
may call :meth:`SQLiteRunStore.release_thread`; the connections of threads that ended
without doing so are closed when the next connection opens, so a long-lived process
that runs experiments from a new thread each time keeps only those of live threads
(which reuse theirs). :meth:`SQLiteRunStore.close` closes every connection and must
only be called once no other thread uses the store. After
``fork`` the child opens fresh connections (inherited ones are never used or closed).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from crystallize.exceptions import StoreError
from crystallize.store.base import (
    RunStore,
)
from crystallize.store.checkpoint import (
    DEFAULT_CHECKPOINT_BYTES,
    FALLBACK_AUTOCHECKPOINT_PAGES,
    BackgroundCheckpointer,
    fork_guard,
)
from crystallize.store.files import file_identity, file_size
from crystallize.store.liveness import pid_alive
from crystallize.store.preregistration_rows import PreregistrationRows
from crystallize.store.record_rows import RecordRows
from crystallize.store.run_rows import RUN_COLUMNS, RunRows
from crystallize.store.sqlite_schema import (
    ARTIFACT_VERSION_COLUMN,
    OUR_TABLES,
    PREREGISTRATIONS_TABLE,
    SCHEMA,
)

logger = logging.getLogger("crystallize.store")

#: Schema version written by this code. Stores with a higher version are refused.
SCHEMA_VERSION = 4
#: Version 4 added ``runs.paused_seconds`` (the time between a run's spans of running,
#: see :class:`~crystallize.store.base.RunInfo`); older stores get the column
#: (0 for their runs) on open.
PAUSED_SECONDS_COLUMN = "ALTER TABLE runs ADD COLUMN paused_seconds REAL NOT NULL DEFAULT 0"
#: File name of the database inside a store's root directory.
DB_FILENAME = "crystallize.db"
#: Default seconds without heartbeat after which a "running" run is considered dead.
DEFAULT_STALE_AFTER = 120.0
#: Default seconds a writer waits for another process's transaction to finish.
DEFAULT_BUSY_TIMEOUT = 30.0
#: Bytes the write-ahead log file is cut back to when SQLite starts it over (after a
#: complete checkpoint); it is never cut while it holds frames not yet checkpointed.
WAL_SIZE_LIMIT = 4 << 20

#: How a read-only store opens the file, in order: ``mode=ro`` sees other processes'
#: commits but needs the ``-shm`` file; ``immutable=1`` needs nothing writable (used
#: when even that cannot be created, e.g. on a read-only mount, where nobody writes).
_READ_ONLY_MODES = ("mode=ro", "immutable=1")
#: SQLite messages meaning that nothing can be written to the file: it (or its directory
#: or mount) is read-only, or the disk is full or failing.
NO_WRITES = ("readonly", "read-only", "disk is full", "disk I/O error")
#: SQLite messages meaning "this file cannot be written here" (read-only fallback).
CANNOT_WRITE = (*NO_WRITES, "unable to open")

# Connections inherited through fork: kept referenced so they are never closed (or
# finalised) in the child, which could disturb the parent's locks.
_INHERITED: list[sqlite3.Connection] = []


def _out_of_file_descriptors() -> bool:
    """Whether this process cannot open another file now because it has too many open
    (``EMFILE``) or the system does (``ENFILE``); SQLite reports both as "unable to open"."""
    import errno

    try:
        os.close(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        return exc.errno in (errno.EMFILE, errno.ENFILE)
    return False


def _cannot_write(path: str | os.PathLike[str], *, directory: bool = False) -> bool:
    """Whether the file (or ``directory``) at ``path`` exists and this user cannot write it."""
    wanted = os.W_OK | os.X_OK if directory else os.W_OK
    return os.path.exists(path) and not os.access(path, wanted)


def _read_only_mount(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` is on a file system mounted read-only (``False`` when that
    cannot be told, as on Windows)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _owner_cannot_write(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` lacks its owner's write permission (``False`` when
    there is none)."""
    try:
        return not os.stat(path).st_mode & stat.S_IWUSR
    except OSError:
        return False


def _read_only_shm_to_come(db: Path) -> str | None:
    """The ``-shm`` path of ``db`` when SQLite is about to create it read-only (it copies
    the database file's mode, here without its owner's write permission), else ``None``."""
    shm = f"{db}-shm"
    return shm if _owner_cannot_write(db) and not os.path.exists(shm) else None


def _let_owner_write_shm(conn: sqlite3.Connection, shm: str) -> None:
    """Have SQLite create ``shm`` (a read opens the log) and give it its owner's write
    permission back.

    A connection to a read-only database cannot remove the ``-shm`` when it closes, so it
    would stay read-only, and every write would fail once the database is writable again.
    A writable ``-shm`` gives no access to the database itself (opened read-only), and a
    new mode does not disturb processes that have the file open.
    """
    conn.execute("PRAGMA user_version").fetchone()
    with contextlib.suppress(OSError):  # not made (read-only directory), or another user's
        mode = os.stat(shm).st_mode
        if not mode & stat.S_IWUSR:
            os.chmod(shm, stat.S_IMODE(mode) | stat.S_IWUSR)


def _writable_empty_wal(db: Path) -> None:
    """Give an empty ``-wal`` that lacks its owner's write permission the mode of ``db``
    (when ``db`` has it) before SQLite opens the log.

    SQLite does the same when it opens an empty log, but only once it has opened it
    read-only, so that connection's writes would fail (a read of the store while the
    database was read-only leaves the log so).
    """
    wal = f"{db}-wal"
    with contextlib.suppress(OSError):  # no database or log, or another user's log
        mode, log = os.stat(db).st_mode, os.stat(wal)
        if mode & stat.S_IWUSR and not log.st_mode & stat.S_IWUSR and log.st_size == 0:
            os.chmod(wal, stat.S_IMODE(mode))


def sqlite_error_says(exc: BaseException, texts: tuple[str, ...]) -> bool:
    """Whether ``exc`` is SQLite's ``OperationalError``, or a :class:`StoreError` caused by
    one, whose message holds one of ``texts`` (e.g. :data:`CANNOT_WRITE`)."""
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    return isinstance(cause, sqlite3.OperationalError) and any(text in str(cause) for text in texts)


def _create_with_umask(path: Path) -> tuple[int, int] | None:
    """Create an empty database file at ``path`` unless one exists, with the mode any new
    file gets (``0o666`` less the umask), as the store's other files: SQLite's own
    creates it ``0o644`` whatever the umask, so a group-shared data directory
    (umask 002) could not be written to by teammates. Its log files copy that mode.

    Returns:
        ``(device, inode)`` of the file created, ``None`` when none was (see
        :func:`_remove_if_still_empty`).
    """
    # Already there, no folder or no permission: connecting says so in the store's words.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError:
        return None
    try:
        stat_result = os.fstat(fd)
    finally:
        os.close(fd)
    return (stat_result.st_dev, stat_result.st_ino)


def _remove_if_still_empty(path: Path, created: tuple[int, int]) -> None:
    """Remove the database file :func:`_create_with_umask` created (``created``: its
    identity) when the store could not be set up in it: while it is still that file and
    still empty (0 bytes), it holds nothing, and left there it would stand for a store
    (on a full disk, one that cannot even be read). Anything else is left alone."""
    with contextlib.suppress(OSError):
        if file_identity(path) == created and os.stat(path).st_size == 0:
            os.unlink(path)


def _empty_store_schema(conn: sqlite3.Connection) -> None:
    """Give ``conn`` (an in-memory database) the run store's current schema, then make it
    refuse writes (``query_only``), as a read-only file does."""
    for statement in (*SCHEMA, PAUSED_SECONDS_COLUMN, f"PRAGMA user_version = {SCHEMA_VERSION}"):
        conn.execute(statement)
    conn.execute("PRAGMA query_only = ON")


class SQLiteRunStore(RunRows, RecordRows, PreregistrationRows, RunStore):
    """A :class:`~crystallize.store.base.RunStore` in one SQLite file.

    Opening the store creates the file and schema if needed, checks the schema version
    and marks dead ``"running"`` runs ``"interrupted"`` (see :meth:`mark_stale_runs`).

    Args:
        path: Database file (created with its schema if missing; the parent directory
            must exist — :func:`open_store` creates it).
        stale_after: Seconds without heartbeat after which a ``"running"`` run is
            considered dead, whatever host it runs on.
        busy_timeout: Seconds to wait for another process's write transaction.
        checkpoint_bytes: Record bytes committed between background WAL checkpoints
            (see :mod:`crystallize.store.checkpoint`); ``0`` leaves checkpoints to
            SQLite alone.
        read_only: Open the file for reading only: nothing is written when opening
            (no WAL switch, no schema migration, stale runs are not marked) and every
            write raises :class:`StoreError`. Works on a read-only directory or mount
            and on a full disk. A file that holds no table (0 bytes: a store whose
            creation failed) reads as a store without runs.

    Raises:
        StoreError: If the file cannot be opened, is not a Crystallize store, or was
            written by a newer schema version.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        stale_after: float = DEFAULT_STALE_AFTER,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(
                f"Run store {str(self.path)!r} is a directory, not a database file. Move it "
                "away (the store is created in its place), or use another data directory."
            )
        self.read_only = bool(read_only)
        self._uri: str | None = None  # set when opened read-only
        self._run_columns = RUN_COLUMNS
        self.stale_after = float(stale_after)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._lock = threading.Lock()
        #: Every open connection with (a weak reference to) the thread it belongs to.
        self._connections: list[tuple[sqlite3.Connection, weakref.ref[threading.Thread]]] = []
        self._owner_pid = os.getpid()
        self._closed = False
        #: Starts the background WAL checkpoints (``checkpointer.completed`` counts them).
        self.checkpointer = BackgroundCheckpointer(self._checkpoint_now, checkpoint_bytes)
        #: Whether the file holds no table (read only): then read as a store without runs.
        self._empty = False
        created: tuple[int, int] | None = None
        try:
            if self.read_only:
                self._open_read_only()
            else:
                created = _create_with_umask(self.path)
                self._init_schema()
                self.mark_stale_runs()
        except BaseException as exc:
            self.close()
            # Only when nothing can be written there (full disk, read-only): a file left
            # on another error is set up by the next open, and another process may be
            # setting it up right now.
            if created is not None and sqlite_error_says(exc, NO_WRITES):
                _remove_if_still_empty(self.path, created)
            raise
        #: ``(device, inode)`` of the database file when opened (see :meth:`file_problem`).
        self.identity = file_identity(self.path)

    def __repr__(self) -> str:
        return f"SQLiteRunStore({str(self.path)!r})"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- connections & transactions -----------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self!r} is closed.")
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        pid = os.getpid()
        if conn is not None and local.pid == pid:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"{self!r} is closed.")
            if pid != self._owner_pid:  # we are a forked child
                _INHERITED.extend(conn for conn, _ in self._connections)
                self._connections = []
                self._owner_pid = pid
            self._close_orphans()
            new_shm = _read_only_shm_to_come(self.path)
            _writable_empty_wal(self.path)
            try:
                conn = sqlite3.connect(
                    self._uri or self.path,
                    uri=self._uri is not None,
                    timeout=self.busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT_PAGES}")
                conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
                if self._empty:
                    _empty_store_schema(conn)
                elif new_shm is not None:
                    _let_owner_write_shm(conn, new_shm)
            except sqlite3.Error as exc:
                raise self._error(exc, "open") from exc
            self._connections.append((conn, weakref.ref(threading.current_thread())))
        local.conn, local.pid = conn, pid
        return conn

    def _close_orphans(self) -> None:
        """Close the connections of threads that have ended (call with ``_lock`` held).

        A thread that used the store and ended without :meth:`release_thread` (a run
        started from a thread per request, say) leaves its connection behind: without
        this, a long-lived process would keep two open files per such thread until it
        runs out. Threads still alive keep theirs, which they reuse.
        """
        kept = []
        for conn, thread in self._connections:
            owner = thread()
            if owner is None or not owner.is_alive():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            else:
                kept.append((conn, thread))
        self._connections = kept

    def _error(self, exc: sqlite3.Error, action: str) -> StoreError:
        message = str(exc)
        hint = ""
        if "locked" in message or "busy" in message:
            hint = (
                f" Another process held the database for more than {self.busy_timeout:g} s; "
                "retry, or raise busy_timeout."
            )
        elif "not a database" in message or "malformed" in message:
            hint = (
                " The file is not a Crystallize run store or is corrupt: move it aside (the "
                "next run starts a new store there), or use another data directory "
                "(ArtifactPlugin(root_dir=...), or root_dir under plugins: artifacts: in "
                "config.yaml)."
            )
        elif "disk is full" in message or "disk I/O error" in message:
            hint = " The disk may be full, or the file system failing: free space and retry."
        elif "unable to open" in message and _out_of_file_descriptors():
            hint = (
                " Too many open files: the process (see `ulimit -n`) or the system has "
                "reached its limit of open files. Close files or connections that are no "
                "longer needed, or raise the limit."
            )
        elif "readonly" in message:
            hint = self._read_only_file_hint() or " Check that the directory exists and is writable."
        elif "unable to open" in message:
            hint = (
                self._read_only_mount_hint()
                if _read_only_mount(self.path.parent)
                else " Check that the directory exists and is writable."
            )
        return StoreError(f"Run store {str(self.path)!r}: could not {action}: {message}.{hint}")

    def _read_only_mount_hint(self) -> str:
        """The advice for a store on a file system mounted read-only."""
        return (
            f" The file system holding {str(self.path.parent)!r} is mounted read-only: "
            "remount it writable, or use another data directory."
        )

    def _read_only_file_hint(self) -> str | None:
        """Which of the store's files (or its directory) this user cannot write, and what
        to do about it; ``None`` when it can write them all."""
        db = str(self.path)
        if _read_only_mount(self.path.parent):  # no permission change helps there
            return self._read_only_mount_hint()
        if _cannot_write(db):
            return f" {db!r} is read-only for this user: make it writable, or use another data directory."
        for log in (f"{db}-wal", f"{db}-shm"):
            if not _cannot_write(log):
                continue
            if log.endswith("-wal") and file_size(log):
                return (
                    f" {log!r} is read-only for this user and holds commits not yet in "
                    f"{self.path.name}: make it writable (do not remove it)."
                )
            return (
                f" {log!r} is read-only for this user (left by another user, or by a read of "
                f"the store while {self.path.name} was read-only): make it writable, or "
                "remove it while no process uses the store."
            )
        if _cannot_write(self.path.parent, directory=True):
            return (
                f" The directory {str(self.path.parent)!r} is read-only for this user: make "
                "it writable, or use another data directory."
            )
        return None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction and map every sqlite3 error to StoreError.

        Args:
            write: Take the write lock up front (``BEGIN IMMEDIATE``); waits up to
                ``busy_timeout`` for other writers. Reads use a deferred transaction
                so they see one consistent snapshot.

        Yields:
            This thread's connection. The transaction commits when the block exits
            normally and rolls back if it raises.

        Raises:
            StoreError: For any sqlite3 error (chained as ``__cause__``).
        """
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise self._error(exc, "write" if write else "read") from exc

    def _init_schema(self) -> None:
        conn = self._connection()
        deadline = time.monotonic() + self.busy_timeout
        while True:  # switching to WAL needs a moment alone with the file
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                self._check_version(version)
                if version == 0:  # refuse someone else's database before changing its mode
                    self._refuse_foreign_tables(conn)
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise self._error(exc, "open") from exc
                time.sleep(0.02)
            except sqlite3.Error as exc:
                raise self._error(exc, "open") from exc
        if mode.lower() != "wal":
            logger.warning(
                "Run store %s could not switch to WAL mode (journal_mode=%s); concurrent "
                "access will be slower. Use a file on a local file system.",
                self.path,
                mode,
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction(write=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            if version == 0:
                self._refuse_foreign_tables(conn)
                for statement in SCHEMA:
                    conn.execute(statement)
            elif version < 2:  # version 2 added pre-registration records
                conn.execute(PREREGISTRATIONS_TABLE)
            if version < SCHEMA_VERSION:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
                if "artifact_version" not in columns:  # version 3
                    conn.execute(ARTIFACT_VERSION_COLUMN)
                if "paused_seconds" not in columns:  # version 4 (new stores get it here too)
                    conn.execute(PAUSED_SECONDS_COLUMN)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _open_read_only(self) -> None:
        """Open the file read-only (see :data:`_READ_ONLY_MODES`) and check its schema."""
        error: StoreError | None = None
        for flags in _READ_ONLY_MODES:
            self._uri = f"{self.path.absolute().as_uri()}?{flags}"
            try:
                conn = self._connection()
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
                break
            except StoreError as exc:
                error = exc
            except sqlite3.Error as exc:
                error = self._error(exc, "open")
            self.release_thread()
        else:
            assert error is not None
            raise error
        if flags == "immutable=1" and file_size(f"{self.path}-wal"):
            logger.warning(
                "Run store %s is read through its database file only: its write-ahead log "
                "cannot be read here, so the latest commits may be missing.",
                self.path,
            )
        self._check_version(version)
        if "run_id" not in columns:
            self._refuse_foreign_tables(conn)
            if self._tables(conn):
                raise StoreError(
                    f"Run store {str(self.path)!r} is incomplete (it has no runs table) and cannot be "
                    "written, so it cannot be set up: make it writable (or free disk space) and open "
                    "it again, or use another data directory."
                )
            self._read_as_empty()
            return
        if "artifact_version" not in columns:  # written before schema version 3
            self._run_columns = self._run_columns.replace("artifact_version,", "NULL,")
        if "paused_seconds" not in columns:  # written before schema version 4
            self._run_columns = self._run_columns.replace("paused_seconds,", "0,")

    def _read_as_empty(self) -> None:
        """Read the store as one without runs: its file holds no table yet (0 bytes,
        typically: the first run could not set it up, say on a full disk), as a store
        just created would be. Every connection is then an in-memory database with the
        run store's schema, where writes fail as on a read-only file; the file is not
        read again (open the store anew to see runs stored in it since)."""
        self.release_thread()
        self._uri = "file:crystallize-empty-store?mode=memory"
        self._empty = True
        logger.info("Run store %s holds no table yet (an empty file): read as a store without runs.", self.path)

    @staticmethod
    def _tables(conn: sqlite3.Connection) -> set[str]:
        """Names of the tables in the database of ``conn`` (SQLite's own left aside)."""
        return {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }

    def _refuse_foreign_tables(self, conn: sqlite3.Connection) -> None:
        """Raise StoreError when the file holds tables that are not a run store's."""
        tables = self._tables(conn)
        if tables - OUR_TABLES:
            raise StoreError(
                f"{str(self.path)!r} is an SQLite database but not a Crystallize run "
                f"store (it has tables {sorted(tables)}). Use a different path."
            )

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"Run store {str(self.path)!r} has schema version {version}, but this "
                f"version of Crystallize only knows versions up to {SCHEMA_VERSION}. "
                "Upgrade Crystallize, or use a different data directory."
            )

    def release_thread(self) -> None:
        """Close the calling thread's connection (a new one opens on next use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            return
        self._local.conn = None
        with self._lock:
            self._connections = [entry for entry in self._connections if entry[0] is not conn]
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def close(self) -> None:
        """Close every connection. Call it only when no other thread uses the store."""
        self.checkpointer.wait()
        with self._lock:
            self._closed = True
            connections = [conn for conn, _ in self._connections]
            self._connections = []
            if os.getpid() != self._owner_pid:
                _INHERITED.extend(connections)
                return
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def file_problem(self) -> str | None:
        """Why :attr:`path` is no longer the database file this store opened (deleted, or
        replaced by another file), or ``None`` while it is.

        The store's connections keep writing to the file they opened, so what is written
        after the file was deleted or replaced is lost with it.
        """
        now = file_identity(self.path)
        if now == self.identity:
            return None
        return f"the run store {str(self.path)!r} was " + (
            "deleted" if now is None else "replaced by another file"
        )

    def checkpoint(self) -> None:
        """One ``PASSIVE`` WAL checkpoint on the calling thread; ``os.fork()`` waits for it.

        Raises:
            StoreError: If SQLite reports an error.
        """
        with fork_guard:
            self._checkpoint_now()

    def _checkpoint_now(self) -> None:
        """One ``PASSIVE`` WAL checkpoint on this thread's own connection, then closed."""
        try:
            conn = self._connection()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "checkpoint") from exc
        finally:
            self.release_thread()


__all__ = [
    "DB_FILENAME",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_STALE_AFTER",
    "PAUSED_SECONDS_COLUMN",
    "SCHEMA_VERSION",
    "SQLiteRunStore",
    "pid_alive",
    "sqlite_error_says",
]
