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
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from pathlib import Path

from crystallize.store.opening import open_store
from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore

#: Most stores kept open at once (one per data directory in use).
MAX_SHARED = 4

_lock = threading.Lock()
# {database path: entry}, least recently used first.
_stores: OrderedDict[str, _Entry] = OrderedDict()


class _Entry:
    __slots__ = ("pid", "identity", "store", "holders")

    def __init__(self, identity: tuple[int, int], store: SQLiteRunStore) -> None:
        self.pid = os.getpid()
        self.identity = identity
        self.store = store
        self.holders = 0


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


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
            entry.pid == pid and entry.identity == _identity(path) and not entry.store.closed
        ):
            del _stores[path]  # another process's, or the file was deleted or replaced
            if entry.pid == pid and not entry.holders:
                entry.store.close()
            entry = None
        if entry is None:
            store = open_store(root_dir)
            identity = _identity(path)
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
                _evict_idle()
                return
    store.close()


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
    for entry in entries:
        if entry.pid == pid:
            entry.store.close()


atexit.register(close_shared_stores)

__all__ = ["MAX_SHARED", "close_shared_stores", "release_shared_store", "shared_store"]
