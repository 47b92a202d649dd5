"""Pausing the store's background threads around forks stays balanced on every path
(code review: an interrupt while waiting to pause cancelled another thread's pause; an
interrupt in one resume callback left the other writers without a thread; a writer
closed while paused never stopped; non-fork pools paused threads for nothing)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

import pytest

from crystallize.exceptions import StoreError
from crystallize.plugins.execution.process_start import forking
from crystallize.record import ReplicateRecord
from crystallize.store import RecordWriter, checkpoint
from crystallize.store.checkpoint import threads_paused


class FakeStore:
    """Records what a RecordWriter writes; ``gate`` (when set up) holds each commit."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.written: list[int] = []
        self.gate = gate
        self.committing = threading.Event()

    def append_records(self, run_id, records):
        self.committing.set()
        if self.gate is not None:
            self.gate.wait(30)
        self.written += [r.replicate for r in records]

    def heartbeat(self, run_id):
        pass

    def release_thread(self):
        pass


@pytest.fixture(autouse=True)
def _no_pause_left():
    """A test that fails half-way must not leave threads paused for the next ones."""
    yield
    if checkpoint._pause_depth:
        checkpoint._pause_depth = 1
        checkpoint.resume_threads()


def rec(i: int) -> ReplicateRecord:
    return ReplicateRecord("c", i, i, {"v": [i]}, [])


def writer_threads(run_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == f"crystallize-writer-{run_id}"]


class BlockInOtherThread:
    """Another thread inside a ``threads_paused()`` block until :meth:`leave`; it notes
    the writer threads alive just before it leaves."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.inside = threading.Event()
        self._leave = threading.Event()
        self.seen_inside: list[str] | None = None
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with threads_paused():
            self.inside.set()
            self._leave.wait(30)
            self.seen_inside = writer_threads(self.run_id)

    def start(self) -> BlockInOtherThread:
        self.thread.start()
        return self

    def leave(self) -> None:
        self._leave.set()
        self.thread.join(30)


class InterruptedOnce:
    """``_pause_lock`` as it behaves when Ctrl+C arrives while this thread waits for it:
    the first acquire raises KeyboardInterrupt; after that, the real lock."""

    def __init__(self, lock) -> None:
        self.lock = lock
        self.armed = True

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self.armed and threading.current_thread() is threading.main_thread():
            self.armed = False
            raise KeyboardInterrupt
        return self.lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def test_an_interrupt_while_waiting_to_pause_leaves_another_threads_pause_alone(monkeypatch):
    writer = RecordWriter(FakeStore(), "mine", interval=0.01)
    other = BlockInOtherThread("mine").start()
    assert other.inside.wait(30)
    assert writer_threads("mine") == [] and checkpoint._pause_depth == 1
    monkeypatch.setattr(checkpoint, "_pause_lock", InterruptedOnce(checkpoint._pause_lock))
    try:
        with pytest.raises(KeyboardInterrupt), threads_paused():
            pass  # never entered: the interrupt came while waiting to pause
        assert checkpoint._pause_depth == 1  # the other block's pause still counts
        assert writer_threads("mine") == []
    finally:
        other.leave()
    assert other.seen_inside == []  # no writer thread ran inside the other block
    assert checkpoint._pause_depth == 0 and len(writer_threads("mine")) == 1
    writer.add(rec(1))
    writer.close()
    assert writer.written == 1


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_ctrl_c_while_another_thread_is_pausing_does_not_cancel_its_pause():
    """The reviewer's reproduction: another thread holds the pause lock while it waits for
    a writer's commit; Ctrl+C arrives in this thread as it waits for the lock."""
    gate = threading.Event()
    store = FakeStore(gate)
    writer = RecordWriter(store, "slow", interval=0.01)
    writer.add(rec(0))
    assert store.committing.wait(30)  # its commit is under way (held by the gate)
    other = BlockInOtherThread("slow").start()

    interrupted = threading.Event()

    def ctrl_c(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    def open_the_gate_after_the_interrupt():
        interrupted.wait(30)
        gate.set()  # the commit ends, the other thread's pause finishes

    opener = threading.Thread(target=open_the_gate_after_the_interrupt)
    opener.start()
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        while checkpoint._pause_depth == 0:  # the other thread holds the lock, joining the writer
            threading.Event().wait(0.01)
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt), threads_paused():
            pass
        assert other.inside.wait(30)
        assert checkpoint._pause_depth == 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gate.set()
        interrupted.set()
        opener.join(30)
        other.leave()
    assert other.seen_inside == []
    writer.close()
    assert store.written == [0]


def _raising(exc_type):
    def callback():
        raise exc_type

    return callback


def test_an_interrupt_in_one_resume_callback_still_resumes_the_others(monkeypatch):
    writer = RecordWriter(FakeStore(), "resumed", interval=0.01)
    # Resume callbacks run last-registered first: this one runs before the writers'.
    monkeypatch.setattr(checkpoint, "_pausers", [*checkpoint._pausers, (lambda: None, _raising(KeyboardInterrupt))])
    with pytest.raises(KeyboardInterrupt), threads_paused():
        assert writer_threads("resumed") == []
    assert checkpoint._pause_depth == 0
    assert len(writer_threads("resumed")) == 1  # started again despite the interrupt
    writer.add(rec(2))
    writer.close()
    assert writer.written == 1


def test_an_interrupt_in_a_pause_callback_undoes_the_pause(monkeypatch):
    writer = RecordWriter(FakeStore(), "undone", interval=0.01)
    monkeypatch.setattr(checkpoint, "_pausers", [*checkpoint._pausers, (_raising(KeyboardInterrupt), lambda: None)])
    with pytest.raises(KeyboardInterrupt):
        checkpoint.pause_threads()
    assert checkpoint._pause_depth == 0
    assert len(writer_threads("undone")) == 1  # what it paused before the interrupt runs again
    writer.close()


def test_a_writer_closed_while_threads_are_paused_is_stopped():
    store = FakeStore()
    writer = RecordWriter(store, "closed-in-pause", interval=0.01)
    writer.add(rec(0))
    with threads_paused():  # e.g. another run is starting its process pool
        writer.close()  # this run ends meanwhile
    assert store.written == [0]
    writer.flush(timeout=10)  # returns at once (it waited forever: StoreError after 10 s)
    assert writer_threads("closed-in-pause") == []
    with pytest.raises(StoreError, match="closed"):
        writer.add(rec(1))


def test_a_writer_made_and_closed_while_threads_are_paused_is_stopped():
    store = FakeStore()
    with threads_paused():
        writer = RecordWriter(store, "never-started", interval=0.01)
        writer.add(rec(4))
        writer.close()
    assert store.written == [4]
    writer.flush(timeout=10)
    assert writer_threads("never-started") == []


@pytest.fixture
def start_method():
    """Set the default start method for a test; the previous one comes back after."""
    previous = multiprocessing.get_start_method(allow_none=True)
    yield lambda method: multiprocessing.set_start_method(method, force=True)
    multiprocessing.set_start_method(previous, force=True)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_forking_pauses_nothing_when_workers_are_not_forked(start_method, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    start_method(method)
    writer = RecordWriter(FakeStore(), f"not-forked-{method}", interval=0.01)
    with forking():
        assert checkpoint._pause_depth == 0
        assert len(writer_threads(f"not-forked-{method}")) == 1
    writer.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork start method here")
def test_forking_pauses_the_threads_when_workers_are_forked(start_method):
    start_method("fork")
    writer = RecordWriter(FakeStore(), "forked", interval=0.01)
    with forking():
        assert checkpoint._pause_depth == 1
        assert writer_threads("forked") == []
    assert len(writer_threads("forked")) == 1
    writer.close()
