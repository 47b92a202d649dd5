"""Forked processes never start while one of the library's own threads runs.

A process forked while another thread runs gets a copy of every lock that thread held
(logging's, SQLite's...) held forever, and Python 3.12+ warns ("This process ... is
multi-threaded, use of fork() may lead to deadlocks in the child"). The run's record
writer, the store's checkpoint threads and the pools' own threads are paused or not yet
started whenever a process run forks.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.record import ReplicateRecord
from crystallize.store import RecordWriter
from crystallize.store.checkpoint import threads_paused

forks = pytest.mark.skipif(
    not hasattr(os, "fork") or multiprocessing.get_start_method() != "fork",
    reason="forks only under the fork start method (the Linux default before Python 3.14)",
)


@data_source
def numbers(ctx):
    return [ctx["replicate"], 1.0]


@pipeline_step()
def total(data, ctx, *, delta: float = 0.0, victim: int = -1):
    if ctx["replicate"] == victim and ctx["condition"] == "baseline":
        os._exit(3)  # the worker dies: this replicate is re-run alone in a new process
    ctx.emit("tick", replicate=ctx["replicate"])
    return data, {"total": sum(data) + delta}


class Ticks(BasePlugin):
    """Listens to live events: process runs then start the event Manager process."""

    def __init__(self) -> None:
        self.ticks: list[int] = []

    def on_event(self, experiment, ctx, event, payload):
        self.ticks.append(payload["replicate"])


def experiment(root, execution=None, replicates=4, plugins=(), **params) -> Experiment:
    execution = execution or ParallelExecution(max_workers=2, executor_type="process")
    return Experiment(
        datasource=numbers(),
        pipeline=Pipeline([total(**params)]),
        treatments=[treatment("up", {"delta": 1.0})],
        replicates=replicates,
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(root)), execution, *plugins],
        name="forks",
    )


def is_library_thread(thread: threading.Thread) -> bool:
    return thread.name.startswith("crystallize")


@pytest.fixture
def threads_at_fork(monkeypatch):
    """The threads alive at each fork of this process, besides the main thread and the
    threads that were there before the test that are not the library's."""
    before = {t for t in threading.enumerate() if not is_library_thread(t)}
    seen: list[list[str]] = []
    real_fork = os.fork

    def spy() -> int:
        extra = [t.name for t in threading.enumerate() if t not in before]
        seen.append(extra)
        return real_fork()

    monkeypatch.setattr(os, "fork", spy)
    return seen


@forks
def test_process_runs_fork_workers_with_no_library_thread_alive(tmp_path, threads_at_fork):
    first = experiment(tmp_path).run()
    assert not first.errors and first.run_id is not None
    forks = len(threads_at_fork)
    assert forks >= 2  # both pool workers
    # A second run in the same process: the store is kept open (and checkpointed when
    # idle), a writer of a new run starts.
    second = experiment(tmp_path).run(strategy="rerun")
    assert not second.errors
    assert len(threads_at_fork) >= forks + 2
    assert threads_at_fork == [[]] * len(threads_at_fork)
    assert second.metrics.baseline.samples()["total"] == first.metrics.baseline.samples()["total"]


@forks
def test_event_manager_and_lone_reruns_fork_with_no_library_thread_alive(tmp_path, threads_at_fork):
    ticks = Ticks()
    result = experiment(tmp_path, plugins=[ticks], victim=1).run()
    assert {(e.condition, e.replicate) for e in result.errors} == {("baseline", 1), ("up", 1)}
    assert "died" in result.errors[0].message
    assert sorted(set(ticks.ticks)) == [0, 2, 3]  # live events came through the Manager
    # The Manager process, the pool's workers, the lone re-run and the new pool's workers.
    assert len(threads_at_fork) >= 4
    assert threads_at_fork == [[]] * len(threads_at_fork)


@forks
@pytest.mark.skipif(sys.version_info < (3, 12), reason="Python 3.12+ warns about fork in threads")
def test_no_fork_deprecation_warning_from_process_runs(tmp_path):
    # In a fresh interpreter: threads other libraries leave running in this one (pyarrow,
    # once pandas has loaded it, keeps a jemalloc thread) would draw the warning too.
    script = tmp_path / "fork_runs.py"
    script.write_text(textwrap.dedent("""
        import warnings
        from crystallize import ArtifactPlugin, Experiment, ParallelExecution, Pipeline, SeedPlugin
        from crystallize import data_source, pipeline_step, treatment

        @data_source
        def numbers(ctx):
            return [ctx["replicate"], 1.0]

        @pipeline_step()
        def total(data, ctx, *, delta: float = 0.0):
            ctx.emit("tick", replicate=ctx["replicate"])
            return data, {"total": sum(data) + delta}

        exp = Experiment(
            datasource=numbers(), pipeline=Pipeline([total()]), replicates=4,
            treatments=[treatment("up", {"delta": 1.0})], name="forks",
            plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir="data"),
                     ParallelExecution(max_workers=2, executor_type="process")],
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):  # the second run: the store's idle checkpoint thread is alive
                assert not exp.run(strategy="rerun").errors
        print([str(w.message) for w in caught if "fork" in str(w.message)])
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


class FakeStore:
    """What a RecordWriter writes, and how many heartbeats it sent."""

    def __init__(self) -> None:
        self.written: list[int] = []
        self.beats = 0

    def append_records(self, run_id, records):
        self.written += [r.replicate for r in records]

    def heartbeat(self, run_id):
        self.beats += 1

    def release_thread(self):
        pass


def writer_threads(run_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"crystallize-writer-{run_id}"]


def rec(i: int) -> ReplicateRecord:
    return ReplicateRecord("c", i, i, {"v": [i]}, [])


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_paused_writer_has_no_thread_and_writes_what_was_added_after():
    store = FakeStore()
    writer = RecordWriter(store, "paused", interval=0.01, heartbeat_interval=0.05)
    writer.add(rec(0))
    writer.flush()
    with threads_paused():
        assert writer_threads("paused") == []
        writer.add(rec(1))  # returns at once: it waits in memory
        beats = store.beats
        time.sleep(0.2)
        assert store.written == [0] and store.beats == beats
    assert len(writer_threads("paused")) == 1
    writer.flush()
    assert store.written == [0, 1]
    assert wait_for(lambda: store.beats > beats)  # heartbeats go on
    writer.close()
    assert writer_threads("paused") == []


def test_a_writer_made_while_threads_are_paused_starts_after_the_block():
    store = FakeStore()
    with threads_paused():
        writer = RecordWriter(store, "late", interval=0.01)
        writer.add(rec(3))
        assert writer_threads("late") == []
    assert len(writer_threads("late")) == 1
    writer.flush()
    assert store.written == [3]
    writer.close()


def test_an_interrupt_in_a_paused_block_starts_the_threads_again():
    store = FakeStore()
    writer = RecordWriter(store, "interrupted", interval=0.01)
    with pytest.raises(KeyboardInterrupt), threads_paused(), threads_paused():
        raise KeyboardInterrupt
    assert len(writer_threads("interrupted")) == 1
    later = RecordWriter(store, "later", interval=0.01)
    assert len(writer_threads("later")) == 1  # nothing is left paused
    for w, i in ((writer, 1), (later, 2)):
        w.add(rec(i))
        w.close()
    assert sorted(store.written) == [1, 2]
