"""Checkpoints of the run store's write-ahead log, taken off the committing thread.

In WAL mode every commit appends pages to ``crystallize.db-wal``; a *checkpoint* copies
them back into the database file and syncs it. Left to SQLite, the checkpoint runs
inside whichever commit pushes the log past ``wal_autocheckpoint`` pages — for a short
run that is the driver's final commit, so about every tenth short run took some 12 ms
longer (1–2 µs per record when averaged over many runs in one process).

:class:`BackgroundCheckpointer` instead counts the record bytes committed and, past a
threshold, runs a ``PASSIVE`` checkpoint on a short-lived thread of its own. SQLite
does that copy without holding Python's GIL and without blocking readers or writers, so
the driver keeps going. SQLite's automatic checkpoint stays on at a higher mark
(:data:`FALLBACK_AUTOCHECKPOINT_PAGES`) as a safety net, so the log stays bounded even
if background checkpoints fall behind. A checkpoint interrupted by a crash is harmless:
the log is still valid and the next checkpoint redoes the copy.

``os.fork()`` waits for a checkpoint in progress: a child forked while another thread
holds one of SQLite's process-wide locks would find it held forever, and hang on its
first SQLite call (say, a process-pool worker opening a database of its own).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger("crystallize.store")

#: Bytes of record payload committed since the last checkpoint that start a new one.
DEFAULT_CHECKPOINT_BYTES = 1 << 20  # ~1,700 small records: the log stays a few MiB
#: ``PRAGMA wal_autocheckpoint`` of the store's connections: SQLite checkpoints inside a
#: commit only past this many log pages (64 MiB of 4 KiB pages).
FALLBACK_AUTOCHECKPOINT_PAGES = 16384

# Held while a checkpoint runs, and by a thread calling fork() from just before the fork
# until just after it: no checkpoint is ever half-way through when a process forks.
fork_guard = threading.Lock()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=fork_guard.acquire,
        after_in_parent=fork_guard.release,
        after_in_child=fork_guard.release,
    )


class BackgroundCheckpointer:
    """Start a ``PASSIVE`` WAL checkpoint on a background thread every ``threshold`` bytes.

    Args:
        checkpoint: Runs one checkpoint on the calling thread (and releases whatever
            per-thread resources it used). Errors are logged, never raised: a missed
            checkpoint loses nothing, and the next one or SQLite's fallback catches up.
        threshold: Bytes committed between checkpoints; ``0`` turns background
            checkpoints off (SQLite's fallback remains).
    """

    def __init__(self, checkpoint: Callable[[], None], threshold: int) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValueError(
                f"checkpoint_bytes must be a whole number of bytes >= 0 (0 turns background "
                f"checkpoints off), got {threshold!r}"
            )
        self.threshold = threshold
        self._checkpoint = checkpoint
        self._lock = threading.Lock()
        self._since_last = 0
        self._thread: threading.Thread | None = None
        #: Checkpoints finished so far (successful or not).
        self.completed = 0

    def committed(self, nbytes: int) -> None:
        """Count ``nbytes`` just committed; start a checkpoint when the threshold is passed."""
        if not self.threshold:
            return
        with self._lock:
            self._since_last += nbytes
            if self._since_last < self.threshold:
                return
            if self._thread is not None and self._thread.is_alive():
                return  # one at a time: this one will copy the newer pages too
            self._since_last = 0
            thread = threading.Thread(target=self._run, name="crystallize-checkpoint", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # no new threads at shutdown (CPython 3.12.0-3.12.2)
                logger.debug("Background WAL checkpoint skipped: %s", exc)
                return  # SQLite's own checkpoints still keep the WAL bounded
            self._thread = thread

    def wait(self) -> None:
        """Wait for the checkpoint in progress, if any (call before closing the store)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        try:
            with fork_guard:
                self._checkpoint()
        except Exception as exc:
            logger.debug("Background WAL checkpoint failed: %s", exc)
        finally:
            self.completed += 1


__all__ = ["DEFAULT_CHECKPOINT_BYTES", "FALLBACK_AUTOCHECKPOINT_PAGES", "BackgroundCheckpointer", "fork_guard"]
