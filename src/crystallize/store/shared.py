"""Run stores kept open for the life of the process.

Opening an SQLite store (connect, pragmas, schema check, stale-run scan) and closing it
(the last connection checkpoints the WAL into the database file) each cost about a
millisecond: more than a small run spends on its replicates. The engine therefore asks
:func:`shared_store` for its store, which opens it on first use and keeps it open until
the interpreter exits. Stores opened with :func:`~crystallize.store.open_store` are not
affected and are closed by their owner as before.

A kept store is reused only in the process that opened it and only while its database
file is the same file (same device and inode): a deleted or replaced data directory gets
a fresh store. Callers take a store with :func:`shared_store` and give it back with
:func:`release_shared_store`; beyond :data:`MAX_SHARED` open stores, the least recently
used ones that nobody holds are closed.

A kept store that nobody has held for :data:`IDLE_CHECKPOINT_AFTER` seconds gets one
``PASSIVE`` WAL checkpoint on a background thread, so that between runs
``crystallize.db`` holds every committed run by itself (copying that one file copies
them). A run that starts meanwhile does not wait for it; runs back to back never trigger
it. Where no thread can be started (CPython 3.12.0-3.12.2 at interpreter shutdown), the
idle checkpoint is skipped: closing the store checkpoints the WAL anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from crystallize.store.checkpoint import on_fork_pause
from crystallize.store.files import file_identity
from crystallize.store.opening import open_store
from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore

logger = logging.getLogger("crystallize.store")

#: Most stores kept open at once (one per data directory in use).
MAX_SHARED = 4
#: Seconds a kept store is left alone before its WAL is checkpointed.
IDLE_CHECKPOINT_AFTER = 1.0

_lock = threading.Lock()
_idle = threading.Condition(_lock)  # wakes the idle-checkpoint thread
_checkpointer: threading.Thread | None = None
_waiting_for_news = False  # the idle-checkpoint thread waits for a release to wake it
_paused = False  # worker processes are being forked: the thread ends, none starts
# {database path: entry}, least recently used first.
_stores: OrderedDict[str, _Entry] = OrderedDict()
# Entries dropped from the registry (their file was deleted or replaced) while still
# held: closed when their last holder gives them back.
_retired: list[_Entry] = []


class _Entry:
    __slots__ = ("pid", "identity", "store", "holders", "idle_since")

    def __init__(self, identity: tuple[int, int], store: SQLiteRunStore) -> None:
        self.pid = os.getpid()
        self.identity = identity
        self.store = store
        self.holders = 0
        #: ``time.monotonic()`` when the last holder gave it back; ``None`` once checkpointed.
        self.idle_since: float | None = None


def shared_store(root_dir: str | os.PathLike[str]) -> SQLiteRunStore:
    """Take the process's long-lived store of ``root_dir`` (opened on first use).

    Give it back with :func:`release_shared_store` when done; never close it. Raises
    :class:`~crystallize.exceptions.StoreError` as :func:`~crystallize.store.open_store`
    does.
    """
    path = os.path.abspath(Path(root_dir) / DB_FILENAME)
    pid = os.getpid()
    with _lock:
        entry = _stores.get(path)
        if entry is not None and not (
            entry.pid == pid and entry.identity == file_identity(path) and not entry.store.closed
        ):
            del _stores[path]  # another process's, or the file was deleted or replaced
            if entry.pid == pid:
                _retire(entry)
            entry = None
        if entry is None:
            store = open_store(root_dir)
            identity = store.identity
            if identity is None:  # cannot tell whether it stays the same file: don't keep it
                return store
            entry = _stores[path] = _Entry(identity, store)
        entry.holders += 1
        _stores.move_to_end(path)
        _evict_idle()
        return entry.store


def release_shared_store(store: SQLiteRunStore) -> None:
    """Give back a store taken with :func:`shared_store` (closes it if it is not kept)."""
    with _lock:
        for entry in _stores.values():
            if entry.store is store:
                entry.holders -= 1
                if not entry.holders:
                    entry.idle_since = time.monotonic()
                    _wake_checkpointer()
                _evict_idle()
                return
        for entry in _retired:
            if entry.store is store:
                entry.holders -= 1
                _retire(entry)
                return
    store.close()


def _retire(entry: _Entry) -> None:
    """Close a store dropped from the registry once nobody holds it; until then keep it
    in ``_retired`` (call with ``_lock`` held)."""
    if entry.holders:
        if entry not in _retired:
            _retired.append(entry)
        return
    if entry in _retired:
        _retired.remove(entry)
    entry.store.close()


def _wake_checkpointer() -> None:
    """Start the idle-checkpoint thread, or wake it if it waits for no deadline (call
    with ``_lock`` held). A thread waiting for an earlier deadline is left alone: it looks
    at every store when it wakes, so runs back to back never wake it."""
    global _checkpointer
    if _paused:  # started again once the worker processes are forked
        return
    if _checkpointer is None:  # the thread clears it, under the lock, as it ends
        thread = threading.Thread(
            target=_checkpoint_idle_stores, name="crystallize-idle-checkpoint", daemon=True
        )
        try:
            thread.start()
        except RuntimeError as exc:  # e.g. at interpreter shutdown: the checkpoint is optional
            logger.debug("Idle WAL checkpoint skipped: %s", exc)
            return
        _checkpointer = thread  # it waits for _lock, held here, before it looks at it
    elif _waiting_for_news:
        _idle.notify()


def _checkpoint_idle_stores() -> None:
    """Checkpoint each kept store once it has been idle for IDLE_CHECKPOINT_AFTER seconds;
    return when no store is kept."""
    global _checkpointer, _waiting_for_news
    with _lock:
        try:
            _checkpoint_while_stores_are_kept()
        finally:
            _checkpointer = None


def _checkpoint_while_stores_are_kept() -> None:
    """The idle-checkpoint thread's loop (runs with ``_lock`` held, released while a
    checkpoint runs)."""
    global _waiting_for_news
    while _stores and not _paused:
        due, wait = _next_idle_store()
        if due is None:
            _waiting_for_news = wait is None
            _idle.wait(wait)
            _waiting_for_news = False
            continue
        due.idle_since = None
        due.holders += 1  # not closed while its checkpoint runs
        _lock.release()
        try:
            due.store.checkpoint()
        except Exception as exc:  # a missed checkpoint loses nothing; the thread goes on
            logger.debug("Idle WAL checkpoint of %s failed: %s", due.store.path, exc)
        finally:
            _lock.acquire()
            due.holders -= 1
            if not any(entry is due for entry in _stores.values()):
                _retire(due)  # dropped from the registry meanwhile: closed once nobody holds it


def _next_idle_store() -> tuple[_Entry | None, float | None]:
    """The kept store due for its idle checkpoint, or ``None`` and how long to wait for
    the next one (``None``: until woken). Call with ``_lock`` held."""
    now = time.monotonic()
    pid = os.getpid()
    soonest: float | None = None
    for entry in _stores.values():
        if entry.pid != pid or entry.holders or entry.idle_since is None:
            continue
        left = entry.idle_since + IDLE_CHECKPOINT_AFTER - now
        if left <= 0:
            return entry, None
        soonest = left if soonest is None else min(soonest, left)
    return None, soonest


def _evict_idle() -> None:
    excess = len(_stores) - MAX_SHARED
    for path, entry in list(_stores.items()):
        if excess <= 0:
            return
        if not entry.holders:
            del _stores[path]
            excess -= 1
            if entry.pid == os.getpid():
                entry.store.close()


def close_shared_stores() -> None:
    """Close every kept store of this process (runs at interpreter exit)."""
    pid = os.getpid()
    with _lock:
        entries = list(_stores.values())
        _stores.clear()
        thread = _checkpointer
        _idle.notify()  # with no store left, the idle-checkpoint thread returns
    try:
        if thread is not None and thread.ident is not None and thread is not threading.current_thread():
            thread.join()  # it may be checkpointing one of the stores closed below
    finally:
        for entry in entries:
            if entry.pid == pid:
                _close_quietly(entry.store)


def _close_quietly(store: SQLiteRunStore) -> None:
    """Close a kept store; a failure is logged so that the other stores still close."""
    try:
        store.close()
    except Exception as exc:
        logger.warning("Closing the run store %s failed: %s", store.path, exc)


def _close_at_exit() -> None:
    """:func:`close_shared_stores` at interpreter exit. A Ctrl+C meanwhile (a second one,
    to quit at once) ends it quietly instead of with Python's "Exception ignored in
    atexit callback" traceback: the process ends either way, and a store left open by an
    ending process is as safe as one whose process was killed (SQLite's journal)."""
    with contextlib.suppress(KeyboardInterrupt):
        close_shared_stores()


atexit.register(_close_at_exit)


def _pause_idle_checkpoints() -> None:
    """End the idle-checkpoint thread and wait for it (worker processes are forked)."""
    global _paused
    with _lock:
        _paused = True
        thread = _checkpointer
        _idle.notify()
    if thread is not None and thread.ident is not None and thread is not threading.current_thread():
        thread.join()


def _resume_idle_checkpoints() -> None:
    """Start the idle-checkpoint thread again, while stores are kept."""
    global _paused
    with _lock:
        _paused = False
        if _stores:
            _wake_checkpointer()


on_fork_pause(_pause_idle_checkpoints, _resume_idle_checkpoints)


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads: no idle-checkpoint thread."""
    global _checkpointer, _paused
    _checkpointer = None
    _paused = False
    _lock.release()


if hasattr(os, "register_at_fork"):  # POSIX: a child never inherits the registry's lock held
    os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_after_fork_in_child)

__all__ = ["IDLE_CHECKPOINT_AFTER", "MAX_SHARED", "close_shared_stores", "release_shared_store", "shared_store"]
