"""RecordWriter: batching, flushing, heartbeats and failure reporting."""

from __future__ import annotations

import threading
import time

import pytest

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateRecord
from crystallize.store import RecordWriter, open_store


def rec(i: int, condition: str = "c") -> ReplicateRecord:
    return ReplicateRecord(condition, i, i, {"v": [i]}, [])


class FakeStore:
    """Records what the writer does; can be slowed down or made to fail."""

    def __init__(self, fail_on_batch: int | None = None, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.beats = 0
        self.released = 0
        self.fail_on_batch = fail_on_batch
        self.delay = delay
        self.writing = threading.Event()

    def append_records(self, run_id, records):
        self.writing.set()
        time.sleep(self.delay)
        if self.fail_on_batch is not None and len(self.batches) + 1 >= self.fail_on_batch:
            raise StoreError("disk on fire")
        self.batches.append([r.replicate for r in records])

    def heartbeat(self, run_id):
        self.beats += 1

    def release_thread(self):
        self.released += 1


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path) as s:
        yield s


def new_run(store):
    return store.create_run(
        experiment="e", fingerprint="f", spec={}, replicates=10, conditions=["c"], base_seed=1
    )


def test_records_are_committed_within_the_interval_without_flush(store):
    run = new_run(store)
    with RecordWriter(store, run.run_id, interval=0.5) as writer:
        writer.add([rec(0), rec(1)])
        assert store.get_run(run.run_id).n_records == 0  # not yet: batched
        assert writer.pending == 2
        deadline = time.monotonic() + 3
        while store.get_run(run.run_id).n_records < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.get_run(run.run_id).n_records == 2
        assert writer.written == 2 and writer.pending == 0


def test_adds_are_batched_in_order():
    fake = FakeStore()
    with RecordWriter(fake, "r", interval=0.2) as writer:
        for i in range(200):
            writer.add(rec(i))
        writer.flush()
        assert sum(fake.batches, []) == list(range(200))
        assert len(fake.batches) <= 3
        writer.add([rec(200), rec(201)])
    assert sum(fake.batches, []) == list(range(202))  # close flushed the rest
    assert fake.released == 1


def test_add_does_not_wait_for_a_slow_commit():
    fake = FakeStore(delay=0.5)
    writer = RecordWriter(fake, "r", interval=0.01)
    writer.add([rec(0)])
    assert fake.writing.wait(2)
    start = time.monotonic()
    for i in range(1, 1000):
        writer.add([rec(i)])
    assert time.monotonic() - start < 0.25  # the commit in progress takes 0.5 s
    writer.close()
    assert sum(fake.batches, []) == list(range(1000))


def test_flush_commits_everything_and_waits(store):
    run = new_run(store)
    writer = RecordWriter(store, run.run_id, interval=60)
    writer.add([rec(i) for i in range(5)])
    writer.flush()
    assert [r.replicate for r in store.load_records(run.run_id)] == list(range(5))
    writer.close()
    assert not writer._thread.is_alive()


def test_close_is_idempotent_and_add_after_close_fails():
    fake = FakeStore()
    writer = RecordWriter(fake, "r")
    writer.add([rec(0)])
    writer.close()
    writer.close()
    writer.flush()  # nothing to do
    with pytest.raises(StoreError, match="closed"):
        writer.add([rec(1)])
    assert fake.batches == [[0]]


def test_commit_failure_is_reraised_from_add_flush_and_close():
    fake = FakeStore(fail_on_batch=2)
    writer = RecordWriter(fake, "r", interval=0.01)
    writer.add([rec(0)])
    writer.flush()
    writer.add([rec(1), rec(2)])
    with pytest.raises(StoreError, match="2 record.*disk on fire") as info:
        writer.flush()
    assert isinstance(info.value.__cause__, StoreError)
    assert [r.replicate for r in writer.unwritten] == [1, 2]
    assert writer.written == 1 and str(writer.error) == "disk on fire"
    with pytest.raises(StoreError, match="disk on fire"):
        writer.add([rec(3)])
    with pytest.raises(StoreError, match="disk on fire"):
        writer.close()
    assert fake.batches == [[0]]
    assert [r.replicate for r in writer.unwritten] == [1, 2]  # rec(3) was refused, not taken


def test_unstorable_record_surfaces_from_the_writer(store):
    run = new_run(store)
    writer = RecordWriter(store, run.run_id, interval=0.01)
    # no value keeps a record out (a list holding itself is stored as text), a malformed
    # record does
    cycle: list = []
    cycle.append(cycle)
    writer.add([rec(0), ReplicateRecord("c", 1, 1, {"x": [cycle]}, []), ReplicateRecord("c", "x", 1, {}, [])])
    with pytest.raises(StoreError, match="replicate must be an int"):
        writer.close()
    assert store.load_records(run.run_id) == []  # the batch is all or nothing
    assert len(writer.unwritten) == 3


def test_context_manager_does_not_mask_the_body_exception(caplog):
    fake = FakeStore(fail_on_batch=1)
    with pytest.raises(KeyError), RecordWriter(fake, "r", interval=0.01) as writer:
        writer.add([rec(0)])
        time.sleep(0.1)
        raise KeyError("body")
    assert "disk on fire" in caplog.text


def test_heartbeats_are_sent_periodically(store):
    fake = FakeStore()
    with RecordWriter(fake, "r", heartbeat_interval=0.05):
        time.sleep(0.35)
    assert 3 <= fake.beats <= 8

    run = new_run(store)
    with RecordWriter(store, run.run_id, heartbeat_interval=0.05):
        time.sleep(0.2)
    assert store.get_run(run.run_id).heartbeat_at > run.heartbeat_at


def test_invalid_intervals_are_rejected():
    with pytest.raises(ValueError):
        RecordWriter(FakeStore(), "r", interval=0)


def test_a_crashed_writer_thread_keeps_its_records_and_reports():
    class Exploding(FakeStore):
        def append_records(self, run_id, records):
            raise SystemExit("thread killed")  # not an Exception: bypasses normal handling

    writer = RecordWriter(Exploding(), "r", interval=0.01)
    writer.add([rec(0), rec(1)])
    writer._thread.join(2)
    assert not writer._thread.is_alive()
    with pytest.raises(StoreError, match="thread killed"):
        writer.add([rec(2)])
    with pytest.raises(StoreError, match="thread killed"):
        writer.close()
    assert [r.replicate for r in writer.unwritten] == [0, 1]


def test_backpressure_bounds_the_backlog(store):
    run_id = new_run(store).run_id
    peak = 0
    with RecordWriter(store, run_id, interval=10.0, max_pending=50) as writer:
        for i in range(600):
            writer.add(rec(i))
            peak = max(peak, writer.pending)
    assert peak <= 50
    assert len(store.load_records(run_id)) == 600


def test_close_writes_the_leftover_itself_while_an_idle_thread_stops():
    writers: list[str] = []

    class Recording(FakeStore):
        def append_records(self, run_id, records):
            writers.append(threading.current_thread().name)
            super().append_records(run_id, records)

    fake = Recording()
    writer = RecordWriter(fake, "r", interval=60)  # the thread never writes on its own
    writer.add([rec(0), rec(1)])
    writer.close()
    assert fake.batches == [[0, 1]] and writers == [threading.current_thread().name]
    assert not writer._thread.is_alive() and fake.released == 1


def test_a_newer_record_added_during_a_commit_still_replaces_the_older(tmp_path):
    from crystallize.store import SQLiteRunStore

    started = threading.Event()

    class SlowFirstCommit(SQLiteRunStore):
        def append_records(self, run_id, records):
            if not started.is_set():
                started.set()
                time.sleep(0.3)
            super().append_records(run_id, records)

    store = SlowFirstCommit(tmp_path / "crystallize.db")
    try:
        run = new_run(store)
        writer = RecordWriter(store, run.run_id, interval=0.01)
        writer.add(ReplicateRecord("c", 0, 0, {"v": ["old"]}, []))
        assert started.wait(2)
        writer.add(ReplicateRecord("c", 0, 0, {"v": ["new"]}, []))
        writer.close()  # the thread is mid-commit: the leftover must go in after it
        assert [r.metrics for r in store.load_records(run.run_id)] == [{"v": ["new"]}]
    finally:
        store.close()
