"""Background threads that cannot be started (CPython 3.12.0-3.12.2 refuses new threads
at interpreter shutdown and once the main thread has ended, python/cpython#113964)."""

from __future__ import annotations

import threading
import time

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step
from crystallize.record import ReplicateRecord
from crystallize.store import RecordWriter, open_store, release_shared_store, shared_store
from crystallize.store import shared as shared_module


@pytest.fixture
def no_new_threads(monkeypatch):
    """Make every ``Thread.start`` fail as CPython 3.12.0-3.12.2 does at shutdown."""

    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)


@pytest.fixture(autouse=True)
def _fresh_registry():
    shared_module.close_shared_stores()
    yield
    shared_module.close_shared_stores()


class FakeStore:
    """Records the batches written and the thread that wrote them."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.beats = 0

    def append_records(self, run_id, records):
        self.threads.add(threading.current_thread().name)
        self.batches.append([r.replicate for r in records])

    def heartbeat(self, run_id):
        self.beats += 1

    def release_thread(self):
        pass


def rec(i: int) -> ReplicateRecord:
    return ReplicateRecord("c", i, i, {"v": [i]}, [])


@data_source
def number(ctx):
    """The replicate index."""
    return ctx["replicate"]


@pipeline_step()
def record(data, ctx):
    """Record the data as metric ``x``."""
    return data, {"x": data}


def test_a_failed_idle_checkpoint_thread_is_skipped_and_every_store_still_closes(tmp_path, no_new_threads):
    first = shared_store(tmp_path / "a")
    second = shared_store(tmp_path / "b")
    release_shared_store(first)  # would start the idle-checkpoint thread: it cannot
    release_shared_store(second)
    assert shared_module._checkpointer is None
    shared_module.close_shared_stores()
    assert first.closed and second.closed


def test_closing_the_kept_stores_never_joins_a_thread_that_was_not_started(tmp_path):
    store = shared_store(tmp_path)
    release_shared_store(store)
    shared_module._checkpointer = threading.Thread(target=lambda: None)  # registered, not started
    try:
        shared_module.close_shared_stores()
    finally:
        shared_module._checkpointer = None
    assert store.closed


def test_the_idle_checkpoint_thread_starts_again_once_threads_can_start(tmp_path, monkeypatch):
    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    store = shared_store(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", refuse)
        release_shared_store(store)
    assert shared_module._checkpointer is None
    shared_store(tmp_path)
    release_shared_store(store)
    thread = shared_module._checkpointer
    assert thread is not None and thread.ident is not None  # started


def test_a_writer_whose_thread_cannot_start_writes_on_the_caller(no_new_threads):
    fake = FakeStore()
    writer = RecordWriter(fake, "r", max_pending=2)
    started = time.monotonic()
    for i in range(10):  # backpressure must not wait for a thread that does not exist
        writer.add(rec(i))
    writer.flush()
    assert sum(fake.batches, []) == list(range(10))
    writer.add([rec(10), rec(11)])
    writer.close()
    assert time.monotonic() - started < 2
    assert sum(fake.batches, []) == list(range(12))
    assert fake.threads == {threading.current_thread().name}
    assert writer.written == 12 and writer.pending == 0 and writer.error is None


def test_a_run_completes_and_is_stored_when_no_thread_can_start(tmp_path, monkeypatch, no_new_threads):
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(datasource=number(), pipeline=Pipeline([record()]), replicates=3, name="nothreads")
    result = experiment.run()
    assert result.metrics.baseline.metrics["x"] == [0, 1, 2]
    shared_module.close_shared_stores()
    with open_store(tmp_path / "data") as store:
        (run,) = store.list_runs(experiment="nothreads")
        assert (run.status, run.n_records) == ("completed", 3)


def test_a_size_checkpoint_whose_thread_cannot_start_is_skipped(no_new_threads):
    from crystallize.store.checkpoint import BackgroundCheckpointer

    ran = []
    checkpointer = BackgroundCheckpointer(lambda: ran.append(1), threshold=10)
    checkpointer.committed(100)  # past the threshold: would start a thread
    checkpointer.wait()  # nothing started, nothing to join
    assert ran == []
