"""Background WAL checkpoints of the SQLite run store."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

import pytest

from crystallize.record import ReplicateRecord
from crystallize.store import SQLiteRunStore
from crystallize.store.checkpoint import FALLBACK_AUTOCHECKPOINT_PAGES, BackgroundCheckpointer


def test_a_checkpoint_starts_once_the_threshold_is_passed_and_one_at_a_time():
    release = threading.Event()
    threads: list[str] = []

    def checkpoint():
        threads.append(threading.current_thread().name)
        release.wait(5)

    checkpointer = BackgroundCheckpointer(checkpoint, threshold=100)
    checkpointer.committed(60)
    assert threads == [] and checkpointer.completed == 0
    checkpointer.committed(60)  # 120 >= 100: one starts
    checkpointer.committed(500)  # still running: no second one
    release.set()
    checkpointer.wait()
    assert len(threads) == 1 and threads[0] != threading.current_thread().name
    assert checkpointer.completed == 1
    checkpointer.committed(1)  # the 500 bytes committed meanwhile count: a second one
    checkpointer.wait()
    assert checkpointer.completed == 2
    checkpointer.committed(99)  # the count started again: below the threshold
    checkpointer.wait()
    assert checkpointer.completed == 2


def test_a_failing_checkpoint_is_logged_not_raised(caplog):
    def checkpoint():
        raise OSError("disk gone")

    checkpointer = BackgroundCheckpointer(checkpoint, threshold=1)
    with caplog.at_level(logging.DEBUG, logger="crystallize.store"):
        checkpointer.committed(1)
        checkpointer.wait()
    assert checkpointer.completed == 1
    assert "disk gone" in caplog.text


def test_threshold_zero_turns_background_checkpoints_off_and_negative_is_refused():
    calls = []
    off = BackgroundCheckpointer(lambda: calls.append(1), threshold=0)
    off.committed(10**9)
    off.wait()
    assert calls == [] and off.completed == 0
    for bad in (-1, "1MB", 1.5, True):
        with pytest.raises(ValueError, match="checkpoint_bytes must be a whole number"):
            BackgroundCheckpointer(lambda: None, threshold=bad)


def test_a_bad_checkpoint_bytes_is_named_by_the_store(tmp_path):
    with pytest.raises(ValueError, match=r"checkpoint_bytes .* got -5"):
        SQLiteRunStore(tmp_path / "crystallize.db", checkpoint_bytes=-5)


def _records(n: int) -> list[ReplicateRecord]:
    return [
        ReplicateRecord(condition="baseline", replicate=i, seed=i, metrics={"x": ["y" * 200]}, steps=[])
        for i in range(n)
    ]


def test_store_copies_the_log_into_the_database_file_in_the_background(tmp_path):
    path = tmp_path / "crystallize.db"
    store = SQLiteRunStore(path, checkpoint_bytes=10_000)
    try:
        run = store.create_run(
            experiment="exp", fingerprint="f", spec={}, replicates=100, conditions=["baseline"], base_seed=1
        )
        with store.transaction() as conn:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_AUTOCHECKPOINT_PAGES
        size_before = path.stat().st_size
        store.append_records(run.run_id, _records(100))  # ~25 kB of payload: over 10 kB
        store.checkpointer.wait()
        assert store.checkpointer.completed == 1
        # The pages are now in the database file itself, not only in the log.
        assert path.stat().st_size > size_before + 20_000
        assert len(store.load_records(run.run_id)) == 100
    finally:
        store.close()


def test_closing_the_store_waits_for_a_running_checkpoint(tmp_path):
    path = tmp_path / "crystallize.db"
    store = SQLiteRunStore(path, checkpoint_bytes=1)
    run = store.create_run(
        experiment="exp", fingerprint="f", spec={}, replicates=3, conditions=["baseline"], base_seed=1
    )
    store.append_records(run.run_id, _records(3))
    store.close()
    assert store.checkpointer.completed == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_fork_waits_for_a_checkpoint_in_progress():
    started, finished = threading.Event(), []

    def checkpoint():
        started.set()
        time.sleep(0.3)
        finished.append(time.monotonic())

    checkpointer = BackgroundCheckpointer(checkpoint, threshold=1)
    checkpointer.committed(1)
    assert started.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: nothing to do
        os._exit(0)
    forked_at = time.monotonic()
    assert os.waitpid(pid, 0)[1] == 0
    assert finished and finished[0] <= forked_at
    checkpointer.wait()
