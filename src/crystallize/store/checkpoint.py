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

More generally, no thread of the store runs while the library forks worker processes:
the store's background threads (the record writers of :mod:`crystallize.store.writer`,
these checkpoint threads) register with :func:`on_fork_pause`, and
:func:`threads_paused` ends them for a block and starts them again after it. Under
the ``fork`` start method, process pools, the live-event Manager and lone re-runs start
their processes inside such a block (other start methods fork nothing from the driver:
no pause), so a forked worker copies no lock one of those threads held (logging's,
SQLite's), and Python 3.12+ has no thread of the library's to warn about ("This process
is multi-threaded, use of fork() may lead to deadlocks in the child"; other libraries'
threads still count: pyarrow, which pandas loads when it is installed, keeps one). Pauses are counted
and balanced on every path: an interrupt while a block waits to pause undoes only that
block's pause, never another thread's.

Pausing is not done from an ``os.register_at_fork`` hook: Python ignores an exception
raised in such a hook, so a Ctrl+C or SIGTERM (the command line turns it into
KeyboardInterrupt) arriving while threads are joined or started there would be lost. A
fork in the user's own code therefore runs with the threads as they are.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator

logger = logging.getLogger("crystallize.store")

#: Bytes of record payload committed since the last checkpoint that start a new one.
DEFAULT_CHECKPOINT_BYTES = 1 << 20  # ~1,700 small records: the log stays a few MiB
#: ``PRAGMA wal_autocheckpoint`` of the store's connections: SQLite checkpoints inside a
#: commit only past this many log pages (64 MiB of 4 KiB pages).
FALLBACK_AUTOCHECKPOINT_PAGES = 16384

# Held while a checkpoint runs, and by a thread calling fork() from just before the fork
# until just after it: no checkpoint is ever half-way through when a process forks.
fork_guard = threading.Lock()

# How to end and restart background threads around a fork: (pause, resume) pairs.
_pausers: list[tuple[Callable[[], None], Callable[[], None]]] = []
# Held while threads are paused or resumed, and while one starts (start_unless_paused).
_pause_lock = threading.Lock()
_pause_depth = 0  # threads_paused() blocks under way
# Checkpoint threads started (and maybe still running), waited for by a pause.
_checkpoint_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def on_fork_pause(pause: Callable[[], None], resume: Callable[[], None]) -> None:
    """Have ``pause`` end a module's background threads (and wait for them) when a
    :func:`threads_paused` block starts, and ``resume`` start them again when it ends.
    A thread they start meanwhile must start through :func:`start_unless_paused`."""
    _pausers.append((pause, resume))


class _Pause:
    """Whether one pause is in force: set under the lock together with the count, so that
    whenever an interrupt comes, its owner resumes exactly when it counted."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False


def pause_threads() -> None:
    """End the background threads registered with :func:`on_fork_pause` until the
    matching :func:`resume_threads` (nested calls pause once).

    If it raises (say, Ctrl+C while it waits for another thread's pause, or while threads
    end), nothing stays paused on its account: do not call :func:`resume_threads` then.
    """
    pause = _Pause()
    try:
        _pause(pause)
    except BaseException:
        if pause.held:  # interrupted after its pause was complete
            resume_threads()
        raise


def _pause(pause: _Pause) -> None:
    """Count one pause (ending the threads if it is the first) and mark ``pause`` held.
    Raising, it undoes its own count only: another thread's pause stays in force."""
    global _pause_depth
    with _pause_lock:  # an interrupt while waiting for it: nothing was counted
        _pause_depth += 1
        pause.held = True
        try:
            if _pause_depth == 1:
                _call_each(stop for stop, _ in _pausers)
        except BaseException:
            _pause_depth -= 1
            pause.held = False
            if not _pause_depth:  # what it ended before the interrupt starts again
                _call_each(resume for _, resume in reversed(_pausers))
            raise


def resume_threads() -> None:
    """Start again the threads the matching :func:`pause_threads` ended."""
    global _pause_depth
    with _pause_lock:
        _pause_depth = max(0, _pause_depth - 1)  # never below 0, even if called unmatched
        if not _pause_depth:
            _call_each(resume for _, resume in reversed(_pausers))


def _call_each(callbacks: Iterator[Callable[[], None]]) -> None:
    """Call each of ``callbacks``; one that fails is logged and the others still run. An
    interrupt (KeyboardInterrupt, SystemExit) in one is raised once all have run: a
    Ctrl+C while one writer resumes must not leave the others without a thread."""
    interrupt: BaseException | None = None
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:
            logger.warning("Pausing or resuming background threads around a fork failed: %s", exc)
        except BaseException as exc:
            if interrupt is None:
                interrupt = exc
    if interrupt is not None:
        raise interrupt


@contextlib.contextmanager
def threads_paused() -> Iterator[None]:
    """End the store's background threads (record writers, checkpoints) for the block
    and start them again after it: processes forked in the block copy none of them.

    Pausing waits for a commit or checkpoint in progress; what is added meanwhile waits
    in memory. Nested blocks pause once. An interrupt (Ctrl+C) in the block, or while
    threads are paused or started, still starts them again; one that comes while this
    block waits to pause (another thread is pausing) leaves the other block's pause in
    force.
    """
    pause = _Pause()
    try:
        _pause(pause)
        yield
    finally:
        if pause.held:  # not when the pause was interrupted (it undid itself)
            resume_threads()


def start_unless_paused(start: Callable[[], None], wait: bool = True) -> bool:
    """Call ``start`` (it starts a background thread) unless threads are paused; say
    whether it was called. With ``wait=False`` it is not called either while threads
    are being paused or resumed (call from a thread a pause may be waiting for)."""
    if not _pause_lock.acquire(blocking=wait):
        return False
    try:
        if _pause_depth:
            return False
        start()
        return True
    finally:
        _pause_lock.release()


def _wait_for_checkpoints() -> None:
    """Wait until every background checkpoint thread has ended."""
    for thread in list(_checkpoint_threads):
        if thread is not threading.current_thread():
            thread.join()


def _after_fork_in_child() -> None:
    """A process forked in a :func:`threads_paused` block has none of its parent's
    threads to resume: threads it starts itself start at once."""
    global _pause_lock, _pause_depth
    fork_guard.release()
    _pause_lock = threading.Lock()  # another thread may have held it at the fork
    _pause_depth = 0


on_fork_pause(_wait_for_checkpoints, lambda: None)
if hasattr(os, "register_at_fork"):  # POSIX
    # No pausing here, only the guard: a signal handler that raises in a hook is
    # ignored, and its signal lost (see the module docstring).
    os.register_at_fork(
        before=fork_guard.acquire, after_in_parent=fork_guard.release, after_in_child=_after_fork_in_child
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
            thread = threading.Thread(target=self._run, name="crystallize-checkpoint", daemon=True)
            try:  # not while a fork is under way (this may be a thread it waits for)
                started = start_unless_paused(functools.partial(_start_checkpoint, thread), wait=False)
            except RuntimeError as exc:  # no new threads at shutdown (CPython 3.12.0-3.12.2)
                logger.debug("Background WAL checkpoint skipped: %s", exc)
                self._since_last = 0
                return  # SQLite's own checkpoints still keep the WAL bounded
            if started:  # else the next commit starts it
                self._since_last = 0
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


def _start_checkpoint(thread: threading.Thread) -> None:
    thread.start()
    _checkpoint_threads.add(thread)


__all__ = [
    "DEFAULT_CHECKPOINT_BYTES",
    "FALLBACK_AUTOCHECKPOINT_PAGES",
    "BackgroundCheckpointer",
    "fork_guard",
    "on_fork_pause",
    "pause_threads",
    "resume_threads",
    "start_unless_paused",
    "threads_paused",
]
