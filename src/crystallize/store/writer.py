"""Batched background writing of replicate records.

The driver hands finished records to a :class:`RecordWriter`; a daemon thread commits
them to the run store in batches (one transaction per batch) and keeps the run's
heartbeat fresh. Adding is cheap and never waits for the database.

Crash guarantee: a record added at time *t* is committed by *t* + ``interval`` (plus
the time one commit takes — usually well under a millisecond — and any wait for
another process holding the database), unless threads are paused for a fork (below):
then it waits until the pause ends. So if the driver is killed (``kill -9``), at most
the records added during the last ``interval`` seconds, or during a pause in progress,
are lost; records returned from :meth:`RecordWriter.flush` or
:meth:`RecordWriter.close` are always stored. Committed transactions survive a process
kill (they can only be lost on an OS crash or power failure, see
:mod:`crystallize.store.sqlite`).

Worker processes: the thread ends while the library forks worker processes and a new one
starts after (see :func:`~crystallize.store.checkpoint.threads_paused`), so a worker
never copies it half-way through a commit, and Python 3.12+ does not warn about forking
with threads. A pause lasts while the processes start, happens only under the ``fork``
start method, and holds every writer of the process (those of other runs too).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from types import TracebackType

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateRecord
from crystallize.store.base import RunStore
from crystallize.store.checkpoint import on_fork_pause, start_unless_paused

logger = logging.getLogger("crystallize.store")

#: Default seconds between heartbeats written by a :class:`RecordWriter`.
DEFAULT_HEARTBEAT_INTERVAL = 5.0
#: Records waiting to be written before ``add`` waits for the writer (bounds memory).
DEFAULT_MAX_PENDING = 2000


class RecordWriter:
    """Commit a run's records from a background thread, in batches.

    Args:
        store: The run store; its run ``run_id`` must exist.
        run_id: The run the records belong to. The calling process must be its driver.
        interval: Longest time (seconds) a record waits before its batch is committed.
        heartbeat_interval: Seconds between heartbeats of the run (keep it well below
            the store's ``stale_after``).

    Failure handling: if a commit fails, the writer stops writing, keeps the error and
    the records it could not store (:attr:`unwritten`), and raises
    :class:`~crystallize.exceptions.StoreError` (caused by the original error) from
    every later :meth:`add`, :meth:`flush` and :meth:`close`. Nothing is lost silently.

    Thread safety: :meth:`add` and :meth:`flush` may be called from any thread.

    Worker processes: the thread is paused while the library starts them (it ends,
    leaving what is pending, and a new one takes over after); records added meanwhile wait.

    If the thread cannot be started (CPython 3.12.0-3.12.2 refuses new threads at
    interpreter shutdown and once the main thread has ended), :meth:`add` commits each
    batch itself, on the caller's thread, instead of failing the run.

    Example::

        with RecordWriter(store, run.run_id) as writer:
            for record in results:
                writer.add([record])
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        interval: float = 0.1,
        *,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if interval <= 0 or heartbeat_interval <= 0:
            raise ValueError("RecordWriter: interval and heartbeat_interval must be > 0.")
        self.store = store
        self.run_id = run_id
        self.interval = float(interval)
        self.heartbeat_interval = float(heartbeat_interval)
        self.max_pending = max(1, int(max_pending))
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)  # guards everything below
        self._pending: list[ReplicateRecord] = []
        self._first_pending_at = 0.0
        self._unwritten: list[ReplicateRecord] = []
        self._inflight: list[ReplicateRecord] = []
        self._error: Exception | None = None
        self._written = 0
        self._flush_requested = 0
        self._flush_done = 0
        self._closing = False
        self._stopped = False
        self._synchronous = False  # no thread could start: add() writes on the caller
        self._paused = True  # no thread until _resume() starts one (now, or after a pause)
        self._running = False  # a thread runs _run (cleared by it as it leaves for a pause)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._next_beat = time.monotonic() + self.heartbeat_interval
        _WRITERS.add(self)
        start_unless_paused(self._resume)
        # Flush at interpreter exit if the owner forgot to close (daemon threads die then).
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)

    # -- public API ---------------------------------------------------------------------

    @property
    def written(self) -> int:
        """Number of records committed so far."""
        return self._written

    @property
    def pending(self) -> int:
        """Number of records added and waiting for the next batch (not yet being written)."""
        with self._cond:
            return len(self._pending)

    @property
    def unwritten(self) -> list[ReplicateRecord]:
        """Records that could not be stored because a commit failed."""
        with self._cond:
            return list(self._unwritten)

    @property
    def error(self) -> Exception | None:
        """The first commit error, or ``None``."""
        return self._error

    def add(self, records: Iterable[ReplicateRecord] | ReplicateRecord) -> None:
        """Queue records for the next batch; returns immediately.

        Args:
            records: Records (or a single record) of this writer's run.

        Raises:
            StoreError: If an earlier commit failed (the new records are not taken) or
                the writer is closed.
        """
        batch = [records] if isinstance(records, ReplicateRecord) else list(records)
        with self._lock:  # the condition's lock, taken without its Python-level wrapper
            if self._error is not None:
                self._raise_if_failed()
            if self._closing or self._stopped:
                raise StoreError(f"RecordWriter of run '{self.run_id}' is closed.")
            if not batch:
                return
            if self._synchronous:
                self._write_synchronously(batch)
                return
            if not self._pending:
                self._first_pending_at = time.monotonic()
                self._cond.notify_all()
            self._pending.extend(batch)
            # Backpressure: a producer faster than the disk waits here rather than
            # letting records pile up in memory.
            while len(self._pending) >= self.max_pending and not (
                self._error or self._closing or self._stopped
            ):
                self._cond.notify_all()
                self._cond.wait(self.interval)

    def flush(self, timeout: float | None = None) -> None:
        """Commit every record added so far and wait until that is done.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            StoreError: If a commit failed or the timeout passed.
        """
        with self._cond:
            self._raise_if_failed()
            if self._stopped or self._synchronous:  # nothing waits to be written
                return
            self._flush_requested += 1
            generation = self._flush_requested
            self._cond.notify_all()
            done = self._cond.wait_for(
                lambda: self._flush_done >= generation or self._stopped, timeout
            )
            self._raise_if_failed()
            if not done:
                raise StoreError(
                    f"RecordWriter of run '{self.run_id}': flush did not finish in {timeout} s."
                )

    def close(self, timeout: float | None = None) -> None:
        """Commit what is pending, stop the thread and release its store connection.

        Safe to call more than once.

        Raises:
            StoreError: If a commit failed (now or before) or the thread did not stop
                within ``timeout`` seconds.
        """
        with self._cond:
            self._closing = True
            # What the thread has not started on is written below by the caller, on its
            # own connection: a short run's thread then never opens one of its own.
            leftover, self._pending = self._pending, []
            self._cond.notify_all()
            thread = self._thread
        _join(thread, timeout)
        if thread is not None and thread.is_alive():
            with self._cond:
                self._unwritten.extend(leftover)
            raise StoreError(
                f"RecordWriter of run '{self.run_id}' did not stop within {timeout} s; "
                f"{len(leftover)} record(s) were not stored (see RecordWriter.unwritten)."
            )
        atexit.unregister(self._atexit)
        if leftover:
            self._write(leftover)
        with self._cond:
            if not self._running:  # closed while paused (or before any thread started):
                self._stopped = True  # no thread is left to say so, and flush() waits for it
                self._cond.notify_all()
            self._raise_if_failed()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # don't mask the exception already propagating
            self.close()
        except StoreError as close_error:
            logger.error("%s", close_error)

    # -- internals ----------------------------------------------------------------------

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StoreError(
                f"Writing records of run '{self.run_id}' failed; {len(self._unwritten)} "
                f"record(s) were not stored (see RecordWriter.unwritten): {self._error}"
            ) from self._error

    def _pause(self) -> None:
        """End the thread and wait for it, leaving what is pending to the next thread
        (:meth:`_resume` starts it): a commit in progress finishes first."""
        with self._cond:
            if not self._running:  # not started yet, paused already, or none can start
                return
            thread = self._thread
            if not (self._closing or self._stopped):
                self._paused = True
                self._cond.notify_all()
        _join(thread)  # a closing thread ends too: its last commit is not half-way

    def _resume(self) -> None:
        """Start a thread for a paused writer (at first, and after each pause); if none
        can start, write on the callers from now on."""
        with self._cond:
            if not self._paused:
                return
            self._paused = False
            if self._closing or self._stopped or self._running:
                self._cond.notify_all()  # closed meanwhile, or a pause cut short: it goes on
                return
            thread = threading.Thread(target=self._run, name=f"crystallize-writer-{self.run_id}", daemon=True)
            self._thread, self._running = thread, True  # an interrupt in start() may come once it runs
            try:
                thread.start()
            except RuntimeError as exc:  # e.g. CPython 3.12.0-3.12.2 at interpreter shutdown
                logger.debug("Record writer of run '%s' writes on the caller: %s", self.run_id, exc)
                self._synchronous, self._running = True, False
                leftover, self._pending = self._pending, []
                self._write(leftover)  # what waited for this thread; errors are kept
                self._cond.notify_all()  # add() and flush() waiting for the thread go on

    def _run(self) -> None:
        paused = False
        try:
            while True:
                with self._cond:
                    while not (
                        self._closing
                        or self._paused
                        or self._flush_requested > self._flush_done
                        or len(self._pending) >= self.max_pending
                    ):
                        now = time.monotonic()
                        deadline = self._next_beat
                        if self._pending:
                            deadline = min(deadline, self._first_pending_at + self.interval)
                        if now >= deadline:
                            break
                        self._cond.wait(deadline - now)
                    if self._paused and not self._closing:
                        paused = True  # processes are forked: a new thread takes over after
                        self._running = False
                        return
                    batch, self._pending = self._pending, []
                    self._cond.notify_all()  # producers waiting on max_pending may go on
                    generation = self._flush_requested
                    closing = self._closing
                if batch:
                    self._inflight = batch
                    self._write(batch)
                    self._inflight = []
                if time.monotonic() >= self._next_beat:
                    self._beat()
                    self._next_beat = time.monotonic() + self.heartbeat_interval
                with self._cond:
                    self._flush_done = generation
                    self._cond.notify_all()
                if closing:
                    return
        except BaseException as exc:  # an unexpected crash must not lose records silently
            logger.error("Record writer of run '%s' crashed", self.run_id, exc_info=True)
            with self._cond:
                if self._error is None:
                    self._error = exc if isinstance(exc, Exception) else StoreError(repr(exc))
                self._unwritten.extend(self._inflight)
                self._unwritten.extend(self._pending)
                self._inflight, self._pending = [], []
        finally:
            try:
                self.store.release_thread()
            finally:
                with self._cond:
                    if not paused:  # else a new thread may be running already
                        self._running, self._stopped = False, True
                    self._cond.notify_all()

    def _write_synchronously(self, batch: list[ReplicateRecord]) -> None:
        """Without a writer thread: commit ``batch`` now, on the caller, beating when due
        (call with the lock held)."""
        self._write(batch)
        self._raise_if_failed()
        if time.monotonic() >= self._next_beat:
            self._beat()
            self._next_beat = time.monotonic() + self.heartbeat_interval

    def _write(self, batch: list[ReplicateRecord]) -> None:
        if self._error is None:
            try:
                self.store.append_records(self.run_id, batch)
            except Exception as exc:  # kept and re-raised to the caller, never dropped
                with self._cond:
                    self._error = exc
                    self._unwritten.extend(batch)
                logger.error(
                    "Writing %d record(s) of run '%s' failed: %s", len(batch), self.run_id, exc
                )
            else:
                self._written += len(batch)
            return
        with self._cond:
            self._unwritten.extend(batch)

    def _beat(self) -> None:
        try:
            self.store.heartbeat(self.run_id)
        except Exception as exc:  # a missed heartbeat loses no data
            logger.warning("Heartbeat of run '%s' failed: %s", self.run_id, exc)


#: Every writer made in this process, paused while worker processes are forked.
_WRITERS: weakref.WeakSet[RecordWriter] = weakref.WeakSet()


def _pause_writers() -> None:
    """End the threads of this process's writers (before worker processes are forked)."""
    pid = os.getpid()
    for writer in list(_WRITERS):
        if writer._pid == pid:  # a forked child's copies have no thread
            writer._pause()


def _resume_writers() -> None:
    """Start again the threads of the writers :func:`_pause_writers` ended."""
    pid = os.getpid()
    for writer in list(_WRITERS):
        if writer._pid == pid:
            writer._resume()


on_fork_pause(_pause_writers, _resume_writers)


def _join(thread: threading.Thread | None, timeout: float | None = None) -> None:
    """Wait for ``thread`` to end, unless it never started or is the calling thread."""
    if thread is not None and thread.ident is not None and thread is not threading.current_thread():
        thread.join(timeout)


def _close_at_exit(ref: weakref.ReferenceType[RecordWriter]) -> None:
    writer = ref()
    if writer is None or writer._pid != os.getpid():
        return
    try:
        writer.close()
    except StoreError as exc:
        logger.error("%s", exc)


__all__ = ["DEFAULT_HEARTBEAT_INTERVAL", "RecordWriter"]
